package loadtest

import (
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds from 1 µs to 10 minutes with
// three significant digits (0.1 % relative error); per-second windows use
// two, which is plenty for a chart and ten times smaller.
const (
	histMin    = 1
	histMax    = int64(10 * time.Minute / time.Microsecond)
	histDigits = 3
	winDigits  = 2
)

// Percentiles are latencies in milliseconds.
type Percentiles struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// percentiles reads a histogram; maxUS is the exact maximum, which the
// histogram itself only knows to its precision.
func percentiles(h *hdrhistogram.Histogram, maxUS int64) Percentiles {
	if h.TotalCount() == 0 {
		return Percentiles{}
	}
	q := func(p float64) float64 { return round3(float64(min(h.ValueAtQuantile(p), maxUS)) / 1000) }
	return Percentiles{P50: q(50), P90: q(90), P99: q(99), P999: q(99.9), Max: round3(float64(maxUS) / 1000)}
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// window is one second of a phase, by completion time.
type window struct {
	hist         *hdrhistogram.Histogram
	maxUS        int64
	offered      int64
	opsOK        int64
	reqs, failed int64
	codes        map[string]int64
}

// Recorder collects the requests and operations of one phase (one step
// of a run). An operation is what one arrival does: a single request when
// browsing, a whole cart-and-checkout or a buyer's life in a flash sale.
type Recorder struct {
	mu             sync.Mutex
	start          time.Time
	total          *hdrhistogram.Histogram
	maxUS          int64
	reqs, failed   int64
	opsOK, opsFail int64
	offered        int64
	codes          map[string]int64
	errors         map[string]int64
	windows        []*window
	lastDone       time.Time
	ops            map[string]*opStat
}

// NewRecorder starts a phase at start.
func NewRecorder(start time.Time) *Recorder {
	return &Recorder{start: start, total: hdrhistogram.New(histMin, histMax, histDigits),
		codes: map[string]int64{}, errors: map[string]int64{}, lastDone: start, ops: map[string]*opStat{}}
}

func (r *Recorder) window(t time.Time) *window {
	i := max(int(t.Sub(r.start)/time.Second), 0)
	for len(r.windows) <= i {
		r.windows = append(r.windows, &window{hist: hdrhistogram.New(histMin, histMax, winDigits), codes: map[string]int64{}})
	}
	return r.windows[i]
}

// Offered counts one scheduled arrival.
func (r *Recorder) Offered(at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.offered++
	r.window(at).offered++
}

// Record adds one request that started (was scheduled) at start and ended
// at end. code is the HTTP status (0 for none); errKind is empty for a
// success, else why it failed or was refused.
func (r *Recorder) Record(start, end time.Time, code int, errKind string, failed bool) {
	r.RecordOp("", start, end, code, errKind, failed)
}

// RecordOp is Record for a request of a named operation (see
// operationOf); an empty name counts it in no operation.
func (r *Recorder) RecordOp(op string, start, end time.Time, code int, errKind string, failed bool) {
	us := min(max(end.Sub(start).Microseconds(), histMin), histMax)
	r.mu.Lock()
	defer r.mu.Unlock()
	if op != "" {
		if r.ops[op] == nil {
			r.ops[op] = newOpStat()
		}
		r.ops[op].add(us, failed)
	}
	w := r.window(end)
	_ = r.total.RecordValue(us)
	_ = w.hist.RecordValue(us)
	r.maxUS = max(r.maxUS, us)
	w.maxUS = max(w.maxUS, us)
	c := "none"
	if code > 0 {
		c = strconv.Itoa(code)
	}
	r.codes[c]++
	w.codes[c]++
	if errKind != "" {
		r.errors[errKind]++
	}
	r.reqs++
	w.reqs++
	if failed {
		r.failed++
		w.failed++
	}
	if end.After(r.lastDone) {
		r.lastDone = end
	}
}

// OpDone counts a finished operation; ok means it reached a definite
// answer for its user without an error.
func (r *Recorder) OpDone(end time.Time, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ok {
		r.opsOK++
		r.window(end).opsOK++
	} else {
		r.opsFail++
	}
}

// Drop counts an arrival the client could not start (saturated): a failed
// request and a failed operation.
func (r *Recorder) Drop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors["client_saturated"]++
	r.reqs++
	r.failed++
	r.opsFail++
}

// Live is a snapshot for the progress line.
type Live struct {
	Elapsed              time.Duration
	Offered, OpsOK       int64
	Requests, FailedReqs int64
	Latency              Percentiles
}

// Live returns the phase so far.
func (r *Recorder) Live(now time.Time) Live {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Live{Elapsed: now.Sub(r.start), Offered: r.offered, OpsOK: r.opsOK,
		Requests: r.reqs, FailedReqs: r.failed, Latency: percentiles(r.total, r.maxUS)}
}

// Point is one second of a phase.
type Point struct {
	// T is seconds since the start of the run.
	T float64 `json:"t"`
	// OfferedRate and AchievedRate are per second: arrivals scheduled in
	// this second, operations completed without error in it.
	OfferedRate  float64 `json:"offered_rate"`
	AchievedRate float64 `json:"achieved_rate"`
	// Requests completed in this second; Errors of them failed.
	Requests    int64            `json:"requests"`
	Errors      int64            `json:"errors"`
	Latency     Percentiles      `json:"latency_ms"`
	StatusCodes map[string]int64 `json:"status_codes"`
}

// Summary is a finished phase.
type Summary struct {
	Offered, OpsOK, OpsFail int64
	Requests, FailedReqs    int64
	Elapsed                 time.Duration
	Latency                 Percentiles
	Codes, Errors           map[string]int64
	Series                  []Point
	// Ops are the phase's requests by operation.
	Ops map[string]*opStat
}

// Summary closes the phase; offset places its series on the run's clock.
func (r *Recorder) Summary(d time.Duration, offset time.Duration) Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Summary{Offered: r.offered, OpsOK: r.opsOK, OpsFail: r.opsFail, Requests: r.reqs, FailedReqs: r.failed, Latency: percentiles(r.total, r.maxUS),
		Codes: copyMap(r.codes), Errors: copyMap(r.errors), Elapsed: max(d, r.lastDone.Sub(r.start)), Ops: map[string]*opStat{}}
	for name, o := range r.ops {
		c := newOpStat()
		c.merge(o)
		s.Ops[name] = c
	}
	for i, w := range r.windows {
		s.Series = append(s.Series, Point{T: (offset + time.Duration(i)*time.Second).Seconds(), OfferedRate: float64(w.offered),
			AchievedRate: float64(w.opsOK), Requests: w.reqs, Errors: w.failed, Latency: percentiles(w.hist, w.maxUS), StatusCodes: copyMap(w.codes)})
	}
	return s
}

func copyMap(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// sortedKeys returns a map's keys in order, for stable output.
func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
