// Command checkout compares Surge's checkout throughput on PostgreSQL with
// what the same PostgreSQL server commits for pgbench running a plain
// single-row INSERT transaction at the same concurrency, in the same run:
//
//  1. pgbench, C clients, for d: baseline tps;
//  2. Surge on the same server (its own database), many buyers over many
//     SKUs, C closed-loop clients for d: checkout tps, printed as a ratio
//     to the baseline (a checkout needs at least two commits);
//  3. Surge at half that rate on a fixed arrival schedule (open model,
//     latency from the scheduled time): p50 and p99;
//  4. the audit, which must pass after the load.
//
// Loopback only, bounded in time (about 3 × d plus the build and setup).
//
//	go run ./bench/checkout [-c 16] [-d 20s] [-stats]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/surge-commerce/surge/bench/loadgen"
)

func main() {
	c := flag.Int("c", 16, "concurrency of pgbench and of the closed-loop checkout clients")
	d := flag.Duration("d", 20*time.Second, "duration of each phase")
	skus := flag.Int("skus", 200, "SKUs the buyers spread over")
	customers := flag.Int("customers", 1000, "distinct buyers")
	stats := flag.Bool("stats", false, "after the closed loop, print Surge's costliest statements (pg_stat_statements)")
	flag.Parse()
	if err := run(*c, *d, *skus, *customers, *stats); err != nil {
		fmt.Fprintln(os.Stderr, "checkout:", err)
		os.Exit(1)
	}
}

func run(conc int, d time.Duration, skus, customers int, stats bool) error {
	dir, err := os.MkdirTemp("", "surge-bench-checkout")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var settings []string
	if stats {
		settings = append(settings, loadgen.StatementStats)
	}
	pgURL, stop, err := loadgen.StartPostgres(dir, settings...)
	if err != nil {
		return err
	}
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for _, db := range []string{"pgbench", "surge"} {
		if err := exec1(ctx, pgURL, "CREATE DATABASE "+db); err != nil {
			return err
		}
	}

	before := loadgen.ReadUsage(0)
	base, err := pgbench(ctx, dir, withDB(pgURL, "pgbench"), conc, d)
	if err != nil {
		return err
	}
	used := loadgen.ReadUsage(0).Since(before)
	fmt.Printf("pgbench single-row INSERT, %d clients, %s: %.0f tps\n", conc, d, base)
	fmt.Printf("  per transaction: %s\n", used.PerOp(int64(base*d.Seconds())))

	surgeDir := filepath.Join(dir, "surge")
	if err := os.MkdirAll(surgeDir, 0o755); err != nil {
		return err
	}
	s, err := loadgen.StartSurge(ctx, surgeDir, "SURGE_DATABASE_URL="+withDB(pgURL, "surge"))
	if err != nil {
		return err
	}
	defer s.Stop()
	c := &client{base: s.URL, http: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096}}}
	if err := c.setup(skus, customers); err != nil {
		return err
	}

	if stats {
		if err := loadgen.ResetStatements(ctx, withDB(pgURL, "surge")); err != nil {
			return err
		}
	}
	var paid atomic.Int64
	before = loadgen.ReadUsage(s.PID())
	closed := loadgen.ClosedLoop(conc, d, func() bool { return c.checkout(&paid) })
	used = loadgen.ReadUsage(s.PID()).Since(before)
	fmt.Printf("surge checkout (%d SKUs, %d buyers), %d clients, %s: %.0f tps (%d ok, %d failed, %d paid synchronously), p50 %.1f ms, p99 %.1f ms\n",
		skus, customers, conc, d, closed.Rate(), closed.OK, closed.Fail, paid.Load(), closed.P(50), closed.P(99))
	if f := c.failed(); len(f) > 0 {
		fmt.Printf("  failures by status: %v\n", f)
	}
	fmt.Printf("  per checkout: %s\n", used.PerOp(closed.OK))
	fmt.Printf("RATIO checkout tps / pgbench tps = %.2f (goal >= 0.5)\n", closed.Rate()/base)
	if stats {
		if err := loadgen.PrintStatements(ctx, withDB(pgURL, "surge"), closed.OK); err != nil {
			return err
		}
	}

	half := closed.Rate() / 2
	open := loadgen.Open(half, d, 4096, func() bool { return c.checkout(&paid) })
	fmt.Printf("open model at %.0f/s (half the max) for %s: p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms (%d ok, %d failed, %d late)\n",
		half, d, open.P(50), open.P(99), open.P(99.9), open.OK, open.Fail, open.Late)
	if f := c.failed(); len(f) > 0 {
		fmt.Printf("  failures by status: %v\n", f)
	}

	passed, err := c.audit()
	if err != nil {
		return err
	}
	fmt.Printf("audit after the load: passed=%v\n", passed)
	if !passed {
		return fmt.Errorf("the audit failed")
	}
	return nil
}

