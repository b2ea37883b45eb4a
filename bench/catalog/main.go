// Command catalog compares Surge's catalog read (GET a product by SKU, a
// cache hit) with a bare net/http handler returning the same bytes, in the
// same run: maximum rate of each (closed loop), then p50/p99 of Surge at
// half its maximum on a fixed arrival schedule; and what one request of
// each costs the machine's processors. On SQLite, and on
// PostgreSQL when -postgres is set. Loopback only, bounded in time.
//
// -trace has Surge trace every request and export the spans to a local
// OTLP receiver, to price tracing against the same bare handler.
//
//	go run ./bench/catalog [-d 5s] [-workers 64] [-postgres] [-trace]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/surge-commerce/surge/bench/loadgen"
)

func main() {
	d := flag.Duration("d", 5*time.Second, "duration of each phase")
	workers := flag.Int("workers", 64, "closed-loop clients")
	pg := flag.Bool("postgres", false, "also run on PostgreSQL")
	trace := flag.Bool("trace", false, "trace every request, exported over OTLP to a local receiver")
	flag.Parse()
	engines := []string{"sqlite"}
	if *pg {
		engines = append(engines, "postgres")
	}
	for _, e := range engines {
		if err := run(e, *d, *workers, *trace); err != nil {
			fmt.Fprintln(os.Stderr, "catalog:", err)
			os.Exit(1)
		}
	}
}

func run(engine string, d time.Duration, workers int, trace bool) error {
	dir, err := os.MkdirTemp("", "surge-bench-catalog")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var env []string
	if engine == "postgres" {
		url, stop, err := loadgen.StartPostgres(dir)
		if err != nil {
			return err
		}
		defer stop()
		env = append(env, "SURGE_DATABASE_URL="+url)
	}
	var spans *sink
	if trace {
		if spans, err = startSink(); err != nil {
			return err
		}
		defer spans.Close()
		env = append(env, "OTEL_EXPORTER_OTLP_ENDPOINT="+spans.URL, "SURGE_TRACE_SAMPLE_RATIO=1")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s, err := loadgen.StartSurge(ctx, dir, env...)
	if err != nil {
		return err
	}
	defer s.Stop()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024}, Timeout: 30 * time.Second}
	product, err := seed(client, s.URL)
	if err != nil {
		return err
	}
	// The bare handler serves the very bytes Surge answered.
	resp, err := client.Get(product)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	bare := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})}
	go bare.Serve(ln)
	defer bare.Close()
	bareURL := "http://" + ln.Addr().String() + "/v1/shops/bench/products/TEE-1"

	get := func(url string) func() bool {
		return func() bool {
			resp, err := client.Get(url)
			if err != nil {
				return false
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}
	}
	loadgen.ClosedLoop(workers, time.Second, get(product)) // warm connections and cache
	before := loadgen.ReadUsage(s.PID())
	surgeMax := loadgen.ClosedLoop(workers, d, get(product))
	mid := loadgen.ReadUsage(s.PID())
	bareMax := loadgen.ClosedLoop(workers, d, get(bareURL))
	surgeUsed, bareUsed := mid.Since(before), loadgen.ReadUsage(s.PID()).Since(mid)
	half := loadgen.Open(surgeMax.Rate()/2, d, 4096, get(product))
	fmt.Printf("catalog GET by SKU (cache hit), %s, %d clients, %s per phase\n", engine, workers, d)
	if trace {
		received, answered := spans.settled(), requestsAnswered(client, s.URL)
		fmt.Printf("  every request traced: the receiver got %d spans for %.0f requests answered (%.1f %%)\n",
			received, answered, 100*float64(received)/max(answered, 1))
	}
	fmt.Printf("  bare net/http   max %8.0f req/s\n", bareMax.Rate())
	fmt.Printf("    per request: %s\n", bareUsed.PerOp(bareMax.OK))
	fmt.Printf("  surge           max %8.0f req/s   ratio %.2f (goal >= 0.60)\n", surgeMax.Rate(), surgeMax.Rate()/bareMax.Rate())
	fmt.Printf("    per request: %s\n", surgeUsed.PerOp(surgeMax.OK))
	fmt.Printf("  surge at %6.0f req/s (half max, open model): p50 %.2f ms  p99 %.2f ms (goal <= 5)  failed %d  late %d\n\n",
		surgeMax.Rate()/2, half.P(50), half.P(99), half.Fail, half.Late)
	return nil
}

// seed creates a shop and a product and returns the product's public URL.
func seed(c *http.Client, base string) (string, error) {
	post := func(method, path, key, body string) ([]byte, error) {
		req, _ := http.NewRequest(method, base+path, bytes.NewBufferString(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return b, nil
	}
	b, err := post("POST", "/v1/admin/shops", "bench-admin-key-0123456789abcdef", `{"slug":"bench","name":"Bench"}`)
	if err != nil {
		return "", err
	}
	key := string(bytes.Split(bytes.Split(b, []byte(`"api_key":"`))[1], []byte(`"`))[0])
	_, err = post("PUT", "/v1/shops/bench/admin/products/TEE-1", key,
		`{"title":"Black T-shirt","description":"Organic cotton crew neck, medium","price":1999,"currency":"EUR","stock":100,"attributes":{"color":"black","size":"M"},"images":["https://img.example/tee.png"]}`)
	return base + "/v1/shops/bench/products/TEE-1", err
}
