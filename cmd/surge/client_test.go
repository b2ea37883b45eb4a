package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/testrig"
)

// The end-to-end tests' one client of a running Surge: a request, its
// reply, the shop a test creates, and the SQL engines every store
// behaviour runs on. Topic files add what only they need.

// engine is one SQL engine a test runs on.
type engine struct {
	name string
	env  func(t *testing.T) map[string]string
}

// engines are SQLite and PostgreSQL: every store behaviour is tested on both.
var engines = []engine{
	{"sqlite", func(t *testing.T) map[string]string { return map[string]string{} }},
	{"postgres", func(t *testing.T) map[string]string {
		return map[string]string{"SURGE_DATABASE_URL": testrig.PostgresURL(t)}
	}},
}

// eachEngine runs fn on SQLite and on PostgreSQL, one after the other.
func eachEngine(t *testing.T, fn func(t *testing.T, env map[string]string)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { fn(t, e.env(t)) })
	}
}

// client sends requests to a running Surge. Most tests share api; a crowd
// of buyer goroutines gets one of its own that bounds requests in flight.
type client struct {
	http *http.Client
	sem  chan struct{} // nil: no bound
}

var api = &client{http: &http.Client{
	Timeout:   90 * time.Second,
	Transport: &http.Transport{MaxIdleConns: 2048, MaxIdleConnsPerHost: 2048, IdleConnTimeout: 30 * time.Second},
}}

