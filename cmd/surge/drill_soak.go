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

	"github.com/surge-commerce/surge/internal/drill"
)

// drillSoak is `surge drill soak`: the topology under steady load for a
// long time, each Surge process's heap, goroutines, descriptors and
// resident set sampled, and whether any of them climbs.
func drillSoak(ctx context.Context, args []string, usage func(), stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("drill soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { usage(); fs.PrintDefaults() }
	duration := fs.Duration("duration", 30*time.Minute, "how long the steady load lasts")
	every := fs.Duration("every", 10*time.Second, "between samples of each process's /metrics")
	rate := fs.Float64("rate", 20, "checkouts offered per second (half of what the topology sustains is the usual soak)")
	seed := fs.Uint64("seed", 1, "the load's seed")
	out := fs.String("out", "soak-report", "directory for soak.json")
	dir := fs.String("dir", "", "directory for the topology's data and logs (default: a new temporary directory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *duration < time.Minute:
		return errors.New("drill soak: --duration must be at least 1m: a trend needs samples")
	case *every < time.Second || *every > *duration/3:
		return errors.New("drill soak: --every must be at least 1s and give three samples or more")
	case *rate <= 0 || *rate > 10_000:
		return errors.New("drill soak: --rate must be above 0 and at most 10000")
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, down, err := upTopology(ctx, *dir, stderr)
	if err != nil {
		return err
	}
	defer down()
	res, err := drill.Soak(ctx, c, drill.SoakOptions{Duration: *duration, Every: *every, Rate: *rate, Seed: *seed, Out: *out}, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "soak %s at %g/s: acknowledged %d, lost %d, audit passed %t\n", *duration, *rate, res.Acknowledged, res.Lost, res.AuditPassed)
	for _, t := range res.Trends {
		fmt.Fprintf(stdout, "%-8s %-30s %4d samples  first %14.0f  last %14.0f  slope %+14.1f/h  drift %+12.0f  noise %12.0f  %s\n",
			t.Process, t.Metric, t.Samples, t.First, t.Last, t.PerHour, t.Drift, t.Noise, t.Verdict)
	}
	if !res.Passed {
		return fmt.Errorf("drill soak: breach (report in %s)", *out)
	}
	return nil
}
