// Command overload measures goodput under overload: it finds Surge's
// checkout capacity C (closed loop), then offers 1×, 2× and 4× C on a fixed
// arrival schedule (open model: latency counted from the scheduled time, so
// a slow server cannot hide behind a slow client) and reports goodput ÷ C
// and admitted p99 ÷ unloaded p99. Each step starts once the events of the
// earlier ones are handled. Loopback only, bounded in time.
//
// -capacity fixes C instead of measuring it, to compare two versions at the
// same offered load.
//
// -memdisk keeps Surge's data in memory, to tell the disk's share of the
// results from Surge's.
//
//	go run ./bench/overload [-step 5s] [-rounds 3] [-sweep] [-capacity N] [-memdisk] [-cpuprofile FILE]
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/surge-commerce/surge/bench/loadgen"
)

func main() {
	step := flag.Duration("step", 5*time.Second, "duration of each load step")
	rounds := flag.Int("rounds", 3, "rounds of steps (each level reports its median round)")
	sweep := flag.Bool("sweep", false, "instead: closed-loop throughput and p99 at 1 to 24 clients, against C and the unloaded p99")
	fixed := flag.Float64("capacity", 0, "use this capacity C (checkouts/s) instead of measuring it")
	profile := flag.String("cpuprofile", "", "write the load generator's own CPU profile to this file")
	memdisk := flag.Bool("memdisk", false, "keep Surge's data in memory (/dev/shm): flushes cost nothing, so what remains is Surge on the processor, not the disk (a diagnosis, not a durable setup)")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "overload:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*step, *rounds, *sweep, *fixed, *memdisk); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "overload:", err)
		os.Exit(1)
	}
}

