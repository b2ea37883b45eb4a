package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"

	"github.com/surge-commerce/surge/bench/loadgen"
)

// client drives one Surge over loopback and reads its metrics.
type client struct {
	pid   int // Surge's
	flush *loadgen.FlushProbe
	base  string
	http  *http.Client // setup and metrics
	// fast sends the checkouts. At 4× the generator sends thousands of
	// requests a second on the cores Surge needs; net/http's client hands
	// each one between three goroutines, fasthttp's uses the caller's
	// (0.23–0.30 of a core at 4× instead of 0.34–0.38).
	fast   *fasthttp.Client
	tokens []string
	seq    atomic.Int64
}

func (c *client) post(path, key, body string, header ...string) (int, []byte, error) {
	return loadgen.Do(c.http, "POST", c.base+path, key, body, header...)
}

// setup creates a shop with ten well-stocked products and 500 customers.
func (c *client) setup() error {
	code, body, err := c.post("/v1/admin/shops", "bench-admin-key-0123456789abcdef", `{"slug":"bench","name":"Bench"}`)
	if err != nil || code != 201 {
		return fmt.Errorf("create shop: %d %s %v", code, body, err)
	}
	var shop struct {
		APIKey string `json:"api_key"`
	}
	_ = json.Unmarshal(body, &shop)
	for i := range 10 {
		req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/v1/shops/bench/admin/products/SKU-%d", c.base, i),
			bytes.NewBufferString(`{"title":"Item","price":1000,"currency":"EUR","stock":100000000}`))
		req.Header.Set("Authorization", "Bearer "+shop.APIKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.http.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
	}
	for range 500 {
		code, body, err := c.post("/v1/shops/bench/customers", "", "")
		if err != nil || code != 201 {
			return fmt.Errorf("create customer: %d %v", code, err)
		}
		var cu struct{ Token string }
		_ = json.Unmarshal(body, &cu)
		c.tokens = append(c.tokens, cu.Token)
	}
	return nil
}

func (c *client) checkout() (int, error) {
	n := c.seq.Add(1)
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(c.base + "/v1/shops/bench/checkout")
	req.Header.SetMethod(http.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set("Authorization", "Bearer "+c.tokens[n%int64(len(c.tokens))])
	req.Header.Set("Idempotency-Key", "k"+strconv.FormatInt(n, 10))
	req.SetBodyString(`{"items":[{"sku":"SKU-` + strconv.FormatInt(n%10, 10) + `","quantity":1}]}`)
	if err := c.fast.DoTimeout(req, resp, 30*time.Second); err != nil {
		return 0, err
	}
	return resp.StatusCode(), nil
}

func (c *client) closedLoop(workers int, d time.Duration) (float64, *hdrhistogram.Histogram) {
	var ok atomic.Int64
	var mu sync.Mutex
	h := hdrhistogram.New(1, 60_000_000, 3)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				start := time.Now()
				code, err := c.checkout()
				if err == nil && code < 300 {
					ok.Add(1)
					mu.Lock()
					_ = h.RecordValue(time.Since(start).Microseconds())
					mu.Unlock()
				} else {
					// A real client backs off when shed; one that retried at
					// once would measure how fast the server says no.
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	return float64(ok.Load()) / d.Seconds(), h
}

type result struct {
	admitted *hdrhistogram.Histogram
	// sendLate is how long after its scheduled time each request was
	// handed to the HTTP client: the generator's own delay, which the
	// admitted latency includes.
	sendLate              *hdrhistogram.Histogram
	ok, shed, other, late int64
	// genCPU and surgeCPU are the cores the load generator and Surge
	// used during the step: on a shared machine the generator's share is
	// taken from Surge's.
	genCPU, surgeCPU float64
	// writerBusy is the share of the step during which a group of writes
	// held SQLite's one writer: near 1, the writer bounds capacity.
	writerBusy float64
	// flush and flushP50 are the longest and the median disk flush of the
	// probe during the step: every commit waits for a flush, so a slow or
	// stalled disk holds them all, whatever Surge does.
	flush, flushP50 time.Duration
}

// open offers rate checkouts per second for d on a fixed schedule.
func (c *client) open(rate float64, d time.Duration) result {
	r := result{admitted: hdrhistogram.New(1, 60_000_000, 3), sendLate: hdrhistogram.New(1, 60_000_000, 3)}
	gen0, surge0, writer0 := loadgen.CPU(os.Getpid()), loadgen.CPU(c.pid), c.writerHeld()
	var mu sync.Mutex
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	sem := make(chan struct{}, 4096) // client-side bound on requests in flight
	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * interval)
		if at.Sub(start) >= d {
			break
		}
		time.Sleep(time.Until(at))
		select {
		case sem <- struct{}{}:
		default:
			mu.Lock()
			r.late++ // the client could not issue on time: reported, not hidden
			mu.Unlock()
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			late := time.Since(at)
			code, err := c.checkout()
			lat := time.Since(at) // from the schedule, not from the send
			mu.Lock()
			defer mu.Unlock()
			_ = r.sendLate.RecordValue(late.Microseconds())
			switch {
			case err == nil && code < 300:
				r.ok++
				_ = r.admitted.RecordValue(lat.Microseconds())
			case code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests:
				r.shed++
			default:
				r.other++
			}
		})
	}
	wg.Wait()
	took := time.Since(start).Seconds()
	r.genCPU = (loadgen.CPU(os.Getpid()) - gen0).Seconds() / took
	r.surgeCPU = (loadgen.CPU(c.pid) - surge0).Seconds() / took
	r.writerBusy = (c.writerHeld() - writer0) / took
	_, r.flush = c.flush.Stalls(start, time.Now(), 0)
	if f := c.flush.Flushes(start, time.Now()); len(f) > 0 {
		slices.Sort(f)
		r.flushP50 = f[len(f)/2]
	}
	return r
}

