// Package drill breaks the local production topology (package cluster) on
// purpose under steady load and measures what it costs: steady load from
// the loadtest engine, a fault, the heal, a drain and the audit; then the
// time the system took to come back to its pre-fault latency and how many
// acknowledged orders it lost (which must be none). `surge drill run`
// drives it; docs/RELIABILITY.md keeps the scorecard.
package drill

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/surge-commerce/surge/internal/cluster"
)

// Target is what a drill's load goes to: the topology's balancer
// (*cluster.Cluster) or a drill's own single process.
type Target interface {
	Front() (url, adminKey string)
}

// Own is a target a drill starts for itself and stops when it is done.
type Own interface {
	Target
	Down() error
}

// Drill is one fault: Fault breaks something, Heal mends it Window later.
type Drill struct {
	Name    string
	Summary string
	Fault   func(ctx context.Context, t Target) error
	Heal    func(ctx context.Context, t Target) error
	// Window is how long the fault lasts unless the run says otherwise
	// (0: DefaultWindow).
	Window time.Duration
	// Probe, if set, runs once the fault is on, against the shop the
	// load uses; a probe that is not clean is a breach.
	Probe func(ctx context.Context, t Target, shop string) []Probe
	// Start, if set, starts the drill's own target, with its state under
	// dir, instead of running against the shared topology; bin is the
	// surge binary.
	Start func(ctx context.Context, bin, dir string) (Own, error)
}

// onCluster adapts a step that needs the whole topology.
func onCluster(f func(ctx context.Context, c *cluster.Cluster) error) func(context.Context, Target) error {
	return func(ctx context.Context, t Target) error {
		c, ok := t.(*cluster.Cluster)
		if !ok {
			return fmt.Errorf("this drill needs the topology, not %T", t)
		}
		return f(ctx, c)
	}
}

// DefaultWindow is a fault's length when neither drill nor run names one.
const DefaultWindow = 20 * time.Second

// killable is a component a drill can crash and start again.
type killable interface {
	Kill() error
	Start(ctx context.Context) error
}

// kill is a drill that SIGKILLs what pick names and starts it again at
// the heal.
func kill(name, summary string, pick func(c *cluster.Cluster) []killable) Drill {
	return Drill{Name: name, Summary: summary,
		Fault: onCluster(func(_ context.Context, c *cluster.Cluster) error {
			for _, p := range pick(c) {
				if err := p.Kill(); err != nil {
					return err
				}
			}
			return nil
		}),
		// All at once: a NATS node waits for its peers before it is
		// ready, so starting the nodes one by one never finishes.
		Heal: onCluster(func(ctx context.Context, c *cluster.Cluster) error {
			ps := pick(c)
			errs := make([]error, len(ps))
			var wg sync.WaitGroup
			for i, p := range ps {
				wg.Go(func() { errs[i] = p.Start(ctx) })
			}
			wg.Wait()
			return errors.Join(errs...)
		})}
}

func withWindow(w time.Duration, d Drill) Drill {
	d.Window = w
	return d
}

// psp is a drill that sets the payment simulator's fault knobs, and
// clears them at the heal.
func psp(name, summary, faults string) Drill {
	return Drill{Name: name, Summary: summary,
		Fault: onCluster(func(ctx context.Context, c *cluster.Cluster) error { return c.SetPSPFaults(ctx, faults) }),
		Heal:  onCluster(func(ctx context.Context, c *cluster.Cluster) error { return c.SetPSPFaults(ctx, "{}") })}
}

// All is every drill, by name.
var All = map[string]Drill{}

func init() {
	for _, d := range []Drill{
		kill("api-kill", "SIGKILL one of three API replicas; clients retry through the balancer with the same key",
			func(c *cluster.Cluster) []killable { return []killable{c.API[0]} }),
		kill("api-kill-two", "SIGKILL two of three API replicas at once",
			func(c *cluster.Cluster) []killable { return []killable{c.API[0], c.API[1]} }),
		kill("pg-kill", "SIGKILL the PostgreSQL primary in the middle of checkouts; it restarts with crash recovery",
			func(c *cluster.Cluster) []killable { return []killable{c.Primary} }),
		withWindow(60*time.Second, kill("redis-down", "Redis down for 60 s: SIGKILLed and started again (cache and rate limits degrade, checkouts go on)",
			func(c *cluster.Cluster) []killable { return []killable{c.Redis} })),
		kill("nats-node-kill", "SIGKILL one of three NATS nodes: the streams keep a quorum",
			func(c *cluster.Cluster) []killable { return []killable{c.NATS[0]} }),
		withWindow(30*time.Second, kill("nats-down", "the whole NATS cluster down for 30 s: the outbox holds every event until it is back",
			func(c *cluster.Cluster) []killable { return []killable{c.NATS[0], c.NATS[1], c.NATS[2]} })),
		kill("relay-kill", "SIGKILL the outbox relay (after publishes, before it marks them)",
			func(c *cluster.Cluster) []killable { return []killable{c.Relay} }),
		kill("worker-kill", "SIGKILL the event worker (before it acknowledges what it applied)",
			func(c *cluster.Cluster) []killable { return []killable{c.Worker} }),
		{Name: "pg-latency", Summary: "500 ± 250 ms on every PostgreSQL connection",
			Fault: onCluster(func(_ context.Context, c *cluster.Cluster) error { return c.PGProxy.AddLatency("drill", 500, 250) }),
			Heal:  onCluster(func(_ context.Context, c *cluster.Cluster) error { return c.PGProxy.RemoveToxic("drill") })},
		{Name: "pg-reset", Summary: "PostgreSQL connections reset (TCP RST) as they carry data",
			Fault: onCluster(func(_ context.Context, c *cluster.Cluster) error { return c.PGProxy.ResetPeers("drill", 100) }),
			Heal:  onCluster(func(_ context.Context, c *cluster.Cluster) error { return c.PGProxy.RemoveToxic("drill") })},
		{Name: "psp-slow", Summary: "the payment provider answers after 2 s",
			Fault: onCluster(func(_ context.Context, c *cluster.Cluster) error { return c.PSPProxy.AddLatency("drill", 2000, 0) }),
			Heal:  onCluster(func(_ context.Context, c *cluster.Cluster) error { return c.PSPProxy.RemoveToxic("drill") })},
		psp("psp-faults", "the provider fails half its calls (503) and answers the rest after 2 s",
			`{"error_rate":0.5,"latency_ms":2000}`),
		psp("psp-lost-answers", "the provider performs half its calls, captures included, and loses the answer",
			`{"drop_response_rate":0.5}`),
	} {
		All[d.Name] = d
	}
}

// Names lists the drills in order.
func Names() []string {
	var out []string
	for n := range All {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the named drill.
func Lookup(name string) (Drill, error) {
	d, ok := All[name]
	if !ok {
		return Drill{}, fmt.Errorf("no drill %q (surge drill list shows them)", name)
	}
	return d, nil
}

// Timing is a drill's schedule under load.
type Timing struct {
	Before time.Duration // steady load before the fault
	Window time.Duration // how long the fault lasts
	After  time.Duration // steady load after the heal
}
