package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/surge-commerce/surge/internal/cluster"
	"github.com/surge-commerce/surge/internal/loadtest"
)

// CapacityOptions are a capacity measurement's steps: the offered rate
// starts at Start and grows by Step every Hold, up to Max.
type CapacityOptions struct {
	Start, Step, Max float64
	Hold             time.Duration
	// MaxP99 is the p99 latency a step may not exceed and still hold.
	MaxP99 time.Duration
	Seed   uint64
	Out    string
}

// Capacity limits: a step held when at most MaxFailures of its requests
// failed and it completed at least MinAchieved of what it offered.
const (
	MaxFailures = 0.01
	MinAchieved = 0.9
)

// CapacityStep is one row of the table.
type CapacityStep struct {
	Offered  float64 `json:"offered_rate"`
	Achieved float64 `json:"achieved_rate"`
	P99      float64 `json:"p99_ms"`
	Failures float64 `json:"failure_rate"`
	Held     bool    `json:"held"`
	Why      string  `json:"why,omitempty"`
}

// CapacityResult is what `surge drill capacity` measured. Sustained is
// the highest offered rate of a step that held (0: none did); Half is
// the soak's rate.
type CapacityResult struct {
	Steps        []CapacityStep `json:"steps"`
	Sustained    float64        `json:"sustained_rate"`
	Half         float64        `json:"half_rate"`
	Stopped      string         `json:"stopped"`
	MaxP99       float64        `json:"max_p99_ms"`
	Acknowledged int            `json:"acknowledged_orders"`
	Lost         int            `json:"lost_orders"`
	AuditPassed  bool           `json:"audit_passed"`
}

// held is the stopping rule: a step holds unless the load generator fell
// behind its own schedule, more than 1 % of its requests failed, its p99
// passed the bound, or it completed less than 90 % of the rate it offered.
func held(st loadtest.StepReport, maxP99 time.Duration) (bool, string) {
	bound := float64(maxP99) / float64(time.Millisecond)
	switch {
	case st.Client.Saturated:
		return false, "the load generator could not keep its schedule"
	case st.ErrorRate > MaxFailures:
		return false, fmt.Sprintf("%.1f %% of requests failed (more than %.0f %%)", 100*st.ErrorRate, 100*MaxFailures)
	case st.P99 > bound:
		return false, fmt.Sprintf("p99 %.0f ms above %.0f ms", st.P99, bound)
	case st.AchievedRate < MinAchieved*st.OfferedRate:
		return false, fmt.Sprintf("achieved %.1f/s of %.1f/s offered (less than %.0f %%)", st.AchievedRate, st.OfferedRate, 100*MinAchieved)
	}
	return true, ""
}

// Capacity steps open-model checkout load through the cluster's front
// until a step does not hold or Max is reached, and writes report.json
// (the load's own report under load/).
func Capacity(ctx context.Context, c *cluster.Cluster, o CapacityOptions, stderr io.Writer) (CapacityResult, error) {
	res := CapacityResult{MaxP99: float64(o.MaxP99) / float64(time.Millisecond)}
	cfg := loadConfig(c, o.Start, o.Hold, o.Seed, o.Out)
	cfg.Step, cfg.StepDuration, cfg.StepAdd = true, o.Hold, o.Step
	cfg.MaxSteps = 1 + int((o.Max-o.Start)/o.Step+1e-9)
	cfg.StepHeld = func(st loadtest.StepReport) (bool, string) { return held(st, o.MaxP99) }
	rep, err := loadtest.Run(ctx, cfg, io.Discard, stderr)
	if rep == nil {
		return res, fmt.Errorf("drill capacity: load: %w", err)
	}
	sr := rep.Scenarios[0]
	for _, st := range sr.Steps {
		ok, why := held(st, o.MaxP99)
		res.Steps = append(res.Steps, CapacityStep{Offered: st.TargetRate, Achieved: st.AchievedRate, P99: st.P99, Failures: st.ErrorRate, Held: ok, Why: why})
		if ok {
			res.Sustained = st.TargetRate
		}
	}
	res.Half = res.Sustained / 2
	res.Stopped = fmt.Sprintf("reached --max %g/s with every step held: the topology sustains at least that", o.Max)
	if sr.Knee != nil {
		res.Stopped = fmt.Sprintf("at %g/s: %s", res.Steps[len(res.Steps)-1].Offered, sr.Knee.Reason)
	}
	if sr.Acknowledged != nil {
		res.Acknowledged, res.Lost = *sr.Acknowledged, *sr.Lost
	}
	res.AuditPassed = rep.Audit.Passed
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return res, err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return res, err
	}
	return res, os.WriteFile(filepath.Join(o.Out, "report.json"), append(b, '\n'), 0o644)
}
