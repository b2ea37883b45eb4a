package drill

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/surge-commerce/surge/internal/cluster"
	"github.com/surge-commerce/surge/internal/loadtest"
)

// soakMetrics are what a leak would make climb: the Go heap in use,
// goroutines, open descriptors and the resident set.
var soakMetrics = []string{"go_memstats_heap_inuse_bytes", "go_goroutines", "process_open_fds", "process_resident_memory_bytes"}

// SoakOptions are a soak's load and sampling.
type SoakOptions struct {
	Duration time.Duration // of the steady load
	Every    time.Duration // between samples of each process's /metrics
	Rate     float64       // checkouts offered per second
	Seed     uint64
	Out      string // soak.json goes here
}

// Trend is one metric of one process over the soak.
type Trend struct {
	Process string  `json:"process"`
	Metric  string  `json:"metric"`
	Samples int     `json:"samples"`
	First   float64 `json:"first"`
	Last    float64 `json:"last"`
	Mean    float64 `json:"mean"`
	// PerHour is the least-squares slope; Drift is that slope over the
	// whole soak and Noise three standard errors of it, both in the
	// metric's unit.
	PerHour float64 `json:"slope_per_hour"`
	Drift   float64 `json:"drift"`
	Noise   float64 `json:"noise"`
	Verdict string  `json:"verdict"`
	// Points are the samples fitted: seconds into the load, value.
	Points [][2]float64 `json:"points"`
}

// SoakResult is a soak's report.
type SoakResult struct {
	Rate         float64 `json:"rate"`
	Seconds      float64 `json:"seconds"`
	Acknowledged int     `json:"acknowledged_orders"`
	Lost         int     `json:"lost_orders"`
	AuditPassed  bool    `json:"audit_passed"`
	Trends       []Trend `json:"trends"`
	// Passed: nothing lost, the audit passed and every trend is flat.
	Passed bool `json:"passed"`
}

// flat is the verdict of a metric that does not climb.
const flat = "flat within noise"

// Soak runs the steady checkout load for o.Duration and samples every
// Surge process's /metrics each o.Every while the load lasts. The first
// fifth is warm-up (pools, caches and the garbage collector's target
// growing to the load) and is not fitted. A metric is flat when its
// least-squares drift over the rest is within three standard errors of
// the slope, or under 5% of its mean (a heap that breathes is not a leak).
func Soak(ctx context.Context, c *cluster.Cluster, o SoakOptions, stderr io.Writer) (SoakResult, error) {
	res := SoakResult{Rate: o.Rate}
	type key struct{ process, metric string }
	var (
		samples = map[key][][2]float64{}
		t0      time.Time
		wg      sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// samples belongs to the sampler until wg.Wait.
	started := make(chan struct{})
	wg.Go(func() {
		select {
		case <-started:
		case <-ctx.Done():
			return
		}
		tick := time.NewTicker(o.Every)
		defer tick.Stop()
		for time.Since(t0) <= o.Duration {
			for _, p := range c.Surge() {
				if time.Since(t0) < o.Duration/5 {
					break
				}
				vals, err := scrape(ctx, p.URL+"/metrics")
				if err != nil {
					fmt.Fprintf(stderr, "soak: %s: %v\n", p.Name, err)
					continue
				}
				at := time.Since(t0).Seconds()
				for m, v := range vals {
					k := key{p.Name, m}
					samples[k] = append(samples[k], [2]float64{at, v})
				}
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	})
	cfg := loadConfig(c, o.Rate, o.Duration, o.Seed, o.Out)
	cfg.OnLoad = func(t time.Time) { t0 = t; close(started) }
	rep, err := loadtest.Run(ctx, cfg, io.Discard, stderr)
	cancel()
	wg.Wait()
	if rep == nil {
		return res, fmt.Errorf("soak: load: %w", err)
	}
	sr := rep.Scenarios[0]
	if sr.Acknowledged != nil {
		res.Acknowledged, res.Lost = *sr.Acknowledged, *sr.Lost
	}
	res.AuditPassed = rep.Audit.Passed
	res.Seconds = o.Duration.Seconds()
	res.Passed = res.Lost == 0 && res.AuditPassed && res.Acknowledged > 0
	for _, p := range c.Surge() {
		for _, m := range soakMetrics {
			tr := trend(samples[key{p.Name, m}])
			tr.Process, tr.Metric = p.Name, m
			res.Trends = append(res.Trends, tr)
			res.Passed = res.Passed && tr.Verdict == flat
		}
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return res, err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return res, err
	}
	return res, os.WriteFile(filepath.Join(o.Out, "soak.json"), append(b, '\n'), 0o644)
}

// trend fits v = a + b·t by least squares over (t, v) samples.
func trend(pts [][2]float64) Trend {
	tr := Trend{Samples: len(pts), Verdict: "too few samples", Points: pts}
	n := float64(len(pts))
	if len(pts) < 3 {
		return tr
	}
	var st, sv float64
	for _, p := range pts {
		st, sv = st+p[0], sv+p[1]
	}
	mt, mv := st/n, sv/n
	var stt, stv float64
	for _, p := range pts {
		stt += (p[0] - mt) * (p[0] - mt)
		stv += (p[0] - mt) * (p[1] - mv)
	}
	if stt == 0 {
		return tr
	}
	b := stv / stt
	var sse float64
	for _, p := range pts {
		r := p[1] - (mv + b*(p[0]-mt))
		sse += r * r
	}
	span := pts[len(pts)-1][0] - pts[0][0]
	tr.First, tr.Last, tr.Mean = pts[0][1], pts[len(pts)-1][1], mv
	tr.PerHour, tr.Drift = b*3600, b*span
	tr.Noise = 3 * math.Sqrt(sse/(n-2)/stt) * span
	tr.Verdict = flat
	// Goroutines and descriptors are counts: a drift under two is one of
	// them held from some point on, a step, not a climb (the 30-minute
	// soak flagged 22 descriptors at both ends that way).
	if tr.Drift > tr.Noise && tr.Drift > 0.05*math.Abs(mv) && tr.Drift >= 2 {
		tr.Verdict = "climbing"
	}
	return tr
}

// scrape reads the soak's metrics from a Prometheus text page; they are
// plain gauges without labels.
func scrape(ctx context.Context, url string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		for _, m := range soakMetrics {
			if f[0] == m {
				if v, err := strconv.ParseFloat(f[1], 64); err == nil {
					out[m] = v
				}
			}
		}
	}
	return out, sc.Err()
}
