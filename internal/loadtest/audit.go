package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Check is one invariant checked at the end of a run.
type Check struct {
	Name     string   `json:"name"`
	Passed   bool     `json:"passed"`
	Summary  string   `json:"summary,omitempty"`
	Breaches []string `json:"breaches,omitempty"`
}

// Audit is the end-of-run verdict: the target's own audit (GET
// /v1/admin/audit, the checks of `surge audit`) plus the scenario's checks.
type Audit struct {
	Passed  bool    `json:"passed"`
	Details []Check `json:"details"`
	// Attempts is how many times the server audit ran: once, since it
	// settles in-flight work itself and is never retried until it passes.
	Attempts int `json:"attempts"`
}

// serverAudit asks the target for its audit once, letting in-flight work
// settle for up to wait first (?settle=): a breach that would heal by a
// second look is still a breach (docs/INVARIANTS.md).
func serverAudit(ctx context.Context, c *client, adminKey string, wait time.Duration) ([]Check, int, error) {
	// The audit holds its request while it settles, past the run's
	// per-request timeout.
	ac := &client{base: c.base, hc: &http.Client{Transport: c.hc.Transport, Timeout: wait + 2*time.Minute}}
	r := ac.call(ctx, "GET", "/v1/admin/audit?settle="+url.QueryEscape(wait.String()), adminKey, nil)
	var rep struct {
		Passed bool    `json:"passed"`
		Checks []Check `json:"checks"`
	}
	switch {
	case r.err != nil:
		return nil, 1, fmt.Errorf("audit: %w", r.err)
	case r.code != http.StatusOK || json.Unmarshal(r.body, &rep) != nil:
		return nil, 1, fmt.Errorf("audit: %d %s", r.code, r.body)
	}
	if !rep.Passed && len(rep.Checks) == 0 {
		rep.Checks = []Check{{Name: "server audit", Summary: "failed without details"}}
	}
	return rep.Checks, 1, nil
}
