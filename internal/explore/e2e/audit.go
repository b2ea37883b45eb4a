package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// auditHTTP runs the live audit once. settle asks it to drain first
// (ignored by a server that does not know it); the explorer has already
// waited for the system to settle, and never retries the audit.
func (r *runner) auditHTTP(ctx context.Context) []string {
	rep := r.http.do(ctx, "GET", r.url("/v1/admin/audit?settle=60s"), adminKey, nil, nil)
	var report struct {
		Passed bool `json:"passed"`
		Checks []struct {
			Name     string   `json:"name"`
			Passed   bool     `json:"passed"`
			Summary  string   `json:"summary"`
			Breaches []string `json:"breaches"`
		} `json:"checks"`
	}
	if rep.Status != 200 || !rep.decode(&report) {
		return []string{fmt.Sprintf("audit over HTTP: %d %s %v", rep.Status, rep.Body, rep.Err)}
	}
	if report.Passed {
		return nil
	}
	var b []string
	for _, c := range report.Checks {
		if !c.Passed {
			b = append(b, fmt.Sprintf("audit over HTTP: %s: %s %v", c.Name, c.Summary, c.Breaches))
		}
	}
	return b
}

// auditCLI runs `surge audit` once against the stopped server's data.
func (c *cluster) auditCLI(ctx context.Context) []string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	// The audit judges with the settings the server ran with.
	args := append([]string{"audit", "--settle", "60s", "--charge-budget", chargeBudget.String(),
		"--idempotency-ttl", idempotencyTTL.String()}, c.args()...)
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = append(os.Environ(), c.env()...)
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	return []string{fmt.Sprintf("surge %s: %v: %s", strings.Join(args, " "), err, tail(string(out), 2000))}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
