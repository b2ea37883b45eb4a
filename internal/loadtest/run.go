// Package loadtest is `surge loadtest`: an open-model load generator that
// creates its own shop through the public and admin APIs, drives one of
// the scenarios (browse, checkout, flash-sale, mixed) at a fixed arrival
// rate or stepwise until the SLO breaks, audits the target at the end and
// writes report.json and a self-contained report.html.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"time"
)

// ErrAuditFailed is returned (with the report written) when the target's
// audit or the scenario's own checks failed.
var ErrAuditFailed = errors.New("audit failed")

// Run performs a load test and writes its report into cfg.Out. Progress
// goes to stderr, the summary to stdout.
func Run(ctx context.Context, cfg Config, stdout, stderr io.Writer) (*Report, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Seed == 0 {
		cfg.Seed = rand.Uint64()
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, err
	}
	c := newClient(cfg.Target, cfg.Connections, cfg.Timeout)
	defer c.close()
	e := &env{c: c, cfg: &cfg, run: randomHex(4), shop: cfg.Shop}
	sc := newScenario(cfg.Scenario)
	fmt.Fprintf(stderr, "loadtest: setting up %s against %s\n", cfg.Scenario, cfg.Target)
	if err := e.createShop(ctx); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	if err := sc.setup(ctx, e); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	rep := &Report{SchemaVersion: SchemaVersion, Tool: "surge loadtest", Target: cfg.Target, StartedAt: time.Now().UTC(), Config: configReport(cfg),
		Units: map[string]string{
			"latency":    "milliseconds from the scheduled time (p50, p90, p95, p99, p999, max, *_ms)",
			"rate":       "operations per second (offered: scheduled arrivals; achieved: completed without error)",
			"operations": "per operation (signup, cart, checkout, poll, queue, browse): requests per second, latencies in milliseconds",
		}}
	sr := ScenarioReport{Scenario: cfg.Scenario, Shop: e.shop}
	sched := &scheduler{maxInFlight: int64(cfg.MaxInFlight), conns: int64(cfg.Connections), drain: cfg.Drain}
	runStart := time.Now()
	if cfg.OnLoad != nil {
		cfg.OnLoad(runStart)
	}
	rate := cfg.Rate
	for k := 1; ; k++ {
		d := cfg.Duration
		if cfg.Step {
			d = cfg.StepDuration
		}
		st := runStep(ctx, e, sc, sched, cfg, k, rate, d, runStart, stderr)
		sr.Steps = append(sr.Steps, st)
		if !cfg.Step || ctx.Err() != nil {
			break
		}
		if !st.WithinSLO {
			sr.Knee = &Knee{Step: k, OfferedRate: st.OfferedRate, P99: st.P99, ErrorRate: st.ErrorRate, Reason: kneeReason(st, cfg)}
			break
		}
		if k >= cfg.MaxSteps {
			break
		}
		if cfg.StepAdd > 0 {
			rate += cfg.StepAdd
		} else {
			rate *= cfg.StepFactor
		}
	}
	sr.Operations = scenarioOperations(sr.Steps)
	if cfg.Step {
		sr.Envelope = envelope(sr, cfg)
		fmt.Fprintln(stdout, "capacity envelope:", sr.Envelope.Statement)
	}
	auditCtx := context.WithoutCancel(ctx) // an interrupted run still audits what it did
	checks, flash, err := sc.verify(auditCtx, e)
	if err != nil {
		checks = append(checks, Check{Name: "scenario checks", Summary: err.Error()})
	}
	if flash != nil {
		sr.Stock, sr.Sold, sr.Buyers = &flash.Stock, &flash.Sold, &flash.Buyers
	}
	if ac, ok := sc.(interface{ counts() (int, int) }); ok {
		acked, lost := ac.counts()
		sr.Acknowledged, sr.Lost = &acked, &lost
	}
	server, attempts, err := serverAudit(auditCtx, c, cfg.AdminKey, cfg.AuditWait)
	if err != nil {
		server = []Check{{Name: "server audit", Summary: err.Error()}}
	}
	sr.Audit = Audit{Passed: true, Attempts: attempts, Details: append(server, checks...)}
	for _, ch := range sr.Audit.Details {
		sr.Audit.Passed = sr.Audit.Passed && ch.Passed
	}
	rep.Scenarios = []ScenarioReport{sr}
	rep.Audit = sr.Audit
	if err := writeJSON(cfg.Out, rep); err != nil {
		return rep, err
	}
	if err := writeHTML(cfg.Out, rep); err != nil {
		return rep, err
	}
	summarize(stdout, rep, cfg.Out)
	if !rep.Audit.Passed {
		return rep, ErrAuditFailed
	}
	return rep, nil
}

