// Command overload measures goodput under overload: it finds Surge's
// checkout capacity C (closed loop), then offers 1×, 2× and 4× C on a fixed
// arrival schedule (open model: latency counted from the scheduled time, so
// a slow server cannot hide behind a slow client) and reports goodput ÷ C
// and admitted p99 ÷ unloaded p99. Loopback only, bounded in time.
//
//	go run ./bench/overload [-step 5s]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/surge-commerce/surge/bench/loadgen"
)

func main() {
	step := flag.Duration("step", 5*time.Second, "duration of each load step")
	flag.Parse()
	if err := run(*step); err != nil {
		fmt.Fprintln(os.Stderr, "overload:", err)
		os.Exit(1)
	}
}

func run(step time.Duration) error {
	dir, err := os.MkdirTemp("", "surge-overload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "surge")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/surge").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data"))
	cmd.Env = append(os.Environ(), "SURGE_ADMIN_KEY=bench-admin", "SURGE_RATE_LIMITS=off", "SURGE_ACCESS_LOG=false")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	base, err := listenURL(stdout)
	if err != nil {
		return err
	}
	c := &client{base: base, http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4096}}}
	if err := c.setup(); err != nil {
		return err
	}

	capacity := c.closedLoop(16, step)
	fmt.Printf("capacity (closed loop, 16 clients, %s): %.0f checkouts/s\n", step, capacity)
	base0 := c.open(capacity*0.3, step)
	fmt.Printf("unloaded (0.3×C): p99 %.1f ms\n\n", ms(base0.admitted.ValueAtQuantile(99)))
	fmt.Println("offered  goodput/C  admitted p99 / unloaded p99  2xx     503 shed  other  client late")
	for _, k := range []float64{1, 2, 4} {
		r := c.open(capacity*k, step)
		goodput := float64(r.ok) / step.Seconds()
		fmt.Printf("%.0f×      %.2f       %.2f                        %-7d %-9d %-6d %d   (shed limit %s)\n", k, goodput/capacity,
			float64(r.admitted.ValueAtQuantile(99))/float64(max(base0.admitted.ValueAtQuantile(99), 1)), r.ok, r.shed, r.other, r.late, c.metric("surge_shed_limit"))
	}
	return nil
}

func ms(us int64) float64 { return float64(us) / 1000 }

var listenLine = regexp.MustCompile(`listening on (http://\S+)`)

func listenURL(r io.Reader) (string, error) {
	buf := make([]byte, 0, 4096)
	tmp := make([]byte, 512)
	for {
		n, err := r.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if m := listenLine.FindSubmatch(buf); m != nil {
			go io.Copy(io.Discard, r)
			return string(m[1]), nil
		}
		if err != nil {
			return "", fmt.Errorf("surge did not start: %s", buf)
		}
	}
}

type client struct {
	base   string
	http   *http.Client
	tokens []string
	seq    atomic.Int64
}

func (c *client) post(path, key, body string, header ...string) (int, []byte, error) {
	return loadgen.Do(c.http, "POST", c.base+path, key, body, header...)
}

// setup creates a shop with ten well-stocked products and 500 customers.
func (c *client) setup() error {
	code, body, err := c.post("/v1/admin/shops", "bench-admin", `{"slug":"bench","name":"Bench"}`)
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
	code, _, err := c.post("/v1/shops/bench/checkout", c.tokens[n%int64(len(c.tokens))],
		fmt.Sprintf(`{"items":[{"sku":"SKU-%d","quantity":1}]}`, n%10), "Idempotency-Key", fmt.Sprintf("k%d", n))
	return code, err
}

func (c *client) closedLoop(workers int, d time.Duration) float64 {
	var ok atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if code, err := c.checkout(); err == nil && code < 300 {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return float64(ok.Load()) / d.Seconds()
}

type result struct {
	admitted              *hdrhistogram.Histogram
	ok, shed, other, late int64
}

// open offers rate checkouts per second for d on a fixed schedule.
func (c *client) open(rate float64, d time.Duration) result {
	r := result{admitted: hdrhistogram.New(1, 60_000_000, 3)}
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
			code, err := c.checkout()
			lat := time.Since(at) // from the schedule, not from the send
			mu.Lock()
			defer mu.Unlock()
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
	return r
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
