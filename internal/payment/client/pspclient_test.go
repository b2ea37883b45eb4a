package pspclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
	pspclient "github.com/surge-commerce/surge/internal/payment/client"
	psp "github.com/surge-commerce/surge/internal/payment/simulator"
	"github.com/surge-commerce/surge/internal/tracing/tracectx"
)

// countingTransport counts the requests that leave the client.
type countingTransport struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// sent returns the number of requests sent since the last call.
func (c *countingTransport) sent() int64 { return c.n.Swap(0) }

// setup starts a real simulator with the given knobs and randomness, and a
// client for it with short backoffs.
func setup(t *testing.T, cfg psp.Config, ccfg pspclient.Config) (*psp.Server, *pspclient.Client) {
	t.Helper()
	srv, c, _ := setupCounting(t, cfg, ccfg)
	return srv, c
}

// setupCounting is setup that also counts the client's requests.
func setupCounting(t *testing.T, cfg psp.Config, ccfg pspclient.Config) (*psp.Server, *pspclient.Client, *countingTransport) {
	t.Helper()
	counter := &countingTransport{base: http.DefaultTransport.(*http.Transport).Clone()}
	ccfg.HTTPClient = &http.Client{Transport: counter}
	cfg.DataDir = t.TempDir()
	srv, err := psp.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	ccfg.BaseURL = srv.URL()
	if ccfg.BackoffMin == 0 {
		ccfg.BackoffMin, ccfg.BackoffMax = time.Millisecond, 5*time.Millisecond
	}
	if ccfg.TotalTimeout == 0 {
		// Generous for loaded CI; the production default is 2.5s.
		ccfg.TotalTimeout = 20 * time.Second
		ccfg.AttemptTimeout = orDefault(ccfg.AttemptTimeout, 10*time.Second)
	}
	return srv, pspclient.New(ccfg), counter
}

func orDefault(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

func fixedRand(v float64) func() float64 { return func() float64 { return v } }

// scriptedRand returns vals in order, then rest forever.
func scriptedRand(rest float64, vals ...float64) func() float64 {
	var mu sync.Mutex
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		if len(vals) == 0 {
			return rest
		}
		v := vals[0]
		vals = vals[1:]
		return v
	}
}

func setFaults(t *testing.T, srv *psp.Server, f psp.Faults) {
	t.Helper()
	if err := srv.SetFaults(f); err != nil {
		t.Fatal(err)
	}
}

// paymentsFor walks the ledger and returns the payments for ref.
func paymentsFor(t *testing.T, c *pspclient.Client, ref string) []pspclient.Payment {
	t.Helper()
	var list []pspclient.Payment
	for p, err := range c.Ledger(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if p.MerchantReference == ref {
			list = append(list, p)
		}
	}
	return list
}

func wantOutcome(t *testing.T, res pspclient.Result, err error, want pspclient.Outcome, code string) {
	t.Helper()
	if res.Outcome != want || errcode.Code(err) != code {
		t.Fatalf("outcome = %s, err = %v; want %s with code %q", res.Outcome, err, want, code)
	}
}

func TestChargeIsIdempotent(t *testing.T) {
	t.Parallel()
	_, c := setup(t, psp.Config{}, pspclient.Config{})
	ctx := context.Background()
	first, err := c.Charge(ctx, "order-1", 1250, "EUR")
	wantOutcome(t, first, err, pspclient.Paid, "")
	again, err := c.Charge(ctx, "order-1", 1250, "EUR")
	wantOutcome(t, again, err, pspclient.Paid, "")
	looked, err := c.Lookup(ctx, "order-1")
	wantOutcome(t, looked, err, pspclient.Paid, "")
	if again.Payment.ID != first.Payment.ID || looked.Payment.ID != first.Payment.ID {
		t.Fatalf("payments %s, %s, %s; want one", first.Payment.ID, again.Payment.ID, looked.Payment.ID)
	}
	if got := paymentsFor(t, c, "order-1"); len(got) != 1 {
		t.Fatalf("ledger holds %d payments for the order, want 1", len(got))
	}
}

func TestChargeOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		faults psp.Faults
		client pspclient.Config
		want   pspclient.Outcome
		code   string
		// after is what Lookup finds once the faults are cleared.
		after pspclient.Outcome
	}{
		{"paid", psp.Faults{}, pspclient.Config{}, pspclient.Paid, "", pspclient.Paid},
		{"declined", psp.Faults{DeclineRate: 1}, pspclient.Config{}, pspclient.Declined, "", pspclient.Declined},
		{"5xx after retries", psp.Faults{ErrorRate: 1}, pspclient.Config{}, pspclient.Unknown, errcode.Unavailable, pspclient.NotFound},
		{"timeout", psp.Faults{TimeoutRate: 1},
			pspclient.Config{AttemptTimeout: 100 * time.Millisecond, TotalTimeout: 5 * time.Second, MaxAttempts: 2},
			pspclient.Unknown, errcode.Unavailable, pspclient.NotFound},
		{"total budget", psp.Faults{LatencyMS: 60_000},
			pspclient.Config{AttemptTimeout: 10 * time.Second, TotalTimeout: 200 * time.Millisecond},
			pspclient.Unknown, errcode.Unavailable, pspclient.NotFound},
		{"lost response", psp.Faults{DropResponseRate: 1}, pspclient.Config{}, pspclient.Unknown, errcode.Unavailable, pspclient.Paid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t, psp.Config{Rand: fixedRand(0), Faults: tt.faults}, tt.client)
			res, err := c.Charge(context.Background(), "order-1", 1250, "EUR")
			wantOutcome(t, res, err, tt.want, tt.code)
			setFaults(t, srv, psp.Faults{})
			looked, err := c.Lookup(context.Background(), "order-1")
			wantOutcome(t, looked, err, tt.after, "")
		})
	}
}