func configReport(cfg Config) ConfigReport {
	r := ConfigReport{Scenario: cfg.Scenario, Rate: cfg.Rate, DurationSeconds: cfg.Duration.Seconds(), Step: cfg.Step,
		SLOP99MS: ms(cfg.SLOP99), MaxErrorRate: cfg.MaxErrorRate, SKUs: cfg.SKUs, Flash: cfg.Flash,
		Connections: cfg.Connections, Seed: cfg.Seed}
	if cfg.Step {
		r.StepSeconds, r.StepFactor = cfg.StepDuration.Seconds(), cfg.StepFactor
	}
	if cfg.Scenario == "flash-sale" {
		r.Stock = cfg.Stock
	}
	return r
}

// runStep drives one phase at rate for d and measures it.
func runStep(ctx context.Context, e *env, sc scenario, sched *scheduler, cfg Config, k int, rate float64, d time.Duration, runStart time.Time, stderr io.Writer) StepReport {
	before := scrape(ctx, e.c)
	under := make(chan metrics, 1)
	start := time.Now()
	rec := NewRecorder(start)
	go func() {
		// Read the target's saturation signals while the load is on.
		sleep(ctx, time.Until(start.Add(d*9/10)))
		under <- scrape(context.WithoutCancel(ctx), e.c)
	}()
	label := fmt.Sprintf("[%s %.0f/s]", cfg.Scenario, rate)
	if cfg.Step {
		label = fmt.Sprintf("[%s step %d %.0f/s]", cfg.Scenario, k, rate)
	}
	prog := startProgress(stderr, cfg.Progress, label, rec, d)
	cs := sched.run(ctx, start, sc.profile(rate, d), d, hooks{scheduled: rec.Offered, dropped: rec.Drop},
		func(ctx context.Context, i int, at time.Time) {
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(k)<<40|uint64(i)))
			sc.op(ctx, e, &session{c: e.c, rec: rec, i: (k << 24) + i, next: at}, rng)
		})
	prog.end()
	sum := rec.Summary(d, start.Sub(runStart))
	st := StepReport{Step: k, TargetRate: rate, DurationSeconds: d.Seconds(), ElapsedSeconds: round3(sum.Elapsed.Seconds()),
		OfferedRate: round3(float64(cs.Scheduled) / d.Seconds()), AchievedRate: round3(float64(sum.OpsOK) / sum.Elapsed.Seconds()),
		Operations: cs.Scheduled, OperationsOK: sum.OpsOK, Requests: sum.Requests,
		Percentiles: sum.Latency, StatusCodes: sum.Codes, Errors: sum.Errors, Client: cs, Series: sum.Series,
		Resources: resources(before, <-under), ops: sum.Ops}
	st.PerOperation = operationReports(sum.Ops, sum.Elapsed.Seconds())
	if loopback(cfg.Target) {
		st.Resources.HostLoad, st.Resources.HostCPUs = hostLoad(), runtime.NumCPU()
	}
	if sum.Requests > 0 {
		st.ErrorRate = float64(sum.FailedReqs) / float64(sum.Requests)
	}
	st.WithinSLO = st.P99 <= ms(cfg.SLOP99) && st.ErrorRate <= cfg.MaxErrorRate && !cs.Saturated
	if cfg.StepHeld != nil {
		st.WithinSLO, _ = cfg.StepHeld(st)
	}
	return st
}

