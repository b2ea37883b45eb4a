package loadtest

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// oneGet is an operation of one GET through the session, so its latency
// is measured from the scheduled arrival.
func oneGet(c *client, rec *Recorder) func(ctx context.Context, i int, at time.Time) {
	return func(ctx context.Context, i int, at time.Time) {
		s := &session{c: c, rec: rec, i: i, next: at}
		r := s.do(ctx, "GET", "/", "", nil)
		rec.OpDone(time.Now(), !r.failed())
	}
}

func TestArrivals(t *testing.T) {
	if n := len(Arrivals(Constant(200), 3*time.Second)); n != 600 {
		t.Fatalf("constant 200/s for 3s: %d arrivals, want 600", n)
	}
	// A ramp from 5/s to 20/s over 4 s offers its integral: 50 arrivals.
	if n := len(Arrivals(Ramp(5, 20, 4*time.Second), 4*time.Second)); math.Abs(float64(n)-50) > 1 {
		t.Fatalf("ramp: %d arrivals, want 50±1", n)
	}
	a := Arrivals(Constant(100), time.Second)
	for i := 1; i < len(a); i++ {
		if a[i]-a[i-1] != 10*time.Millisecond {
			t.Fatalf("arrival %d is %v after the previous, want 10ms", i, a[i]-a[i-1])
		}
	}
}

// TestSchedulerAccuracy offers 200/s for 3 s to a fast server. The
// schedule is absolute, so a dispatcher delayed by a busy machine catches
// up instead of offering less: what is asserted are counts (scheduled,
// received by the server, answered), which do not depend on timing.
func TestSchedulerAccuracy(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	c := newClient(srv.URL, 64, 30*time.Second)
	defer c.close()
	const rate, d = 200.0, 3 * time.Second
	start := time.Now()
	rec := NewRecorder(start)
	sched := &scheduler{maxInFlight: 10_000, conns: 64, drain: time.Minute}
	cs := sched.run(context.Background(), start, Constant(rate), d, hooks{scheduled: rec.Offered, dropped: rec.Drop}, oneGet(c, rec))
	sum := rec.Summary(d, 0)
	offered := rate * d.Seconds()
	if cs.Scheduled != int64(offered) || sum.Offered != cs.Scheduled {
		t.Fatalf("scheduled %d (recorded %d), want %.0f", cs.Scheduled, sum.Offered, offered)
	}
	if cs.Dropped != 0 || cs.Started != cs.Scheduled {
		t.Fatalf("started %d dropped %d of %d", cs.Started, cs.Dropped, cs.Scheduled)
	}
	if got := float64(served.Load()); math.Abs(got-offered)/offered > 0.02 {
		t.Fatalf("server received %.0f requests, want within 2%% of %.0f", got, offered)
	}
	if got := float64(sum.OpsOK); math.Abs(got-offered)/offered > 0.02 {
		t.Fatalf("achieved %.0f operations, want within 2%% of %.0f", got, offered)
	}
	if sum.Codes["204"] != sum.Requests || sum.FailedReqs != 0 {
		t.Fatalf("status codes %v, %d failed of %d", sum.Codes, sum.FailedReqs, sum.Requests)
	}
}

// TestStallShowsInP99 stalls 20 of 100 requests for 1 s each behind only
// 5 connections. Measured from the schedule, the stall shows in full: p99
// is at least 1 s, and the requests that queued for a connection behind
// the stalled ones show their wait (the last of the 20 cannot finish
// before four 1-second rounds on 5 connections, about 2.8 s after it was
// scheduled). A tool timing from the send would report only 1 s.
func TestStallShowsInP99(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if i := n.Add(1); i > 40 && i <= 60 {
			time.Sleep(time.Second) // the stall under test
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	c := newClient(srv.URL, 5, 30*time.Second)
	defer c.close()
	const d = 2 * time.Second
	start := time.Now()
	rec := NewRecorder(start)
	sched := &scheduler{maxInFlight: 10_000, conns: 5, drain: time.Minute}
	cs := sched.run(context.Background(), start, Constant(50), d, hooks{scheduled: rec.Offered, dropped: rec.Drop}, oneGet(c, rec))
	sum := rec.Summary(d, 0)
	if sum.Requests != 100 || sum.OpsOK != 100 {
		t.Fatalf("%d requests, %d ok; want 100", sum.Requests, sum.OpsOK)
	}
	if sum.Latency.P99 < 1000 {
		t.Fatalf("p99 %.1f ms hides a 1 s stall", sum.Latency.P99)
	}
	if sum.Latency.Max < 2500 {
		t.Fatalf("max %.1f ms: the wait for a connection was not counted", sum.Latency.Max)
	}
	if cs.AllConnsBusy == 0 || cs.MaxInFlight <= 5 {
		t.Fatalf("client stats %+v do not show the connections exhausted", cs)
	}
}
