package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunFailsOnAudit: when the target's audit reports a breach, Run
// still writes the report, marks it failed and returns ErrAuditFailed
// (the command's non-zero exit). A real Surge cannot be made to breach an
// invariant on demand, so this target only answers what a browse run
// asks and reports a breach.
func TestRunFailsOnAudit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1/admin/shops":
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"slug":"x","api_key":"k"}`)
		case r.URL.Path == "/v1/admin/audit":
			_, _ = io.WriteString(w, `{"passed":false,"checks":[{"name":"never oversell","passed":false,"summary":"1 SKU out of balance","breaches":["LT-00000"]}]}`)
		case r.URL.Path == "/metrics":
			w.WriteHeader(http.StatusNotFound)
		case r.Method == "PUT" && strings.Contains(r.URL.Path, "/admin/products/"):
			w.WriteHeader(http.StatusCreated)
		default:
			_, _ = io.WriteString(w, `{}`)
		}
	}))
	defer srv.Close()
	out := t.TempDir()
	rep, err := Run(context.Background(), Config{Target: srv.URL, AdminKey: "a", Scenario: "browse", Rate: 20, Duration: time.Second,
		Out: out, SKUs: 3, AuditWait: time.Millisecond}, io.Discard, io.Discard)
	if !errors.Is(err, ErrAuditFailed) {
		t.Fatalf("Run: %v, want ErrAuditFailed", err)
	}
	raw, rerr := os.ReadFile(filepath.Join(out, "report.json"))
	if rerr != nil {
		t.Fatal(rerr)
	}
	var got Report
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.Audit.Passed || got.Scenarios[0].Audit.Passed || len(got.Audit.Details) != 1 || got.Audit.Details[0].Breaches[0] != "LT-00000" {
		t.Fatalf("report audit %+v", got.Audit)
	}
	if st := rep.Scenarios[0].Steps[0]; st.Operations != 20 || st.OperationsOK != 20 || st.StatusCodes["200"] != 20 {
		t.Fatalf("step %+v", st)
	}
}