func run(step time.Duration, rounds int, sweep bool, fixed float64, memdisk bool) error {
	parent := ""
	if memdisk {
		parent = "/dev/shm"
	}
	dir, err := os.MkdirTemp(parent, "surge-overload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	surge, err := loadgen.StartSurge(ctx, dir)
	if err != nil {
		return err
	}
	defer surge.Stop()
	// Surge's data lives in dir: the probe flushes the same disk.
	flush, err := loadgen.StartFlushProbe(dir, 50*time.Millisecond)
	if err != nil {
		return err
	}
	defer flush.Stop()
	c := &client{pid: surge.PID(), base: surge.URL, flush: flush,
		http: &http.Client{Timeout: 30 * time.Second},
		fast: &fasthttp.Client{MaxConnsPerHost: 4096, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}}
	if err := c.setup(); err != nil {
		return err
	}

	if sweep {
		return c.sweep(step, rounds, fixed)
	}
	capacity := fixed
	if capacity > 0 {
		fmt.Printf("capacity (fixed): %.0f checkouts/s\n", capacity)
	} else {
		capacity, _ = c.closedLoop(16, step)
		fmt.Printf("capacity (closed loop, 16 clients, %s): %.0f checkouts/s; events handled %.1fs after the load ended\n",
			step, capacity, c.settle().Seconds())
	}
	// The steps run in rounds (unloaded, 1×, 2×, 4×, then again), so a
	// noisy neighbour on a shared machine hits every level; each level
	// reports its median round.
	levels := []float64{0.3, 1, 2, 4}
	runs := make([][]result, len(levels))
	for range rounds {
		for i, k := range levels {
			c.settle()
			runs[i] = append(runs[i], c.open(capacity*k, step))
		}
	}
	unloaded := medianP99(runs[0])
	fmt.Printf("unloaded (0.3×C): admitted p99 %.1f ms (median of %d rounds: %s; disk flush median/longest: %s ms)\n\n",
		ms(unloaded), rounds, p99s(runs[0]), flushes(runs[0]))
	fmt.Println("offered  goodput/C  admitted p99 / unloaded p99  2xx     503 shed  other  client late  (per round: goodput/C; p99 ms; disk flush median/longest ms)")
	for i, k := range levels[1:] {
		rs := runs[i+1]
		var ok, shed, other, late int64
		goodputs := make([]float64, len(rs))
		for j, r := range rs {
			ok, shed, other, late = ok+r.ok, shed+r.shed, other+r.other, late+r.late
			goodputs[j] = float64(r.ok) / step.Seconds() / capacity
		}
		fmt.Printf("%.0f×      %.2f       %.2f                        %-7d %-9d %-6d %-11d  %s; %s; %s\n", k, loadgen.Median(goodputs),
			float64(medianP99(rs))/float64(max(unloaded, 1)), ok, shed, other, late, fmtAll(goodputs), p99s(rs), flushes(rs))
	}
	fmt.Print("\ngenerator's own delay before the send, p99 per round (ms):")
	for i, k := range levels {
		fmt.Printf("  %g×:", k)
		for _, r := range runs[i] {
			fmt.Printf(" %.1f", ms(r.sendLate.ValueAtQuantile(99)))
		}
	}
	fmt.Println()
	fmt.Println("\nmedian round  cores: load generator  Surge  SQLite writer held")
	for i, k := range levels {
		gen, surge, writer := make([]float64, len(runs[i])), make([]float64, len(runs[i])), make([]float64, len(runs[i]))
		for j, r := range runs[i] {
			gen[j], surge[j], writer[j] = r.genCPU, r.surgeCPU, r.writerBusy
		}
		fmt.Printf("%-4s                 %.2f            %.2f   %3.0f %%\n", fmt.Sprintf("%g×", k),
			loadgen.Median(gen), loadgen.Median(surge), 100*loadgen.Median(writer))
	}
	fmt.Printf("\nshed limit at the end: %s, checkout limit %s\n", c.metric("surge_shed_limit"), c.metric("surge_shed_checkout_limit"))
	fmt.Printf("sheds by reason: %v\n", c.sheds())
	return nil
}

// sweep holds the concurrency fixed instead of shedding: at each number
// of clients (closed loop) it reports throughput and p99 against the same
// round's capacity (16 clients, as C is measured) and unloaded p99, since
// the machine's speed drifts between rounds. Whatever a concurrency limit
// does, it holds some number of checkouts in flight, so the levels that
// meet both goals at once (goodput ≥ 0.9 C, p99 ≤ 2× unloaded) bound what
// any limit can reach here, before the sheds' own cost at 4×.
func (c *client) sweep(step time.Duration, rounds int, fixed float64) error {
	capacity := fixed
	if capacity <= 0 {
		c.settle()
		capacity, _ = c.closedLoop(16, step)
	}
	levels := []int{1, 2, 4, 6, 8, 10, 12, 16, 24}
	type point struct{ rate, p50, p99 float64 }
	points := make([][]point, rounds)
	unloaded := make([]result, rounds)
	for r := range rounds {
		c.settle()
		unloaded[r] = c.open(0.3*capacity, step)
		for _, n := range levels {
			c.settle()
			rate, h := c.closedLoop(n, step)
			points[r] = append(points[r], point{rate, float64(h.ValueAtQuantile(50)), float64(h.ValueAtQuantile(99))})
		}
	}
	fmt.Printf("unloaded: open load at 0.3 × %.0f/s; p99 per round: %s ms; disk flush median/longest per round: %s ms\n",
		capacity, p99s(unloaded), flushes(unloaded))
	fmt.Println("each level: medians over rounds, ratios to the same round's 16 clients and unloaded p99")
	fmt.Println("\nclients  checkouts/s  ÷ C    p50 ms  p99 ms  p99 ÷ unloaded  both goals")
	c16 := slices.Index(levels, 16)
	for i, n := range levels {
		rate, p50, p99, xc, pu := make([]float64, rounds), make([]float64, rounds), make([]float64, rounds), make([]float64, rounds), make([]float64, rounds)
		for r := range rounds {
			pt := points[r][i]
			rate[r], p50[r], p99[r] = pt.rate, pt.p50, pt.p99
			xc[r] = pt.rate / max(points[r][c16].rate, 1)
			pu[r] = pt.p99 / float64(max(unloaded[r].admitted.ValueAtQuantile(99), 1))
		}
		both := ""
		if loadgen.Median(xc) >= 0.9 && loadgen.Median(pu) <= 2 {
			both = "yes"
		}
		fmt.Printf("%-7d  %-11.0f  %.2f   %-6.1f  %-6.1f  %-14.2f  %s\n", n, loadgen.Median(rate), loadgen.Median(xc),
			loadgen.Median(p50)/1000, loadgen.Median(p99)/1000, loadgen.Median(pu), both)
	}
	return nil
}

func medianP99(rs []result) int64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = float64(r.admitted.ValueAtQuantile(99))
	}
	return int64(loadgen.Median(v))
}

func p99s(rs []result) string {
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%.1f", ms(r.admitted.ValueAtQuantile(99)))
	}
	return b.String()
}

// flushes lists each round's median/longest disk flush, in ms.
func flushes(rs []result) string {
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%.1f/%.0f", ms(r.flushP50.Microseconds()), ms(r.flush.Microseconds()))
	}
	return b.String()
}

func fmtAll(v []float64) string {
	var b strings.Builder
	for i, x := range v {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%.2f", x)
	}
	return b.String()
}

func ms(us int64) float64 { return float64(us) / 1000 }
