package drill

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/surge-commerce/surge/internal/loadtest"
)

// checks are a drill's own goals, by drill name, beyond what every drill
// must meet.
var checks = map[string]func(Result) []string{}

// Options are a drill run's load and schedule.
type Options struct {
	Timing
	Rate float64 // checkouts offered per second
	Seed uint64
	Out  string // report.json and report.html go here
}

// Result is one drill under one seed: the scorecard's row.
type Result struct {
	Drill   string  `json:"drill"`
	Summary string  `json:"summary"`
	Seed    uint64  `json:"seed"`
	Rate    float64 `json:"rate"`
	// FaultAt and HealAt are seconds on the load's clock (the series').
	FaultAt float64 `json:"fault_at"`
	HealAt  float64 `json:"heal_at"`
	// BaselineP99 is the p99 before the fault, in milliseconds;
	// RecoveredIn is the seconds from the heal until latency is back
	// within it and nothing fails, for 3 s in a row (-1: never in the
	// run).
	BaselineP99 float64 `json:"baseline_p99_ms"`
	RecoveredIn float64 `json:"recovered_in_s"`
	// ServingIn is the seconds from the heal until 3 seconds in a row
	// complete requests with none failing, whatever their latency (-1:
	// never in the run, a breach).
	ServingIn float64 `json:"serving_in_s"`
	// FirstWriteAfterFault is the seconds from the fault to the end of
	// the first second in which a write was acknowledged (a 201): the
	// recovery time of a failover (-1: none in the run).
	FirstWriteAfterFault float64 `json:"first_paid_after_fault_s"`
	// Errors are failed requests (no answer, 5xx, dropped) and Sheds the
	// 429 and 503 answers, during the whole run.
	Errors       int64 `json:"errors"`
	Sheds        int64 `json:"sheds"`
	Acknowledged int   `json:"acknowledged_orders"`
	Lost         int   `json:"lost_orders"`
	AuditPassed  bool  `json:"audit_passed"`
	// Probes are the drill's own checks made during the fault (the
	// clock-skew drills: tokens issued on one replica, used at another).
	Probes []Probe `json:"probes,omitempty"`
	// Passed: no acknowledged order lost, the audit passed, and the
	// system served again after the heal. Latency's recovery is a figure,
	// not a verdict: on a shared machine it depends on the neighbours.
	Passed   bool             `json:"passed"`
	Problems []string         `json:"problems,omitempty"`
	Series   []loadtest.Point `json:"series"`
}

