package loadtest

import (
	"sort"
	"strings"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// OperationReport is one kind of request a scenario makes (sign-up, cart,
// checkout, order poll, ...): how many, how many failed, their latency
// and rate. A scenario's operations are the requests of its arrivals,
// named by what they do, so a slow checkout is not hidden among fast
// product reads.
type OperationReport struct {
	Name     string  `json:"name"`
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	P50      float64 `json:"p50"`
	P95      float64 `json:"p95"`
	P99      float64 `json:"p99"`
	Max      float64 `json:"max"`
	// Rate is requests per second of the phase (or of the whole
	// scenario's phases, at scenario level).
	Rate float64 `json:"rate"`
}

// opStat accumulates one operation's requests.
type opStat struct {
	hist     *hdrhistogram.Histogram
	maxUS    int64
	requests int64
	errors   int64
}

func newOpStat() *opStat {
	return &opStat{hist: hdrhistogram.New(histMin, histMax, histDigits)}
}

func (o *opStat) add(us int64, failed bool) {
	_ = o.hist.RecordValue(us)
	o.maxUS = max(o.maxUS, us)
	o.requests++
	if failed {
		o.errors++
	}
}

func (o *opStat) merge(other *opStat) {
	o.hist.Merge(other.hist)
	o.maxUS = max(o.maxUS, other.maxUS)
	o.requests += other.requests
	o.errors += other.errors
}

// operationReports lists ops by name; secs is the time they were measured over.
func operationReports(ops map[string]*opStat, secs float64) []OperationReport {
	out := []OperationReport{}
	for name, o := range ops {
		q := func(p float64) float64 { return round3(float64(min(o.hist.ValueAtQuantile(p), o.maxUS)) / 1000) }
		r := OperationReport{Name: name, Requests: o.requests, Errors: o.errors,
			P50: q(50), P95: q(95), P99: q(99), Max: round3(float64(o.maxUS) / 1000)}
		if secs > 0 {
			r.Rate = round3(float64(o.requests) / secs)
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// operationOf names a request by what it does for the user. The path is
// the one the scenarios call, /v1/shops/{shop}/...; query strings do not
// change the name.
func operationOf(method, path string) string {
	path, _, _ = strings.Cut(path, "?")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 4 || parts[0] != "v1" || parts[1] != "shops" {
		return "other"
	}
	rest := parts[3:]
	switch {
	case rest[0] == "customers" && method == "POST":
		return "signup"
	case rest[0] == "carts":
		return "cart"
	case rest[0] == "checkout":
		return "checkout"
	case rest[0] == "orders" && method == "GET":
		return "poll"
	case rest[0] == "sales" && len(rest) == 3 && rest[2] == "queue":
		return "queue"
	case method == "GET" && (rest[0] == "products" || rest[0] == "search"):
		return "browse"
	}
	return "other"
}

// scenarioOperations merges the steps' operations.
func scenarioOperations(steps []StepReport) []OperationReport {
	all := map[string]*opStat{}
	var secs float64
	for _, st := range steps {
		secs += st.ElapsedSeconds
		for name, o := range st.ops {
			if all[name] == nil {
				all[name] = newOpStat()
			}
			all[name].merge(o)
		}
	}
	return operationReports(all, secs)
}