func TestLostResponseIsFoundWithoutSecondCapture(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rand func() float64
		// want is the first Charge's outcome: a retry inside the call may
		// already see the stored answer.
		want pspclient.Outcome
	}{
		{"every attempt lost", fixedRand(0), pspclient.Unknown},
		{"first attempt lost", scriptedRand(0.9, 0), pspclient.Paid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t, psp.Config{Rand: tt.rand, Faults: psp.Faults{DropResponseRate: 0.5}}, pspclient.Config{})
			ctx := context.Background()
			res, _ := c.Charge(ctx, "order-1", 1250, "EUR")
			if res.Outcome != tt.want {
				t.Fatalf("charge outcome = %s, want %s", res.Outcome, tt.want)
			}
			setFaults(t, srv, psp.Faults{})
			looked, err := c.Lookup(ctx, "order-1")
			wantOutcome(t, looked, err, pspclient.Paid, "")
			again, err := c.Charge(ctx, "order-1", 1250, "EUR")
			wantOutcome(t, again, err, pspclient.Paid, "")
			got := paymentsFor(t, c, "order-1")
			if len(got) != 1 || got[0].ID != looked.Payment.ID || again.Payment.ID != looked.Payment.ID {
				t.Fatalf("ledger = %+v, lookup %s, retry %s; want one capture", got, looked.Payment.ID, again.Payment.ID)
			}
		})
	}
}

func TestBreakerOpensAndFailsFast(t *testing.T) {
	t.Parallel()
	srv, c, counter := setupCounting(t, psp.Config{Rand: fixedRand(0), Faults: psp.Faults{ErrorRate: 1}},
		pspclient.Config{MaxAttempts: 3, BreakerFailures: 3, BreakerDelay: time.Hour})
	ctx := context.Background()
	if got := c.BreakerState(); got != "closed" {
		t.Fatalf("breaker = %s before any call", got)
	}
	res, err := c.Charge(ctx, "order-1", 1250, "EUR")
	wantOutcome(t, res, err, pspclient.Unknown, errcode.Unavailable)
	if got := c.BreakerState(); got != "open" {
		t.Fatalf("breaker = %s after 3 failed attempts, want open", got)
	}
	if n := counter.sent(); n != 3 {
		t.Fatalf("sent %d requests, want 3 attempts", n)
	}
	// The provider is healthy again, but the open breaker must not even ask.
	setFaults(t, srv, psp.Faults{})
	res, err = c.Charge(ctx, "order-2", 1250, "EUR")
	wantOutcome(t, res, err, pspclient.Unknown, errcode.Unavailable)
	if !errors.Is(err, pspclient.ErrBreakerOpen) {
		t.Fatalf("err = %v, want ErrBreakerOpen", err)
	}
	if _, err := c.Lookup(ctx, "order-2"); !errors.Is(err, pspclient.ErrBreakerOpen) {
		t.Fatalf("lookup err = %v, want ErrBreakerOpen", err)
	}
	if n := counter.sent(); n != 0 {
		t.Fatalf("sent %d requests through an open breaker", n)
	}
}

func TestBreakerRecovers(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, psp.Config{Rand: fixedRand(0), Faults: psp.Faults{ErrorRate: 1}},
		pspclient.Config{MaxAttempts: 1, BreakerFailures: 1, BreakerDelay: 50 * time.Millisecond})
	ctx := context.Background()
	c.Charge(ctx, "order-1", 1250, "EUR")
	setFaults(t, srv, psp.Faults{})
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := c.Charge(ctx, "order-1", 1250, "EUR")
		if res.Outcome == pspclient.Paid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("breaker never let a trial through: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := c.BreakerState(); got != "closed" {
		t.Fatalf("breaker = %s after a successful trial, want closed", got)
	}
}