// pgbench runs a custom script, one single-row INSERT per transaction,
// and returns its tps.
func pgbench(ctx context.Context, dir, dbURL string, conc int, d time.Duration) (float64, error) {
	if err := exec1(ctx, dbURL, `CREATE TABLE rows (id bigserial PRIMARY KEY, v bigint NOT NULL, at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return 0, err
	}
	script := filepath.Join(dir, "insert.sql")
	if err := os.WriteFile(script, []byte("\\set v random(1, 1000000000)\nINSERT INTO rows (v) VALUES (:v);\n"), 0o644); err != nil {
		return 0, err
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return 0, err
	}
	bin := "pgbench"
	if bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench"); len(bins) > 0 {
		bin = bins[len(bins)-1]
	}
	cmd := exec.CommandContext(ctx, bin, "-n", "-f", script, "-c", strconv.Itoa(conc), "-j", strconv.Itoa(min(conc, 4)),
		"-T", strconv.Itoa(int(d.Seconds())), "-h", u.Hostname(), "-p", u.Port(), "-U", u.User.Username(),
		strings.TrimPrefix(u.Path, "/"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`tps = ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pgbench printed no tps:\n%s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

func exec1(ctx context.Context, dbURL, sql string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// withDB returns dbURL pointing at another database of the same server.
func withDB(dbURL, db string) string {
	u, _ := url.Parse(dbURL)
	u.Path = "/" + db
	return u.String()
}

type client struct {
	base    string
	http    *http.Client
	shopKey string
	skus    int
	tokens  []string
	seq     atomic.Int64

	mu       sync.Mutex
	failures map[string]int // why checkouts failed, since the last call to failed
}

// failed returns and resets the count of failed checkouts by status.
func (c *client) failed() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.failures
	c.failures = nil
	return f
}

func (c *client) do(method, path, key, body string, header ...string) (int, []byte, error) {
	return loadgen.Do(c.http, method, c.base+path, key, body, header...)
}

// setup waits for readiness and creates a shop with skus well-stocked
// products and customers buyers, a few requests at a time.
func (c *client) setup(skus, customers int) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		if code, _, err := c.do("GET", "/readyz", "", ""); err == nil && code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("surge not ready within 60s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, body, err := c.do("POST", "/v1/admin/shops", "bench-admin-key-0123456789abcdef", `{"slug":"bench","name":"Bench"}`)
	if err != nil || code != http.StatusCreated {
		return fmt.Errorf("create shop: %d %s %v", code, body, err)
	}
	var shop struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal(body, &shop); err != nil {
		return err
	}
	c.shopKey, c.skus, c.tokens = shop.APIKey, skus, make([]string, customers)
	return parallel(16, max(skus, customers), func(i int) error {
		if i < skus {
			code, body, err := c.do("PUT", fmt.Sprintf("/v1/shops/bench/admin/products/SKU-%d", i), c.shopKey,
				`{"title":"Item","price":1000,"currency":"EUR","stock":100000000}`)
			if err != nil || code != http.StatusCreated {
				return fmt.Errorf("put product: %d %s %v", code, body, err)
			}
		}
		if i < customers {
			code, body, err := c.do("POST", "/v1/shops/bench/customers", "", "")
			var cu struct{ Token string }
			if err != nil || code != http.StatusCreated || json.Unmarshal(body, &cu) != nil {
				return fmt.Errorf("create customer: %d %s %v", code, body, err)
			}
			c.tokens[i] = cu.Token
		}
		return nil
	})
}

// parallel runs fn(0..n-1) on workers goroutines and returns the first error.
func parallel(workers, n int, fn func(int) error) error {
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// checkout buys one unit of a random SKU as a random buyer under a fresh
// key; 201 (paid) and 202 (payment pending) are both placed orders.
func (c *client) checkout(paid *atomic.Int64) bool {
	n := c.seq.Add(1)
	code, _, err := c.do("POST", "/v1/shops/bench/checkout", c.tokens[rand.IntN(len(c.tokens))],
		fmt.Sprintf(`{"items":[{"sku":"SKU-%d","quantity":1}]}`, rand.IntN(c.skus)), "Idempotency-Key", "k"+strconv.FormatInt(n, 10))
	if err == nil && code == http.StatusCreated {
		paid.Add(1)
	}
	ok := err == nil && (code == http.StatusCreated || code == http.StatusAccepted)
	if !ok {
		why := strconv.Itoa(code)
		if err != nil {
			why = err.Error()
		}
		c.mu.Lock()
		if c.failures == nil {
			c.failures = map[string]int{}
		}
		c.failures[why]++
		c.mu.Unlock()
	}
	return ok
}

// audit polls the audit until it passes or 60s go by (events settle a
// moment after the orders).
func (c *client) audit() (bool, error) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body, err := c.do("GET", "/v1/admin/audit", "bench-admin-key-0123456789abcdef", "")
		if err != nil {
			return false, err
		}
		var rep struct{ Passed bool }
		if code == http.StatusOK && json.Unmarshal(body, &rep) == nil && rep.Passed {
			return true, nil
		}
		if time.Now().After(deadline) {
			fmt.Printf("last audit report: %d %s\n", code, body)
			return false, nil
		}
		time.Sleep(500 * time.Millisecond)
	}
}