// writerHeld is how long groups of writes have held SQLite's writer so far,
// in seconds.
func (c *client) writerHeld() float64 {
	var v float64
	fmt.Sscan(c.metric("surge_db_writer_commit_seconds_sum"), &v)
	return v
}

// settle waits until the events of earlier steps are all published and
// handled (no outbox lag, consumers' counts still for a second), so each
// step starts from a quiet system rather than one catching up. It returns
// how long that took: a capacity whose effects need long to catch up is not
// one the system can sustain.
func (c *client) settle() time.Duration {
	start := time.Now()
	deadline := start.Add(time.Minute)
	last := ""
	for time.Now().Before(deadline) {
		resp, err := c.http.Get(c.base + "/metrics")
		if err != nil {
			return time.Since(start)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var counts strings.Builder
		quiet := false
		for line := range strings.Lines(string(b)) {
			if strings.HasPrefix(line, "surge_consumer_processed_total") {
				counts.WriteString(line)
			}
			if line == "surge_outbox_lag_seconds 0\n" {
				quiet = true
			}
		}
		if quiet && counts.String() == last {
			// The counts stood still for the last second: they were done then.
			return max(0, time.Since(start)-time.Second)
		}
		last = counts.String()
		time.Sleep(time.Second)
	}
	fmt.Println("  (events still being handled after a minute; going on)")
	return time.Since(start)
}

// sheds sums surge_shed_total by reason.
func (c *client) sheds() map[string]float64 {
	out := map[string]float64{}
	resp, err := c.http.Get(c.base + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	re := regexp.MustCompile(`(?m)^surge_shed_total\{[^}]*reason="([^"]+)"[^}]*\} (\S+)$`)
	for _, m := range re.FindAllSubmatch(b, -1) {
		var v float64
		fmt.Sscan(string(m[2]), &v)
		out[string(m[1])] += v
	}
	return out
}

// metric returns one unlabelled metric's value from /metrics.
func (c *client) metric(name string) string {
	resp, err := c.http.Get(c.base + "/metrics")
	if err != nil {
		return "?"
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return "?"
}