func TestRefusalsAreNotRetriedNorCounted(t *testing.T) {
	t.Parallel()
	_, c, counter := setupCounting(t, psp.Config{}, pspclient.Config{BreakerFailures: 1})
	ctx := context.Background()
	paid, err := c.Charge(ctx, "order-1", 1250, "EUR")
	wantOutcome(t, paid, err, pspclient.Paid, "")
	counter.sent()
	tests := []struct {
		name    string
		call    func() (pspclient.Result, error)
		outcome pspclient.Outcome
		code    string
		typ     string
	}{
		// The key's first request took money: no refusal.
		{"same order, other amount", func() (pspclient.Result, error) { return c.Charge(ctx, "order-1", 999, "EUR") },
			pspclient.Unknown, errcode.Conflict, "idempotency_key_reused"},
		{"bad currency", func() (pspclient.Result, error) { return c.Charge(ctx, "order-2", 1, "euro") },
			pspclient.Refused, errcode.Invalid, "invalid_request"},
		{"amount too large", func() (pspclient.Result, error) { return c.Charge(ctx, "order-3", 1e15, "EUR") },
			pspclient.Refused, errcode.Invalid, "invalid_request"},
		{"void a captured payment", func() (pspclient.Result, error) { return c.Void(ctx, paid.Payment.ID) },
			pspclient.Unknown, errcode.Conflict, "invalid_transition"},
		{"refund a missing payment", func() (pspclient.Result, error) { return c.Refund(ctx, "pay_missing") },
			pspclient.Unknown, errcode.NotFound, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tt.call()
			wantOutcome(t, res, err, tt.outcome, tt.code)
			var e *errcode.Error
			if !errors.As(err, &e) || e.Type != tt.typ {
				t.Fatalf("err = %#v, want type %s", err, tt.typ)
			}
			if got := c.BreakerState(); got != "closed" {
				t.Fatalf("breaker = %s after a refusal, want closed", got)
			}
			if n := counter.sent(); n != 1 {
				t.Fatalf("sent %d requests for a refusal, want 1", n)
			}
		})
	}
}

func TestRefundAndVoid(t *testing.T) {
	t.Parallel()
	_, c := setup(t, psp.Config{}, pspclient.Config{})
	ctx := context.Background()
	paid, err := c.Charge(ctx, "order-1", 1250, "EUR")
	wantOutcome(t, paid, err, pspclient.Paid, "")
	for range 2 {
		res, err := c.Refund(ctx, paid.Payment.ID)
		wantOutcome(t, res, err, pspclient.Reversed, "")
	}
	looked, err := c.Lookup(ctx, "order-1")
	wantOutcome(t, looked, err, pspclient.Reversed, "")
}

func TestVoidAuthorized(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, psp.Config{}, pspclient.Config{})
	p := authorize(t, srv, "order-1")
	looked, err := c.Lookup(context.Background(), "order-1")
	wantOutcome(t, looked, err, pspclient.Authorized, "")
	res, err := c.Void(context.Background(), p)
	wantOutcome(t, res, err, pspclient.Reversed, "")
}

func TestLedgerWalksEveryPage(t *testing.T) {
	t.Parallel()
	_, c := setup(t, psp.Config{}, pspclient.Config{LedgerPageSize: 10})
	const n = 25
	for i := range n {
		res, err := c.Charge(context.Background(), fmt.Sprint("order-", i), 100, "EUR")
		wantOutcome(t, res, err, pspclient.Paid, "")
	}
	seen := map[string]bool{}
	for p, err := range c.Ledger(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		seen[p.MerchantReference] = true
	}
	if len(seen) != n {
		t.Fatalf("ledger yielded %d orders, want %d", len(seen), n)
	}
}

// authorize creates an authorized, uncaptured payment, which Surge's client
// never does itself, and returns its id.
func authorize(t *testing.T, srv *psp.Server, ref string) string {
	t.Helper()
	body := fmt.Sprintf(`{"merchant_reference":%q,"amount":1250,"currency":"EUR","capture":false}`, ref)
	req, err := http.NewRequest(http.MethodPost, srv.URL()+"/v1/payments", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Idempotency-Key", "auth-"+ref)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p psp.Payment
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || p.Status != psp.StatusAuthorized {
		t.Fatalf("authorize: %d %+v %v", resp.StatusCode, p, err)
	}
	return p.ID
}

// headerTransport keeps the traceparent of every request that leaves the
// client.
type headerTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	seen []string
}

func (h *headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.seen = append(h.seen, r.Header.Get("traceparent"))
	h.mu.Unlock()
	return h.base.RoundTrip(r)
}

func TestCallsCarryTheCallersTrace(t *testing.T) {
	t.Parallel()
	rec := &headerTransport{base: http.DefaultTransport.(*http.Transport).Clone()}
	srv, _ := setup(t, psp.Config{}, pspclient.Config{})
	c := pspclient.New(pspclient.Config{BaseURL: srv.URL(), HTTPClient: &http.Client{Transport: rec},
		TotalTimeout: 20 * time.Second, AttemptTimeout: 10 * time.Second})
	hop, _ := tracectx.Parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	res, err := c.Charge(tracectx.With(context.Background(), hop), "order-traced", 500, "EUR")
	wantOutcome(t, res, err, pspclient.Paid, "")
	if _, err := c.Lookup(context.Background(), "order-traced"); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.seen) < 2 || rec.seen[0] != hop.String() || rec.seen[len(rec.seen)-1] != "" {
		t.Fatalf("traceparents sent: %q; want %q on the charge and none without a trace", rec.seen, hop.String())
	}
}
