package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/surge-commerce/surge/internal/cluster"
	"github.com/surge-commerce/surge/internal/drill"
)

// drillRun is `surge drill run`: the topology up once, then each drill
// once per seed, one after the other, then down.
func drillRun(ctx context.Context, args []string, usage func(), stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		usage()
		return errors.New("drill run: name a drill, several separated by commas, or all (surge drill list)")
	}
	var drills []drill.Drill
	names := strings.Split(args[0], ",")
	if args[0] == "all" {
		names = drill.Names()
	}
	for _, n := range names {
		d, err := drill.Lookup(n)
		if err != nil {
			return err
		}
		drills = append(drills, d)
	}
	fs := flag.NewFlagSet("drill run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { usage(); fs.PrintDefaults() }
	seeds := fs.Int("seeds", 1, "runs of each drill, with seeds --seed, --seed+1, ...")
	seed := fs.Uint64("seed", 1, "first seed")
	rate := fs.Float64("rate", 20, "checkouts offered per second (steady, open model)")
	before := fs.Duration("before", 15*time.Second, "steady load before the fault")
	window := fs.Duration("window", 0, "how long the fault lasts (default: the drill's own, 20s unless it names one: redis-down 60s, nats-down 30s)")
	after := fs.Duration("after", 30*time.Second, "steady load after the heal")
	out := fs.String("out", "drill-reports", "directory for the reports")
	dir := fs.String("dir", "", "directory for the topology's data and logs (default: a new temporary directory)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch {
	case *seeds < 1 || *seeds > 100:
		return errors.New("drill run: --seeds must be between 1 and 100")
	case *rate <= 0 || *rate > 10_000:
		return errors.New("drill run: --rate must be above 0 and at most 10000")
	case *before < 5*time.Second || *window < 0 || *after < 5*time.Second:
		return errors.New("drill run: --before and --after must be at least 5s (the baseline and the recovery need them), --window not negative")
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	// The topology comes up for the first drill that needs it, if any
	// does: the SQLite drills start their own process.
	var c *cluster.Cluster
	var results []drill.Result
	breaches := 0
	for _, d := range drills {
		for k := range *seeds {
			s := *seed + uint64(k)
			w := *window
			if w == 0 {
				w = cmp.Or(d.Window, drill.DefaultWindow)
			}
			o := drill.Options{Timing: drill.Timing{Before: *before, Window: w, After: *after}, Rate: *rate, Seed: s,
				Out: filepath.Join(*out, d.Name, fmt.Sprintf("seed-%d", s))}
			var res drill.Result
			if d.Start != nil {
				res, err = runOwn(ctx, bin, *dir, d, o, stderr)
			} else {
				if c == nil {
					var down func()
					if c, down, err = upTopology(ctx, *dir, stderr); err != nil {
						return err
					}
					defer down() // once: c is set from here on
				}
				res, err = drill.Run(ctx, c, d, o, stderr)
			}
			if err != nil {
				return err
			}
			results = append(results, res)
			if !res.Passed {
				breaches++
			}
			fmt.Fprintln(stdout, scoreLine(res))
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(results, "", "  ")
	if err := os.WriteFile(filepath.Join(*out, "scorecard.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if breaches > 0 {
		return fmt.Errorf("drill: %d of %d runs breached (reports in %s)", breaches, len(results), *out)
	}
	return nil
}

// runOwn runs a drill that starts its own target, in a directory of its
// own, and stops it after. A target that cannot start is a breach of
// that run, not the end of the others.
func runOwn(ctx context.Context, bin, dir string, d drill.Drill, o drill.Options, stderr io.Writer) (drill.Result, error) {
	if err := os.MkdirAll(cmp.Or(dir, os.TempDir()), 0o755); err != nil {
		return drill.Result{}, err
	}
	dir, err := os.MkdirTemp(dir, fmt.Sprintf("surge-drill-%s-seed-%d-", d.Name, o.Seed))
	if err != nil {
		return drill.Result{}, err
	}
	fmt.Fprintf(stderr, "drill %s: starting its own surge serve in %s\n", d.Name, dir)
	t, err := d.Start(ctx, bin, dir)
	if err != nil {
		return drill.Unrun(d, o, err), nil
	}
	res, err := drill.Run(ctx, t, d, o, stderr)
	if derr := t.Down(); derr != nil {
		fmt.Fprintf(stderr, "drill %s: down: %v\n", d.Name, derr)
	}
	return res, err
}

// drillEnv is the replicas' settings under a drill. The load comes from
// one address, which the sign-up limit (a defence against bots) would
// hold to 20 customers a minute.
var drillEnv = []string{"SURGE_ACCESS_LOG=false", "SURGE_SIGNUP_LIMIT=100000"}

// scoreLine is one row of the scorecard: drill, seed, recovery, orders.
func scoreLine(r drill.Result) string {
	rec, serving := "-", "never"
	if r.RecoveredIn >= 0 {
		rec = fmt.Sprintf("%.0fs", r.RecoveredIn)
	}
	if r.ServingIn >= 0 {
		serving = fmt.Sprintf("%.0fs", r.ServingIn)
	}
	verdict, audit := "passed", "passed"
	if !r.Passed {
		verdict = "BREACH: " + strings.Join(r.Problems, "; ")
	}
	if !r.AuditPassed {
		audit = "failed"
	}
	probes := ""
	if len(r.Probes) > 0 {
		clean := 0
		for _, p := range r.Probes {
			if p.Clean {
				clean++
			}
		}
		probes = fmt.Sprintf("probes %d/%d clean  ", clean, len(r.Probes))
	}
	return fmt.Sprintf("%-18s seed %-3d serving in %-6s p99 back in %-6s acknowledged %-5d lost %d  failed %d  shed %d  audit %s  %s%s",
		r.Drill, r.Seed, serving, rec, r.Acknowledged, r.Lost, r.Errors, r.Sheds, audit, probes, verdict)
}
