package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/surge-commerce/surge/internal/cluster"
	"github.com/surge-commerce/surge/internal/drill"
)

// drillPidFile, in the drill's directory, holds the pid of `surge drill up`,
// which must keep running: the fault-injecting proxies live inside it.
const drillPidFile = "drill.pid"

// runDrill runs the production topology locally (docs/adr/0022).
func runDrill(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	usage := func() {
		fmt.Fprint(stderr, `Usage: surge drill up [--dir DIR] [--async-standby]
       surge drill down --dir DIR
       surge drill list
       surge drill run NAME[,NAME...]|all [--seeds N] [--rate R] [--before D] [--window D] [--after D] [--out DIR]
       surge drill soak [--duration D] [--every D] [--rate R] [--out DIR]
       surge drill capacity [--start R] [--step R] [--max R] [--hold D] [--max-p99 D] [--out DIR]

up starts, on loopback: PostgreSQL primary and streaming standby, Redis, a
three-node NATS JetStream cluster, the payment simulator, three API replicas,
one relay, worker and sweeper replica, and HAProxy in front, with in-process
Toxiproxy between the replicas and their dependencies. It prints the front
URL and the admin key and runs until interrupted (Ctrl-C stops everything).
down stops the drill whose state lives in DIR, from another shell.
list names the drills; run brings the topology up (only if a named drill
needs it: the sqlite drills start their own surge serve on SQLite, and
sqlite-full-disk mounts a tmpfs, which needs root), runs each named drill
under steady checkout load once per seed (load, fault, heal, drain, audit),
writes report.json and report.html per drill and seed under --out, prints
the scorecard and exits non-zero on any breach (an acknowledged order lost,
a failed audit, requests still failing at the end). soak runs the steady
load for --duration, samples each Surge process's heap, goroutines, open
descriptors and resident set every --every, and fails when one of them
climbs beyond noise. capacity steps checkout load up through the balancer
(--start, then --step more every --hold, up to --max) until a step fails
more than 1 % of its requests, its p99 passes --max-p99 or it completes
less than 90 % of what it offered; it prints each step, the rate sustained
and half of it (the soak's rate), and writes report.json.
`)
	}
	if len(args) == 0 || wantsHelp(args) {
		usage()
		if len(args) == 0 {
			return errors.New("drill: want up, down, list or run")
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "list":
		for _, name := range drill.Names() {
			fmt.Fprintf(stdout, "%-18s %s\n", name, drill.All[name].Summary)
		}
		return nil
	case "run":
		return drillRun(ctx, args[1:], usage, stdout, stderr)
	case "soak":
		return drillSoak(ctx, args[1:], usage, stdout, stderr)
	case "capacity":
		return drillCapacity(ctx, args[1:], usage, stdout, stderr)
	}
	fs := flag.NewFlagSet("drill "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { usage(); fs.PrintDefaults() }
	dir := fs.String("dir", "", "directory for every component's data and logs (default: a new temporary directory)")
	async := fs.Bool("async-standby", false, "replicate asynchronously (default: a commit waits for the standby)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "up":
		return drillUp(ctx, *dir, *async, stdout)
	case "down":
		if *dir == "" {
			return errors.New("drill down: --dir is required: the directory `surge drill up` printed")
		}
		return drillDown(ctx, *dir, stdout)
	}
	usage()
	return fmt.Errorf("drill: unknown action %q (want up, down, list or run)", args[0])
}

func drillUp(ctx context.Context, dir string, async bool, stdout io.Writer) error {
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := cluster.Up(ctx, cluster.Options{SurgeBin: bin, Dir: dir, AsyncStandby: async})
	if err != nil {
		return err
	}
	pidFile := filepath.Join(c.Dir, drillPidFile)
	err = os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
	if err == nil {
		fmt.Fprintf(stdout, "front:     %s\nadmin key: %s\ndatabase:  %s\nstate:     %s (logs, data)\nstop:      Ctrl-C, or surge drill down --dir %s\n",
			c.FrontURL, c.AdminKey, c.DatabaseURL, c.Dir, c.Dir)
		<-ctx.Done()
		fmt.Fprintln(stdout, "stopping")
	}
	return errors.Join(err, c.Down(), os.Remove(pidFile))
}

// drillDown signals the `surge drill up` that owns dir and waits until it
// has stopped everything and exited.
func drillDown(ctx context.Context, dir string, stdout io.Writer) error {
	pidFile := filepath.Join(dir, drillPidFile)
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return fmt.Errorf("drill down: no drill running in %s: %w", dir, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("drill down: bad pid in %s", pidFile)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("drill down: signal pid %d: %w", pid, err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			return fmt.Errorf("drill down: pid %d still running after 2m", pid)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	fmt.Fprintf(stdout, "stopped the drill in %s\n", dir)
	return nil
}
