package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/store"
)

// TestAuditCommand runs `surge audit` against the store of a real `surge
// serve` that took orders: while it runs, after it stopped, and after its
// store was corrupted, on each engine. Before serve-only settings were
// split from the shared ones it always failed (--stream-replicas).
func TestAuditCommand(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(engine.name, func(t *testing.T) {
			t.Parallel()
			env := engine.env(t)
			env["SURGE_DATA"], env["SURGE_RATE_LIMITS"] = t.TempDir(), "off"
			s := startSurge(t, env)
			f := newShopFixture(t, s, "audited")
			for i := range 3 {
				if code, body := f.checkout(t, "audited", fmt.Sprint("key-", i)); code != http.StatusCreated {
					t.Fatalf("checkout %d: %d %s", i, code, body)
				}
			}
			requireAudit(t, s.URL, s.AdminKey)
			for _, bad := range []string{"banana", "-1s", "11m"} {
				code, _, body := do(t, "GET", s.URL+"/v1/admin/audit?settle="+bad, s.AdminKey, "")
				if code != http.StatusUnprocessableEntity || !strings.Contains(body, "problems/invalid-settle") {
					t.Fatalf("settle=%s: %d %s", bad, code, body)
				}
			}
			cliEnv := map[string]string{"SURGE_DATA": env["SURGE_DATA"], "SURGE_DATABASE_URL": env["SURGE_DATABASE_URL"]}

			out, err := cli(t, cliEnv, "audit", "--settle", "60s")
			if err != nil || !strings.Contains(out, "audit passed") {
				t.Fatalf("audit while serve runs: %v\n%s", err, out)
			}
			if err := s.Stop(t); err != nil {
				t.Fatal(err)
			}
			out, err = cli(t, cliEnv, "audit", "--json")
			var rep struct {
				Passed, Settled bool
				Cutoff          time.Time
				Checks          []struct{ Name string }
			}
			if err != nil || json.Unmarshal([]byte(out), &rep) != nil || !rep.Passed || !rep.Settled || rep.Cutoff.IsZero() || len(rep.Checks) < 15 {
				t.Fatalf("audit of the stopped store: %v\n%s", err, out)
			}

			st, err := store.Open(t.Context(), store.Config{DatabaseURL: env["SURGE_DATABASE_URL"], DataDir: env["SURGE_DATA"], MaxConns: 1})
			if err != nil {
				t.Fatal(err)
			}
			db := st.Pools()["write"]
			if st.Engine() == store.Postgres {
				db = st.Pools()["primary"]
			}
			_, err = db.ExecContext(t.Context(), `DELETE FROM invoices WHERE invoice_no = (SELECT MAX(invoice_no) FROM invoices)`)
			st.Close()
			if err != nil {
				t.Fatal(err)
			}
			out, err = cli(t, cliEnv, "audit")
			if err == nil || !strings.Contains(out, "FAIL") || !strings.Contains(out, "has no invoice") {
				t.Fatalf("audit of a store missing an invoice: %v\n%s", err, out)
			}
		})
	}
}

// TestMigrateCommand runs `surge migrate up` and `status` as a user would,
// with only the settings migrate uses.
func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SURGE_DATA": t.TempDir()}
	out, err := cli(t, env, "migrate", "up")
	if err != nil || !strings.Contains(out, "sqlite: applied") || strings.Contains(out, "applied 0 ") {
		t.Fatalf("migrate up: %v\n%s", err, out)
	}
	if out, err = cli(t, env, "migrate", "up"); err != nil || !strings.Contains(out, "applied 0 migration(s)") {
		t.Fatalf("migrate up again: %v\n%s", err, out)
	}
	out, err = cli(t, env, "migrate", "status")
	// "pending" in the APPLIED column, not in a name (00011_outbox_pending).
	if err != nil || !strings.Contains(out, "stock_ledger") || regexp.MustCompile(`(?m)\spending\s*$`).MatchString(out) {
		t.Fatalf("migrate status: %v\n%s", err, out)
	}
	if out, err := cli(t, env, "migrate", "sideways"); err == nil {
		t.Fatalf("an unknown action passed:\n%s", out)
	}
}

func TestAuditAndMigrateHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"audit", "-h"}, {"migrate", "-h"}, {"migrate", "up", "-h"}} {
		out, err := cli(t, nil, args...)
		if err != nil || !strings.Contains(out, "-data") {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
	}
}
