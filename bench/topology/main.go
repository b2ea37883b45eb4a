// Command topology checks the capacity model (docs/CAPACITY.md) against
// the local production topology: the same open-model checkout load through
// HAProxy with one, two and three API replicas, and the processor time
// each part spends per checkout operation (a cart, one or two lines and
// the checkout). On two cores the total cannot grow with replicas, so what
// the model predicts is that the API's cost per operation stays flat (each
// replica does the same work for its share), and that the balancer's share
// stays small.
//
//	go run ./bench/topology [-rate 30] [-d 20s]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/surge-commerce/surge/bench/loadgen"
	"github.com/surge-commerce/surge/internal/cluster"
	"github.com/surge-commerce/surge/internal/loadtest"
)

func main() {
	rate := flag.Float64("rate", 30, "checkout operations offered per second")
	d := flag.Duration("d", 20*time.Second, "measured load per topology")
	flag.Parse()
	if err := run(*rate, *d); err != nil {
		fmt.Fprintln(os.Stderr, "topology:", err)
		os.Exit(1)
	}
}

type costs struct {
	ops                            int64
	api, balancer, db, rest, whole time.Duration // per operation
	// apiNet is the API's cost per operation less what its replicas spend
	// idle (flag refreshes, health checks, metrics) over the same time.
	apiNet time.Duration
	// idle is what all API replicas spend per second with no load.
	idle time.Duration
}

func run(rate float64, d time.Duration) error {
	dir, err := os.MkdirTemp("", "surge-bench-topology-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "surge")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/surge").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	fmt.Printf("checkout operations (cart, 1-2 lines, checkout) at %.0f/s for %v through HAProxy, PostgreSQL primary + sync standby\n", rate, d)
	fmt.Printf("  %-9s %6s %10s %11s %10s %10s %11s %10s %11s %12s %9s\n", "replicas", "ops", "idle ms/s", "API µs/op", "net of idle",
		"HAProxy µs", "PostgreSQL", "other µs", "machine µs", "net vs 1", "balancer")
	var first time.Duration
	for n := 1; n <= 3; n++ {
		c, err := measure(bin, filepath.Join(dir, strconv.Itoa(n)), n, rate, d)
		if err != nil {
			return err
		}
		if n == 1 {
			first = c.apiNet
		}
		us := func(t time.Duration) float64 { return float64(t) / float64(time.Microsecond) }
		fmt.Printf("  %-9d %6d %10.1f %11.0f %10.0f %10.0f %11.0f %10.0f %11.0f %11.2fx %8.1f%%\n", n, c.ops,
			float64(c.idle)/float64(time.Millisecond), us(c.api), us(c.apiNet), us(c.balancer), us(c.db), us(c.rest), us(c.whole),
			float64(c.apiNet)/float64(first), 100*float64(c.balancer)/float64(c.balancer+c.api))
	}
	return nil
}

func measure(bin, dir string, replicas int, rate float64, d time.Duration) (costs, error) {
	ctx := context.Background()
	c, err := cluster.Up(ctx, cluster.Options{SurgeBin: bin, Dir: dir, APIReplicas: replicas,
		Env: []string{"SURGE_ACCESS_LOG=false", "SURGE_RATE_LIMITS=off", "SURGE_MAX_CONNS_PER_CLIENT=100000"}})
	if err != nil {
		return costs{}, err
	}
	defer c.Down()
	cfg := loadtest.Config{Target: c.FrontURL, AdminKey: c.AdminKey, Scenario: "checkout", Rate: rate, Duration: d,
		Out: filepath.Join(dir, "load"), SKUs: 20, Customers: 100, Connections: 64, Seed: 1}
	// What the replicas spend with nobody calling, per second: the model
	// scales per-request cost, and this is the part that scales with
	// replicas instead.
	const idleFor = 10 * time.Second
	idle0 := sample(c)["api"]
	time.Sleep(idleFor)
	idle := (sample(c)["api"] - idle0) * time.Second / idleFor
	var before map[string]time.Duration
	var machine0 time.Duration
	var t0 time.Time
	cfg.OnLoad = func(time.Time) { before, machine0, t0 = sample(c), loadgen.MachineCPU(), time.Now() }
	rep, err := loadtest.Run(ctx, cfg, io.Discard, io.Discard)
	if rep == nil {
		return costs{}, err
	}
	after, machine, span := sample(c), loadgen.MachineCPU()-machine0, time.Since(t0)
	var ops int64
	for _, st := range rep.Scenarios[0].Steps {
		ops += st.OperationsOK
	}
	if ops == 0 {
		return costs{}, fmt.Errorf("%d replicas: no operation completed", replicas)
	}
	per := func(part string) time.Duration { return (after[part] - before[part]) / time.Duration(ops) }
	// The samples are taken after the drain and audit too; the machine's
	// whole time over the same span is the denominator of the rest.
	out := costs{ops: ops, api: per("api"), balancer: per("haproxy"), db: per("postgres"), whole: machine / time.Duration(ops)}
	out.rest = per("other")
	out.idle = idle
	out.apiNet = out.api - time.Duration(float64(idle)*span.Seconds())/time.Duration(ops)
	return out, nil
}

// sample reads the processor time spent so far by each part: the API
// replicas, HAProxy, PostgreSQL (both servers with their backends, live
// and exited) and every other process of the topology.
func sample(c *cluster.Cluster) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, a := range c.API {
		out["api"] += loadgen.CPU(a.Pid())
	}
	out["haproxy"] = loadgen.CPU(c.HAProxy.Pid())
	out["postgres"] = tree(c.Primary.Pid()) + tree(c.Standby.Pid())
	for _, p := range append([]*cluster.Component{c.Redis, c.PSP, c.Relay, c.Worker, c.Sweeper}, c.NATS...) {
		out["other"] += loadgen.CPU(p.Pid())
	}
	return out
}

// tree is a process's time with its exited children's (PostgreSQL's
// postmaster collects its finished backends') and its live children's.
func tree(pid int) time.Duration {
	self, _ := stat(strconv.Itoa(pid), true)
	total := self
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		if t, ppid := stat(d.Name(), false); ppid == pid {
			total += t
		}
	}
	return total
}

// stat reads /proc/<pid>/stat: user and system time (with that of exited
// children when children is set) and the parent's pid.
func stat(pid string, children bool) (time.Duration, int) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0
	}
	// After the command: state, ppid, ... utime (14th field), stime,
	// cutime, cstime, in clock ticks of 1/100 s.
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return 0, 0
	}
	ppid, _ := strconv.Atoi(f[1])
	n := 2
	if children {
		n = 4
	}
	var ticks int64
	for _, v := range f[11 : 11+n] {
		t, _ := strconv.ParseInt(v, 10, 64)
		ticks += t
	}
	return time.Duration(ticks) * 10 * time.Millisecond, ppid
}
