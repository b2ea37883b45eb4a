package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/surge-commerce/surge/internal/loadtest"
)

// runLoadtest parses the flags of `surge loadtest` and runs it. It fails
// (exit status 1) when the run could not be set up or the audit failed;
// the report is written either way once the load ran.
func runLoadtest(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: surge loadtest --target URL --admin-key KEY --scenario "+strings.Join(loadtest.Scenarios, "|")+
			" --rate R --duration D --out DIR [--step] [flags]")
		fs.PrintDefaults()
	}
	var c loadtest.Config
	fs.StringVar(&c.Target, "target", "http://127.0.0.1:8080", "base URL of the Surge under test")
	fs.StringVar(&c.AdminKey, "admin-key", getenv("SURGE_ADMIN_KEY"), "platform admin key (env SURGE_ADMIN_KEY)")
	fs.StringVar(&c.Scenario, "scenario", "browse", "traffic: "+strings.Join(loadtest.Scenarios, ", "))
	fs.Float64Var(&c.Rate, "rate", 50, "arrivals (operations) per second; the starting rate in step mode; the peak of the flash-sale ramp")
	fs.DurationVar(&c.Duration, "duration", 30*time.Second, "how long to offer load (not in step mode)")
	fs.StringVar(&c.Out, "out", "loadtest-report", "directory for report.json and report.html")
	fs.BoolVar(&c.Step, "step", false, "raise the rate stepwise until p99 > --slo-p99 or errors > --max-error-rate, then report the knee and the capacity envelope")
	fs.DurationVar(&c.StepDuration, "step-duration", 10*time.Second, "length of each step")
	fs.Float64Var(&c.StepFactor, "step-factor", 1.5, "rate multiplier from one step to the next")
	fs.IntVar(&c.MaxSteps, "max-steps", 10, "most steps in step mode")
	fs.DurationVar(&c.SLOP99, "slo-p99", 250*time.Millisecond, "p99 latency objective")
	fs.Float64Var(&c.MaxErrorRate, "max-error-rate", 0.001, "error-rate objective, a fraction (0.001 = 0.1 %)")
	fs.IntVar(&c.SKUs, "skus", 50, "products to create (browse, checkout, mixed)")
	fs.BoolVar(&c.Flash, "flash", false, "checkout: put the SKUs in flash-sale mode (stock in buckets)")
	fs.Int64Var(&c.Stock, "stock", 100, "flash-sale: units on sale")
	fs.IntVar(&c.Customers, "customers", 200, "checkout, mixed: customers created up front")
	fs.Int64Var(&c.AdmissionRate, "admission-rate", 20, "flash-sale: waiting-room admissions per second (0: no waiting room)")
	fs.Int64Var(&c.AdmissionBurst, "admission-burst", 20, "flash-sale: buyers admitted the moment the sale opens")
	fs.DurationVar(&c.BuyerTimeout, "buyer-timeout", 60*time.Second, "flash-sale: a buyer gives up after this")
	fs.IntVar(&c.Connections, "connections", 256, "HTTP connections to the target")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", 20000, "operations running at once before arrivals are dropped (and reported)")
	fs.DurationVar(&c.Timeout, "timeout", 30*time.Second, "per-request timeout")
	fs.DurationVar(&c.Drain, "drain-timeout", 60*time.Second, "how long to wait for running operations after a phase")
	fs.DurationVar(&c.AuditWait, "audit-wait", 60*time.Second, "how long the final audit lets events, consumers and running charges settle before it judges (its settle)")
	fs.Uint64Var(&c.Seed, "seed", 0, "random seed for the traffic mix (0: random)")
	fs.StringVar(&c.Shop, "shop", "", "shop slug to create (default: lt-<random>)")
	fs.DurationVar(&c.Progress, "progress-interval", 5*time.Second, "period of progress lines when stderr is not a terminal")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("loadtest: unexpected argument %q", fs.Arg(0))
	}
	if err := probeTarget(ctx, c.Target); err != nil {
		return err
	}
	_, err := loadtest.Run(ctx, c, stdout, stderr)
	return err
}

// probeTarget asks the target's /healthz once, within two seconds, so a
// wrong --target or a server that is not running is reported at once
// rather than after the setup's own timeouts.
func probeTarget(ctx context.Context, target string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(target, "/")+"/healthz", nil)
	if err != nil {
		return fmt.Errorf("loadtest: --target %q: %w", target, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("loadtest: target %s is unreachable: %w", target, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("loadtest: target %s answered %s on /healthz; is it a Surge?", target, resp.Status)
	}
	return nil
}
