package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
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
	// Attempts is how many times the server audit ran before it passed or
	// the wait ran out (events still flowing fail it transiently).
	Attempts int `json:"attempts"`
}

// serverAudit asks the target for its audit until it passes or wait ends.
func serverAudit(ctx context.Context, c *client, adminKey string, wait time.Duration) ([]Check, int, error) {
	deadline := time.Now().Add(wait)
	for attempt := 1; ; attempt++ {
		r := c.call(ctx, "GET", "/v1/admin/audit", adminKey, nil)
		var rep struct {
			Passed bool    `json:"passed"`
			Checks []Check `json:"checks"`
		}
		switch {
		case r.code == http.StatusOK && json.Unmarshal(r.body, &rep) == nil:
			if rep.Passed || time.Now().After(deadline) {
				if !rep.Passed && len(rep.Checks) == 0 {
					rep.Checks = []Check{{Name: "server audit", Summary: "failed without details"}}
				}
				return rep.Checks, attempt, nil
			}
		case time.Now().After(deadline):
			if r.err != nil {
				return nil, attempt, fmt.Errorf("audit: %w", r.err)
			}
			return nil, attempt, fmt.Errorf("audit: %d %s", r.code, r.body)
		}
		if !sleep(ctx, time.Second) {
			return nil, attempt, ctx.Err()
		}
	}
}
