package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/surge-commerce/surge/internal/loadtest"
)

// ltRun runs `surge loadtest` in-process against s and returns the
// report it wrote, with its report.html.
func ltRun(t *testing.T, s *surge, args ...string) (loadtest.Report, string, string, error) {
	t.Helper()
	out := t.TempDir()
	args = append([]string{"loadtest", "--target", s.URL, "--admin-key", s.AdminKey, "--out", out,
		"--connections", "32", "--progress-interval", "1s", "--seed", "7"}, args...)
	var stdout, stderr syncBuffer
	err := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr)
	raw, rerr := os.ReadFile(filepath.Join(out, "report.json"))
	if rerr != nil {
		t.Fatalf("no report.json (run: %v)\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var rep loadtest.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	html, herr := os.ReadFile(filepath.Join(out, "report.html"))
	if herr != nil {
		t.Fatal(herr)
	}
	t.Logf("stdout:\n%s", stdout.String())
	return rep, string(html), stdout.String(), err
}

// ltCheckHTML asserts the page has its charts and loads nothing.
func ltCheckHTML(t *testing.T, html string) {
	t.Helper()
	for _, id := range []string{"chart-latency", "chart-latency-log", "chart-rate", "chart-load", "chart-status"} {
		if !strings.Contains(html, `<svg id="`+id+`"`) {
			t.Errorf("report.html lacks the %s chart", id)
		}
	}
	if strings.Contains(html, "<script") || strings.Contains(html, "<link") || regexp.MustCompile(`(src|href)="http`).MatchString(html) {
		t.Error("report.html loads something: it must open offline")
	}
}

// ltCheckOperations asserts report.json is versioned and breaks the
// scenario's requests down by operation: each wanted one is there, and
// the operations of every step add up to its requests.
func ltCheckOperations(t *testing.T, rep loadtest.Report, want ...string) {
	t.Helper()
	if rep.SchemaVersion != loadtest.SchemaVersion || rep.SchemaVersion < 2 {
		t.Errorf("schema_version %d, want %d", rep.SchemaVersion, loadtest.SchemaVersion)
	}
	sr := rep.Scenarios[0]
	got := map[string]loadtest.OperationReport{}
	for _, o := range sr.Operations {
		got[o.Name] = o
	}
	for _, name := range want {
		o, ok := got[name]
		if !ok || o.Requests == 0 || o.Rate <= 0 || o.P50 <= 0 || o.P50 > o.P95 || o.P95 > o.P99 || o.P99 > o.Max {
			t.Errorf("operation %q: %+v (all: %+v)", name, o, sr.Operations)
		}
	}
	for _, st := range sr.Steps {
		var n int64
		for _, o := range st.PerOperation {
			n += o.Requests
		}
		if n != st.Requests-st.Errors["client_saturated"] {
			t.Errorf("step %d: operations count %d requests, the step %d", st.Step, n, st.Requests)
		}
	}
}

// TestLoadtestFlashSale runs a short flash sale (20 units, buyers ramping
// to 20/s for 3 s through a waiting room) against an embedded Surge: every
// unit is sold, each to one paying buyer, and the audit passes — in the
// report and when asked independently.
func TestLoadtestFlashSale(t *testing.T) {
	s := startSurge(t, map[string]string{"SURGE_RATE_LIMITS": "off"})
	rep, html, _, err := ltRun(t, s, "--scenario", "flash-sale", "--rate", "20", "--duration", "3s",
		"--stock", "20", "--admission-rate", "10", "--admission-burst", "5")
	if err != nil {
		t.Fatalf("loadtest: %v", err)
	}
	if !rep.Audit.Passed || len(rep.Scenarios) != 1 || !rep.Scenarios[0].Audit.Passed {
		t.Fatalf("audit did not pass: %+v", rep.Audit)
	}
	sr := rep.Scenarios[0]
	if sr.Stock == nil || sr.Sold == nil || sr.Buyers == nil {
		t.Fatalf("flash-sale report lacks stock, sold or buyers: %+v", sr)
	}
	b := *sr.Buyers
	if *sr.Stock != 20 || *sr.Sold != 20 || b.Paid != 20 || b.TwoOrders != 0 {
		t.Fatalf("stock %d sold %d buyers %+v; want 20 sold to 20 paying buyers", *sr.Stock, *sr.Sold, b)
	}
	st := sr.Steps[0]
	if b.Total != st.Operations || b.Paid+b.SoldOut+b.Declined+b.Pending+b.GaveUp+b.Failed != b.Total || b.Total < 30 {
		t.Fatalf("buyers %+v do not add up to the %d arrivals", b, st.Operations)
	}
	if st.OfferedRate <= 0 || st.P50 <= 0 || st.Max < st.P99 || st.StatusCodes["201"] < 20 {
		t.Fatalf("step figures %+v", st)
	}
	ltCheckHTML(t, html)
	ltCheckOperations(t, rep, "signup", "queue", "checkout")

	// Independently: the shop's inventory, read with a key the admin
	// rotates, shows the same sale, and the audit passes.
	code, _, body := do(t, "POST", s.URL+"/v1/admin/shops/"+sr.Shop+"/keys", s.AdminKey, `{}`)
	if code != http.StatusCreated {
		t.Fatalf("rotate key: %d %s", code, body)
	}
	key := regexp.MustCompile(`"api_key":"([^"]+)"`).FindStringSubmatch(body)[1]
	code, _, body = do(t, "GET", s.URL+"/v1/shops/"+sr.Shop+"/admin/inventory/FLASH-1", key, "")
	var inv struct{ Received, Available, Reserved, Sold int64 }
	if code != http.StatusOK || json.Unmarshal([]byte(body), &inv) != nil {
		t.Fatalf("inventory: %d %s", code, body)
	}
	if inv.Received != 20 || inv.Sold != 20 || inv.Available != 0 || inv.Reserved != 0 {
		t.Fatalf("inventory %+v, want all 20 sold", inv)
	}
	requireAudit(t, s.URL, s.AdminKey)
}

// TestLoadtestBrowseStep runs step mode briefly: at most two 1-second
// steps of browsing, a capacity envelope, and status codes that account
// for every request.
func TestLoadtestBrowseStep(t *testing.T) {
	s := startSurge(t, map[string]string{"SURGE_RATE_LIMITS": "off"})
	rep, html, stdout, err := ltRun(t, s, "--scenario", "browse", "--rate", "20", "--step",
		"--step-duration", "1s", "--max-steps", "2", "--step-factor", "2", "--skus", "10", "--slo-p99", "5s")
	if err != nil {
		t.Fatalf("loadtest: %v", err)
	}
	sr := rep.Scenarios[0]
	if len(sr.Steps) < 1 || len(sr.Steps) > 2 || sr.Envelope == nil || sr.Envelope.Statement == "" {
		t.Fatalf("steps %d, envelope %+v", len(sr.Steps), sr.Envelope)
	}
	if !strings.Contains(stdout, "capacity envelope:") {
		t.Fatalf("the envelope was not printed:\n%s", stdout)
	}
	for i, st := range sr.Steps {
		var n int64
		for _, c := range st.StatusCodes {
			n += c
		}
		wantOffered := 20.0 * float64(int(1)<<i)
		if st.Step != i+1 || st.OfferedRate != wantOffered || st.Operations != int64(wantOffered) || n != st.Requests || st.Requests != st.Operations {
			t.Fatalf("step %d: offered %.1f/s, %d operations, %d requests, codes %v", st.Step, st.OfferedRate, st.Operations, st.Requests, st.StatusCodes)
		}
	}
	if !rep.Audit.Passed {
		t.Fatalf("audit: %+v", rep.Audit)
	}
	ltCheckHTML(t, html)
	ltCheckOperations(t, rep, "browse")
	var usage syncBuffer
	if err := run(context.Background(), []string{"help"}, func(string) string { return "" }, &usage, &usage); err != nil || !strings.Contains(usage.String(), "loadtest") {
		t.Fatalf("usage does not list loadtest: %v\n%s", err, usage.String())
	}
}

// TestLoadtestFlags rejects what cannot run before touching the target.
func TestLoadtestFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--admin-key", "k", "--scenario", "nope"},
		{"--admin-key", "k", "--rate", "0"},
		{"--scenario", "browse"}, // no admin key
	} {
		var out syncBuffer
		err := run(context.Background(), append([]string{"loadtest", "--target", "http://127.0.0.1:1", "--out", t.TempDir()}, args...),
			func(string) string { return "" }, &out, &out)
		if err == nil {
			t.Errorf("loadtest %v: no error", args)
		}
	}
}
