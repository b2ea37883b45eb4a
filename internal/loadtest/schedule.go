package loadtest

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Profile is an arrival rate (per second) as a function of the time since
// the start of a phase.
type Profile func(elapsed time.Duration) float64

// Constant is a fixed arrival rate.
func Constant(rate float64) Profile {
	return func(time.Duration) float64 { return rate }
}

// Ramp rises linearly from `from` to `to` over d.
func Ramp(from, to float64, d time.Duration) Profile {
	return func(e time.Duration) float64 {
		if d <= 0 || e >= d {
			return to
		}
		return from + (to-from)*float64(e)/float64(d)
	}
}

// Arrivals returns the scheduled arrival offsets of a profile over d. It is
// computed up front from the profile alone, so the schedule is the same
// however slowly the server, or this machine, answers.
func Arrivals(p Profile, d time.Duration) []time.Duration {
	var out []time.Duration
	for at := time.Duration(0); at < d; {
		out = append(out, at)
		r := p(at)
		if r <= 0 {
			break
		}
		at += time.Duration(float64(time.Second) / r)
	}
	return out
}

// lateAfter is how far behind its schedule an arrival may start before it
// counts as late: beyond it the load generator itself is the bottleneck.
const lateAfter = 10 * time.Millisecond

// ClientStats says whether the load generator kept up with its schedule.
// A saturated client under-offers load, so it is reported, never hidden.
type ClientStats struct {
	// Scheduled arrivals in the phase; Started of them got a goroutine;
	// Dropped found MaxInFlight operations already running.
	Scheduled int64 `json:"scheduled"`
	Started   int64 `json:"started"`
	Dropped   int64 `json:"dropped"`
	// Late arrivals started more than 10 ms after their scheduled time;
	// MaxStartLagMS is the worst such lag in milliseconds.
	Late          int64   `json:"late_starts"`
	MaxStartLagMS float64 `json:"max_start_lag_ms"`
	// MaxInFlight is the most operations running at once; AllConnsBusy
	// counts arrivals that found every connection already in use (they
	// wait for one, and that wait is part of their latency).
	MaxInFlight  int64 `json:"max_in_flight"`
	AllConnsBusy int64 `json:"arrivals_all_connections_busy"`
	// Cancelled operations were still running when the drain timed out.
	Cancelled int64 `json:"cancelled"`
	// Saturated is true when the client, not the server, limited the
	// offered load: any drop, more than 10 % of arrivals (and more than 5)
	// started late, or one started over a second late. Occasional late
	// starts are scheduling noise on a busy machine; their latency still
	// counts from the schedule, so they hide nothing.
	Saturated bool `json:"saturated"`
}

// scheduler issues operations on a fixed arrival schedule (open model):
// an arrival is never delayed by earlier responses, and every latency is
// counted from the scheduled time, so a stalled server cannot hide its
// stall by slowing the client down (no coordinated omission).
type scheduler struct {
	maxInFlight int64
	conns       int64
	drain       time.Duration
	inFlight    atomic.Int64
}

// hooks are told about every arrival: scheduled, and dropped because
// the client was saturated.
type hooks struct {
	scheduled func(at time.Time)
	dropped   func()
}

// run issues op for every arrival of p over d from start and waits for
// the operations to finish (at most s.drain past the end, then cancels
// them).
func (s *scheduler) run(ctx context.Context, start time.Time, p Profile, d time.Duration, h hooks, op func(ctx context.Context, i int, at time.Time)) ClientStats {
	arrivals := Arrivals(p, d)
	st := ClientStats{Scheduled: int64(len(arrivals))}
	opCtx, cancelOps := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelOps()
	var wg sync.WaitGroup
	var cancelled atomic.Int64
	for i, off := range arrivals {
		at := start.Add(off)
		if wait := time.Until(at); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			st.Scheduled = int64(i)
			break
		}
		h.scheduled(at)
		if lag := time.Since(at); lag > lateAfter {
			st.Late++
			st.MaxStartLagMS = max(st.MaxStartLagMS, ms(lag))
		}
		n := s.inFlight.Load()
		if n >= s.maxInFlight {
			st.Dropped++
			h.dropped()
			continue
		}
		if n >= s.conns {
			st.AllConnsBusy++
		}
		// Only this loop adds, so the maximum is seen here.
		st.MaxInFlight = max(st.MaxInFlight, s.inFlight.Add(1))
		st.Started++
		wg.Go(func() {
			defer s.inFlight.Add(-1)
			op(opCtx, i, at)
			if opCtx.Err() != nil {
				cancelled.Add(1)
			}
		})
	}
	if ctx.Err() != nil {
		cancelOps() // interrupted: stop now rather than drain
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(s.drain)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		cancelOps()
		<-done
	}
	st.Cancelled = cancelled.Load()
	st.Saturated = st.Dropped > 0 || (st.Late > 5 && st.Late*10 > st.Scheduled) || st.MaxStartLagMS > 1000
	return st
}

func ms(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}