func kneeReason(st StepReport, cfg Config) string {
	if cfg.StepHeld != nil {
		_, why := cfg.StepHeld(st)
		return why
	}
	switch {
	case st.Client.Saturated:
		return "the load generator could not keep its schedule"
	case st.P99 > ms(cfg.SLOP99):
		return fmt.Sprintf("p99 %.1f ms > SLO %.1f ms", st.P99, ms(cfg.SLOP99))
	}
	return fmt.Sprintf("error rate %.3f%% > %.3f%%", 100*st.ErrorRate, 100*cfg.MaxErrorRate)
}

// envelope states the capacity found by step mode.
func envelope(sr ScenarioReport, cfg Config) *Envelope {
	env := &Envelope{SLOP99MS: ms(cfg.SLOP99), MaxErrorRate: cfg.MaxErrorRate}
	var good *StepReport
	for i := range sr.Steps {
		if sr.Steps[i].WithinSLO {
			good = &sr.Steps[i]
		}
	}
	last := sr.Steps[len(sr.Steps)-1]
	if good != nil {
		env.SustainedRate = good.AchievedRate
	}
	cond := fmt.Sprintf("at p99 < %.0f ms and errors < %.2f %%", env.SLOP99MS, 100*env.MaxErrorRate)
	switch {
	case sr.Knee == nil:
		env.SaturatingResource = "not reached"
		env.Statement = fmt.Sprintf("%s, %s sustains %.0f op/s (the highest of %d steps); the knee lies beyond: raise --rate or --max-steps (at the top: %s)",
			cond, sr.Scenario, env.SustainedRate, len(sr.Steps), signals(last.Resources))
	default:
		env.KneeRate = sr.Knee.OfferedRate
		env.SaturatingResource = saturating(last)
		env.Statement = fmt.Sprintf("%s, %s sustains %.0f op/s; at %.0f op/s offered %s; what saturates: %s",
			cond, sr.Scenario, env.SustainedRate, env.KneeRate, sr.Knee.Reason, env.SaturatingResource)
	}
	return env
}

func summarize(w io.Writer, rep *Report, dir string) {
	for _, sr := range rep.Scenarios {
		for _, st := range sr.Steps {
			fmt.Fprintf(w, "%s step %d: offered %.1f/s achieved %.1f/s p50 %.2fms p90 %.2fms p99 %.2fms p999 %.2fms max %.2fms errors %.3f%%%s\n",
				sr.Scenario, st.Step, st.OfferedRate, st.AchievedRate, st.P50, st.P90, st.P99, st.P999, st.Max, 100*st.ErrorRate,
				map[bool]string{true: " (client saturated)", false: ""}[st.Client.Saturated])
		}
		if sr.Sold != nil {
			fmt.Fprintf(w, "flash sale: stock %d sold %d; buyers %d paid %d sold out %d declined %d pending %d gave up %d failed %d\n",
				*sr.Stock, *sr.Sold, sr.Buyers.Total, sr.Buyers.Paid, sr.Buyers.SoldOut, sr.Buyers.Declined, sr.Buyers.Pending, sr.Buyers.GaveUp, sr.Buyers.Failed)
		}
	}
	verdict := "PASSED"
	if !rep.Audit.Passed {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "audit %s\n", verdict)
	for _, c := range rep.Audit.Details {
		mark := "ok  "
		if !c.Passed {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %s: %s\n", mark, c.Name, c.Summary)
		for _, b := range c.Breaches {
			fmt.Fprintf(w, "       %s\n", b)
		}
	}
	fmt.Fprintf(w, "report: %s/report.json, %s/report.html\n", dir, dir)
}