// newClient is a client with at most inFlight requests on their way: a
// request's timeout starts only once it is sent, so thousands of buyers
// share a few connections on a small machine without timing out.
func newClient(t *testing.T, inFlight int) *client {
	tr := &http.Transport{MaxConnsPerHost: inFlight, MaxIdleConnsPerHost: inFlight, IdleConnTimeout: 30 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{http: &http.Client{Timeout: 60 * time.Second, Transport: tr}, sem: make(chan struct{}, inFlight)}
}

// reply is one HTTP answer, or the transport error that replaced it.
type reply struct {
	code   int
	header http.Header
	body   string
	err    error
}

// call sends a request with an optional bearer key, JSON body and header
// pairs. It never calls t.Fatal, so buyer goroutines may use it.
func (c *client) call(method, url, key, body string, header ...string) reply {
	if c.sem != nil {
		c.sem <- struct{}{}
		defer func() { <-c.sem }()
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return reply{err: err}
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{code: resp.StatusCode, header: resp.Header, body: string(b), err: err}
}

// do is api.call for the test goroutine: a transport error fails the test.
func do(t testing.TB, method, url, key, body string, header ...string) (int, http.Header, string) {
	t.Helper()
	r := api.call(method, url, key, body, header...)
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.code, r.header, r.body
}

func (r reply) String() string {
	if r.err != nil {
		return "error: " + r.err.Error()
	}
	return fmt.Sprintf("%d %s", r.code, r.body)
}

// problemType is the problem's type without the common prefix, e.g. "out-of-stock".
func (r reply) problemType() string {
	var p struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal([]byte(r.body), &p)
	return strings.TrimPrefix(p.Type, "https://surge.dev/problems/")
}

// retryable reports a 503 with Retry-After: the server did nothing and
// asks the client to come back (shed load, or the database breaker open).
func (r reply) retryable() bool {
	return r.err == nil && r.code == http.StatusServiceUnavailable && r.header.Get("Retry-After") != ""
}

// inProgress reports a 409 for a key whose first request still runs;
// it always says when to retry.
func (r reply) inProgress() bool {
	return r.err == nil && r.code == http.StatusConflict && strings.Contains(r.body, "problems/request-in-progress") &&
		r.header.Get("Retry-After") != ""
}

// backoff is how long a client waits before retrying: what Retry-After
// asks, jittered so that a crowd does not come back in lockstep.
func (r reply) backoff() time.Duration {
	base := 100 * time.Millisecond
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err == nil && s > 0 {
		base = time.Duration(s) * time.Second
	}
	return base/2 + time.Duration(rand.Int64N(int64(base)))
}

// shop is a shop created for one test through the platform admin API.
type shop struct {
	base, admin, slug, key string
}

func newShop(t testing.TB, base, admin, slug string) shop {
	t.Helper()
	r := api.call("POST", base+"/v1/admin/shops", admin, `{"slug":"`+slug+`","name":"Shop `+slug+`"}`)
	if r.code != http.StatusCreated {
		t.Fatalf("create shop %s: %s", slug, r)
	}
	var b struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal([]byte(r.body), &b); err != nil || b.APIKey == "" {
		t.Fatalf("create shop %s: no api_key in %s", slug, r)
	}
	return shop{base: base, admin: admin, slug: slug, key: b.APIKey}
}

// url is path under the shop's API, e.g. url("/checkout").
func (s shop) url(path string) string { return s.base + "/v1/shops/" + s.slug + path }

// stockLevel is GET /v1/shops/{shop}/admin/inventory/{sku}.
type stockLevel struct {
	SKU                                 string
	Received, Available, Reserved, Sold int64
}

// product puts a product with stock units, at most limit per customer (0: no limit).
func (s shop) product(t testing.TB, sku string, stock, limit int) {
	t.Helper()
	r := api.call("PUT", s.url("/admin/products/"+sku), s.key,
		fmt.Sprintf(`{"title":"Item","price":1500,"currency":"EUR","stock":%d,"purchase_limit":%d}`, stock, limit))
	if r.code != http.StatusCreated && r.code != http.StatusOK {
		t.Fatalf("put product %s: %s", sku, r)
	}
}

// customer registers one customer and returns its token.
func (s shop) customer(t testing.TB) string {
	t.Helper()
	return s.customers(t, 1)[0]
}

// customers registers n customers, a few at a time, and returns their tokens.
func (s shop) customers(t testing.TB, n int) []string {
	t.Helper()
	tokens := make([]string, n)
	errs := make(chan string, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var r reply
			for range 100 {
				if r = api.call("POST", s.url("/customers"), "", ""); !r.retryable() {
					break
				}
				time.Sleep(50 * time.Millisecond) // shed: retry later
			}
			var b struct{ Token string }
			if r.code != http.StatusCreated || json.Unmarshal([]byte(r.body), &b) != nil || b.Token == "" {
				errs <- r.String()
				return
			}
			tokens[i] = b.Token
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("create customer: %s", e)
	}
	return tokens
}

// level reads the inventory of sku.
func (s shop) level(t testing.TB, sku string) stockLevel {
	t.Helper()
	r := api.call("GET", s.url("/admin/inventory/"+sku), s.key, "")
	var l stockLevel
	if r.code != http.StatusOK || json.Unmarshal([]byte(r.body), &l) != nil {
		t.Fatalf("inventory of %s: %s", sku, r)
	}
	return l
}

// awaitLevel polls the inventory of sku until want holds.
func (s shop) awaitLevel(t testing.TB, sku string, want func(stockLevel) bool) stockLevel {
	t.Helper()
	var l stockLevel
	testrig.Eventually(t, "the inventory of "+sku+" to settle", func() bool {
		l = s.level(t, sku)
		return want(l)
	})
	return l
}

// readyz reports whether the server at base answers /readyz with 200.
func readyz(base string) bool {
	resp, err := api.http.Get(base + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// metric sums a metric's samples (all label sets) from /metrics.
func metric(t testing.TB, url, name string) float64 {
	t.Helper()
	_, _, body := do(t, "GET", url+"/metrics", "", "")
	sum := 0.0
	for line := range strings.SplitSeq(body, "\n") {
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// requireAudit runs the audit once, letting in-flight work settle first,
// and fails the test on any breach: a breach that heals itself by a second
// look is still a breach (docs/INVARIANTS.md). Only a request refused
// before the audit ran (429 or 503 after a flood) is sent again, after its
// Retry-After.
func requireAudit(t testing.TB, base, admin string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, h, body := do(t, "GET", base+"/v1/admin/audit?settle=60s", admin, "")
		if (code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable) && time.Now().Before(deadline) {
			wait, err := strconv.Atoi(h.Get("Retry-After"))
			if err != nil || wait < 1 {
				wait = 1
			}
			time.Sleep(time.Duration(wait) * time.Second) // the server asked for this pause
			continue
		}
		var rep struct{ Passed, Settled bool }
		if code != http.StatusOK || json.Unmarshal([]byte(body), &rep) != nil || !rep.Passed || !rep.Settled {
			t.Fatalf("audit: %d %s", code, body)
		}
		return
	}
}
