// Command flush measures the disk under the benchmarks: it writes and
// flushes 4 KiB in a temporary directory at a steady pace and prints the
// flushes' latency. Every durable commit waits for a flush, so a disk whose
// flushes stall for tens of milliseconds puts those stalls into every
// latency percentile measured above it; run this first on a new machine.
//
//	go run ./bench/flush [-duration 60s] [-every 5ms]
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/surge-commerce/surge/bench/loadgen"
)

func main() {
	duration := flag.Duration("duration", time.Minute, "how long to probe")
	every := flag.Duration("every", 5*time.Millisecond, "pause between flushes")
	flag.Parse()
	if err := run(*duration, *every); err != nil {
		fmt.Fprintln(os.Stderr, "flush:", err)
		os.Exit(1)
	}
}

func run(duration, every time.Duration) error {
	dir, err := os.MkdirTemp("", "surge-flush")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	p, err := loadgen.StartFlushProbe(dir, every)
	if err != nil {
		return err
	}
	time.Sleep(duration)
	p.Stop()
	h := hdrhistogram.New(1, 60_000_000, 3)
	for _, took := range p.Flushes(start, time.Now()) {
		_ = h.RecordValue(took.Microseconds())
	}
	over20, _ := p.Stalls(start, time.Now(), 20*time.Millisecond)
	over50, longest := p.Stalls(start, time.Now(), 50*time.Millisecond)
	fmt.Printf("%d flushes of 4 KiB in %s (one every %s at most)\n", h.TotalCount(), duration, every)
	fmt.Printf("p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.1f ms, longest %.1f ms\n",
		ms(h.ValueAtQuantile(50)), ms(h.ValueAtQuantile(90)), ms(h.ValueAtQuantile(99)), ms(h.ValueAtQuantile(99.9)),
		ms(longest.Microseconds()))
	fmt.Printf("over 20 ms: %d; over 50 ms: %d (one every %.1f s)\n", over20, over50, duration.Seconds()/float64(max(over50, 1)))
	return nil
}

func ms(us int64) float64 { return float64(us) / 1000 }
