// Package pspclient is Surge's client for the payment provider: it charges
// orders, looks up what happened to a charge whose answer was lost, voids
// and refunds, and walks the provider's ledger for reconciliation. Payments
// adapts it to what checkout needs.
//
// Every call has a per-attempt timeout, a bounded total budget, a circuit
// breaker shared by all calls, and jittered exponential retries. Retrying is
// safe because every call is idempotent: a charge uses the order id as both
// the merchant reference and the Idempotency-Key. This package must never
// send a charge under any other key, and must never report an outcome it
// did not see from the provider: when in doubt the answer is Unknown, and
// the caller asks again later with Lookup instead of charging blindly.
//
// It lives in internal/payment/client and keeps the name pspclient: a
// package named client would say nothing at its call sites.
package pspclient

import (
	"net"
	"net/http"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/failsafe-go/failsafe-go/timeout"
)

// ErrBreakerOpen is in the chain of errors of calls refused, without
// reaching the provider, because the circuit breaker is open.
var ErrBreakerOpen = circuitbreaker.ErrOpen

// Config configures a Client. Zero values take the defaults noted below,
// which keep one call (all attempts and backoff) within 2.5s.
type Config struct {
	// BaseURL is the provider's API root, e.g. "http://127.0.0.1:8090".
	BaseURL string
	// APIKey is sent on every call as "Authorization: Bearer <key>"
	// (SURGE_PSP_API_KEY); empty sends none.
	APIKey string
	// HTTPClient sends the requests (default: a pooled client without a
	// global timeout; the timeouts below bound every call).
	HTTPClient *http.Client
	// AttemptTimeout bounds one attempt (default 2s).
	AttemptTimeout time.Duration
	// TotalTimeout bounds a call including retries and backoff (default 2.5s).
	TotalTimeout time.Duration
	// MaxAttempts bounds attempts per call, the first included (default 3).
	MaxAttempts int
	// BackoffMin and BackoffMax bound the delay between attempts, doubled
	// per retry and jittered (defaults 50ms and 500ms).
	BackoffMin time.Duration
	BackoffMax time.Duration
	// BreakerFailures consecutive failed attempts open the breaker
	// (default 5); it stays open for BreakerDelay (default 5s), then lets
	// trial calls through and closes after BreakerSuccesses of them
	// succeed (default 1).
	BreakerFailures  uint
	BreakerDelay     time.Duration
	BreakerSuccesses uint
	// LedgerPageSize is the number of payments per ledger request
	// (default 1000).
	LedgerPageSize int
}

func (c *Config) applyDefaults() {
	if c.HTTPClient == nil {
		c.HTTPClient = defaultHTTPClient()
	}
	c.AttemptTimeout = orDefault(c.AttemptTimeout, 2*time.Second)
	c.TotalTimeout = orDefault(c.TotalTimeout, 2500*time.Millisecond)
	c.BackoffMin = orDefault(c.BackoffMin, 50*time.Millisecond)
	c.BackoffMax = orDefault(c.BackoffMax, 500*time.Millisecond)
	c.BreakerDelay = orDefault(c.BreakerDelay, 5*time.Second)
	c.MaxAttempts = orDefault(c.MaxAttempts, 3)
	c.BreakerFailures = orDefault(c.BreakerFailures, 5)
	c.BreakerSuccesses = orDefault(c.BreakerSuccesses, 1)
	c.LedgerPageSize = orDefault(c.LedgerPageSize, 1000)
}

func orDefault[T int | uint | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func defaultHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
	}}
}

// Client talks to one payment provider. It is safe for concurrent use; all
// its calls share one circuit breaker.
type Client struct {
	base     string
	apiKey   string
	http     *http.Client
	total    time.Duration
	pageSize int
	breaker  circuitbreaker.CircuitBreaker[*response]
	exec     failsafe.Executor[*response]
}

// New returns a Client for cfg.BaseURL.
func New(cfg Config) *Client {
	cfg.applyDefaults()
	retry := retrypolicy.NewBuilder[*response]().
		HandleIf(func(_ *response, err error) bool { return isProviderFailure(err) }).
		AbortOnErrors(circuitbreaker.ErrOpen).
		WithMaxAttempts(cfg.MaxAttempts).
		WithBackoff(cfg.BackoffMin, cfg.BackoffMax).
		WithJitterFactor(0.5).
		ReturnLastFailure().
		Build()
	breaker := circuitbreaker.NewBuilder[*response]().
		HandleIf(func(_ *response, err error) bool { return isProviderFailure(err) }).
		WithFailureThreshold(cfg.BreakerFailures).
		WithDelay(cfg.BreakerDelay).
		WithSuccessThreshold(cfg.BreakerSuccesses).
		Build()
	return &Client{
		base:     cfg.BaseURL,
		apiKey:   cfg.APIKey,
		http:     cfg.HTTPClient,
		total:    cfg.TotalTimeout,
		pageSize: cfg.LedgerPageSize,
		breaker:  breaker,
		// Outermost first: each retry passes the breaker, and each attempt
		// has its own timeout.
		exec: failsafe.With[*response](retry, breaker, timeout.New[*response](cfg.AttemptTimeout)),
	}
}

// URL and APIKey are the provider's base URL and key, for a second client
// of the same provider that must not share this one's breaker (the
// audit's).
func (c *Client) URL() string { return c.base }

// APIKey is the key this client sends.
func (c *Client) APIKey() string { return c.apiKey }

// BreakerState returns "closed", "open" or "half-open". An open breaker
// whose delay has passed reports half-open: it moves there lazily, on the
// next call, but would let that call through.
func (c *Client) BreakerState() string {
	if c.breaker.IsOpen() && c.breaker.RemainingDelay() <= 0 {
		return circuitbreaker.HalfOpenState.String()
	}
	return c.breaker.State().String()
}
