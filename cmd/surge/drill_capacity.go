package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/surge-commerce/surge/internal/cluster"
	"github.com/surge-commerce/surge/internal/drill"
)

// drillCapacity is `surge drill capacity`: the checkout rate the topology
// sustains on this machine, found by stepping open-model load up through
// the balancer, and half of it for the soak.
func drillCapacity(ctx context.Context, args []string, usage func(), stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("drill capacity", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { usage(); fs.PrintDefaults() }
	start := fs.Float64("start", 10, "checkouts offered per second in the first step")
	step := fs.Float64("step", 10, "added to the offered rate at each step")
	maxRate := fs.Float64("max", 200, "the last step's rate at most")
	hold := fs.Duration("hold", 20*time.Second, "how long each step lasts")
	maxP99 := fs.Duration("max-p99", 2*time.Second, "a step whose p99 latency is above this did not hold")
	seed := fs.Uint64("seed", 1, "the load's seed")
	out := fs.String("out", "capacity-report", "directory for report.json")
	dir := fs.String("dir", "", "directory for the topology's data and logs (default: a new temporary directory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *start <= 0 || *step <= 0 || *maxRate < *start || *maxRate > 10_000:
		return errors.New("drill capacity: --start and --step must be above 0, --max at least --start and at most 10000")
	case *hold < time.Second || *maxP99 <= 0:
		return errors.New("drill capacity: --hold must be at least 1s and --max-p99 positive")
	}
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintln(stderr, "drill: starting the topology")
	c, err := cluster.Up(ctx, cluster.Options{SurgeBin: bin, Dir: *dir, Env: drillEnv})
	if err != nil {
		return err
	}
	defer func() {
		if err := c.Down(); err != nil {
			fmt.Fprintln(stderr, "drill: down:", err)
		}
	}()
	res, err := drill.Capacity(ctx, c, drill.CapacityOptions{Start: *start, Step: *step, Max: *maxRate, Hold: *hold,
		MaxP99: *maxP99, Seed: *seed, Out: *out}, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%10s %10s %10s %9s  %s\n", "offered/s", "achieved/s", "p99 ms", "failures", "held")
	for _, s := range res.Steps {
		verdict := "yes"
		if !s.Held {
			verdict = "no: " + s.Why
		}
		fmt.Fprintf(stdout, "%10.1f %10.1f %10.0f %8.2f%%  %s\n", s.Offered, s.Achieved, s.P99, 100*s.Failures, verdict)
	}
	fmt.Fprintf(stdout, "stopped %s\nsustained %g/s, half %g/s (the soak's rate: make soak SOAKRATE=%g)\n",
		res.Stopped, res.Sustained, res.Half, res.Half)
	switch {
	case res.Lost > 0 || !res.AuditPassed:
		return fmt.Errorf("drill capacity: %d acknowledged orders lost, audit passed %t (report in %s)", res.Lost, res.AuditPassed, *out)
	case res.Sustained == 0:
		return fmt.Errorf("drill capacity: not even %g/s held: lower --start", *start)
	}
	return nil
}
