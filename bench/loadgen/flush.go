package loadgen

import (
	"os"
	"path/filepath"
	"sync"
	"time"
)

// FlushProbe times a small write and disk flush in a directory at a steady
// pace, beside a benchmark. A durable commit waits for such a flush, so a
// flush that stalls stalls every commit behind it: the probe tells the
// disk's stalls apart from Surge's own tail.
type FlushProbe struct {
	mu      sync.Mutex
	samples []flushSample
	stop    chan struct{}
	done    chan struct{}
}

type flushSample struct {
	at   time.Time
	took time.Duration
}

// StartFlushProbe writes and flushes 4 KiB in dir every interval until Stop.
func StartFlushProbe(dir string, interval time.Duration) (*FlushProbe, error) {
	f, err := os.Create(filepath.Join(dir, "flush-probe"))
	if err != nil {
		return nil, err
	}
	p := &FlushProbe{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer f.Close()
		buf := make([]byte, 4096)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
			start := time.Now()
			if _, err := f.WriteAt(buf, 0); err != nil {
				return
			}
			if err := f.Sync(); err != nil {
				return
			}
			p.mu.Lock()
			p.samples = append(p.samples, flushSample{start, time.Since(start)})
			p.mu.Unlock()
		}
	}()
	return p, nil
}

// Stalls returns how many flushes that overlapped [from, to) took longer
// than over, and the longest of them.
func (p *FlushProbe) Stalls(from, to time.Time, over time.Duration) (n int, longest time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.samples {
		if !s.at.Before(to) || !s.at.Add(s.took).After(from) {
			continue
		}
		if s.took > over {
			n++
		}
		longest = max(longest, s.took)
	}
	return n, longest
}

// Flushes returns how long each flush begun in [from, to) took.
func (p *FlushProbe) Flushes(from, to time.Time) []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []time.Duration
	for _, s := range p.samples {
		if !s.at.Before(from) && s.at.Before(to) {
			out = append(out, s.took)
		}
	}
	return out
}

// Stop ends the probe.
func (p *FlushProbe) Stop() {
	close(p.stop)
	<-p.done
}
