package loadtest

import (
	"math"
	"testing"
	"time"
)

func record(r *Recorder, d time.Duration) {
	r.Record(r.start, r.start.Add(d), 200, "", false)
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > want*0.002 {
		t.Errorf("%s = %.3f ms, want %.3f ms (±0.2 %%)", what, got, want)
	}
}

func TestPercentilesUniform(t *testing.T) {
	r := NewRecorder(time.Now())
	for us := 1; us <= 100_000; us++ { // 1 µs .. 100 ms, once each
		record(r, time.Duration(us)*time.Microsecond)
	}
	p := r.Summary(time.Second, 0).Latency
	near(t, "p50", p.P50, 50)
	near(t, "p90", p.P90, 90)
	near(t, "p99", p.P99, 99)
	near(t, "p999", p.P999, 99.9)
	if p.Max != 100 {
		t.Errorf("max = %v ms, want exactly 100", p.Max)
	}
}

func TestPercentilesConstant(t *testing.T) {
	r := NewRecorder(time.Now())
	for range 1000 {
		record(r, 5*time.Millisecond)
	}
	p := r.Summary(time.Second, 0).Latency
	for name, v := range map[string]float64{"p50": p.P50, "p90": p.P90, "p99": p.P99, "p999": p.P999, "max": p.Max} {
		near(t, name, v, 5)
	}
}

// TestPercentilesTail: 1 % of requests at 1 s are invisible at p99 but
// must dominate p999 and max.
func TestPercentilesTail(t *testing.T) {
	r := NewRecorder(time.Now())
	for i := range 10_000 {
		d := time.Millisecond
		if i%100 == 0 {
			d = time.Second
		}
		record(r, d)
	}
	p := r.Summary(time.Second, 0).Latency
	near(t, "p50", p.P50, 1)
	near(t, "p99", p.P99, 1)
	near(t, "p999", p.P999, 1000)
	near(t, "max", p.Max, 1000)
}

func TestRecorderCounts(t *testing.T) {
	start := time.Now()
	r := NewRecorder(start)
	r.Offered(start)
	r.Offered(start.Add(1500 * time.Millisecond))
	r.Record(start, start.Add(10*time.Millisecond), 200, "", false)
	r.Record(start, start.Add(1200*time.Millisecond), 503, "http_503_unavailable", true)
	r.OpDone(start.Add(10*time.Millisecond), true)
	r.OpDone(start.Add(1200*time.Millisecond), false)
	r.Drop()
	s := r.Summary(2*time.Second, 10*time.Second)
	if s.Offered != 2 || s.OpsOK != 1 || s.OpsFail != 2 || s.Requests != 3 || s.FailedReqs != 2 {
		t.Fatalf("summary %+v", s)
	}
	if s.Codes["200"] != 1 || s.Codes["503"] != 1 || s.Errors["http_503_unavailable"] != 1 || s.Errors["client_saturated"] != 1 {
		t.Fatalf("codes %v errors %v", s.Codes, s.Errors)
	}
	if len(s.Series) != 2 || s.Series[0].T != 10 || s.Series[1].T != 11 || s.Series[0].AchievedRate != 1 || s.Series[1].Errors != 1 {
		t.Fatalf("series %+v", s.Series)
	}
}