// Run runs one drill against a running cluster: load starts, the fault
// comes Before into it and is healed Window later, the load goes on for
// After, drains, and the audit runs (inside the loadtest, once, with
// ?settle). It returns an error only when the drill could not run; a
// breach is a Result that did not pass.
func Run(ctx context.Context, c Target, d Drill, o Options, stderr io.Writer) (Result, error) {
	res := Result{Drill: d.Name, Summary: d.Summary, Seed: o.Seed, Rate: o.Rate, RecoveredIn: -1, ServingIn: -1}
	var (
		mu              sync.Mutex
		faultAt, healAt time.Time
		faultErr        error
		wg              sync.WaitGroup
	)
	// The probes need the load's shop; a slug is lower case.
	shop := "drill-" + strings.ToLower(rand.Text()[:10])
	start := make(chan time.Time, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() {
		var t0 time.Time
		select {
		case t0 = <-start:
		case <-ctx.Done():
			return
		}
		if !sleep(ctx, time.Until(t0.Add(o.Before))) {
			return
		}
		fmt.Fprintf(stderr, "drill %s: fault\n", d.Name)
		err := d.Fault(ctx, c)
		at := time.Now()
		var probes []Probe
		if err == nil && d.Probe != nil {
			probes = d.Probe(ctx, c, shop)
		}
		mu.Lock()
		faultAt, faultErr, res.Probes = at, err, probes
		mu.Unlock()
		sleep(ctx, time.Until(at.Add(o.Window)))
		fmt.Fprintf(stderr, "drill %s: heal\n", d.Name)
		// The heal runs even when the run is over: a drill leaves the
		// topology whole.
		err = d.Heal(context.WithoutCancel(ctx), c)
		mu.Lock()
		healAt, faultErr = time.Now(), errors.Join(faultErr, err)
		mu.Unlock()
	})
	cfg := loadConfig(c, o.Rate, o.Before+o.Window+o.After, o.Seed, o.Out)
	cfg.Shop = shop
	var loadStart time.Time
	cfg.OnLoad = func(t time.Time) { loadStart = t; start <- t }
	rep, err := loadtest.Run(ctx, cfg, io.Discard, stderr)
	wg.Wait()
	if rep == nil {
		return res, fmt.Errorf("drill %s: load: %w", d.Name, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if faultErr != nil {
		res.Problems = append(res.Problems, "fault or heal failed: "+faultErr.Error())
	}
	if faultAt.IsZero() || healAt.IsZero() {
		return res, fmt.Errorf("drill %s: the load ended before the fault was healed", d.Name)
	}
	res.FaultAt, res.HealAt = faultAt.Sub(loadStart).Seconds(), healAt.Sub(loadStart).Seconds()
	sr := rep.Scenarios[0]
	for _, st := range sr.Steps {
		res.Series = append(res.Series, st.Series...)
		for code, n := range st.StatusCodes {
			if code == "429" || code == "503" {
				res.Sheds += n
			}
		}
	}
	for _, p := range res.Series {
		res.Errors += p.Errors
	}
	if sr.Acknowledged != nil {
		res.Acknowledged, res.Lost = *sr.Acknowledged, *sr.Lost
	}
	res.AuditPassed = rep.Audit.Passed
	res.BaselineP99 = baseline(res.Series, res.FaultAt)
	bound := max(res.BaselineP99*1.5, res.BaselineP99+50)
	res.RecoveredIn = cleanAfter(res.Series, res.HealAt, bound)
	res.ServingIn = cleanAfter(res.Series, res.HealAt, math.Inf(1))
	res.FirstWriteAfterFault = firstWrite(res.Series, res.FaultAt)
	switch {
	case res.Lost > 0:
		res.Problems = append(res.Problems, fmt.Sprintf("%d acknowledged orders lost", res.Lost))
	case res.Acknowledged == 0:
		res.Problems = append(res.Problems, "no order was acknowledged: the load never ran")
	}
	if !res.AuditPassed {
		for _, ch := range rep.Audit.Details {
			if !ch.Passed {
				res.Problems = append(res.Problems, "audit: "+ch.Name+": "+ch.Summary)
			}
		}
	}
	if res.ServingIn < 0 {
		res.Problems = append(res.Problems, "requests still failed at the end of the run: never served again after the heal")
	}
	res.Problems = append(res.Problems, probeProblems(res.Probes)...)
	if check := checks[d.Name]; check != nil {
		res.Problems = append(res.Problems, check(res)...)
	}
	res.Passed = len(res.Problems) == 0
	return res, writeReport(o.Out, res)
}

// Unrun is the result of a run whose target could not start: a breach
// that says why.
func Unrun(d Drill, o Options, err error) Result {
	return Result{Drill: d.Name, Summary: d.Summary, Seed: o.Seed, Rate: o.Rate, RecoveredIn: -1, ServingIn: -1, FirstWriteAfterFault: -1,
		Problems: []string{"could not start: " + err.Error()}}
}

// loadConfig is the steady checkout load every drill runs under.
func loadConfig(t Target, rate float64, d time.Duration, seed uint64, out string) loadtest.Config {
	front, key := t.Front()
	return loadtest.Config{
		Target: front, AdminKey: key, Scenario: "checkout", Rate: rate,
		Duration: d, Out: filepath.Join(out, "load"),
		SKUs: 20, Customers: 100, Connections: 64, Timeout: 10 * time.Second,
		Drain: 30 * time.Second, AuditWait: 60 * time.Second, Seed: seed, Progress: 10 * time.Second,
	}
}

// baseline is the pre-fault p99: the worst second after a 2 s warm-up
// and before the fault.
func baseline(series []loadtest.Point, faultAt float64) float64 {
	var b float64
	for _, p := range series {
		if p.T >= 2 && p.T+1 <= faultAt && p.Requests > 0 {
			b = max(b, p.Latency.P99)
		}
	}
	return b
}

// cleanAfter is the seconds from heal to the start of the first 3 seconds
// in a row that complete requests, none failing, with p99 within bound;
// -1 if the run has none.
func cleanAfter(series []loadtest.Point, healAt, bound float64) float64 {
	run := 0
	for _, p := range series {
		if p.T < healAt {
			continue
		}
		if p.Requests > 0 && p.Errors == 0 && p.Latency.P99 <= bound {
			run++
			if run == 3 {
				return max(0, p.T-2-healAt)
			}
			continue
		}
		run = 0
	}
	return -1
}

// firstWrite returns the seconds from faultAt to the end of the first
// whole second after it with a 201 answer, or -1.
func firstWrite(series []loadtest.Point, faultAt float64) float64 {
	for _, p := range series {
		if p.T >= faultAt && p.StatusCodes["201"] > 0 {
			return p.T + 1 - faultAt
		}
	}
	return -1
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
