// Package config reads Surge's settings from flags and SURGE_* environment
// variables, flags winning, so every subcommand that touches the same
// backends (serve, migrate, audit, ...) is configured the same way.
//
// It must never open a connection: it only describes what to connect to.
package config

import (
	"flag"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/surge-commerce/surge/internal/checkout"
)

// Config is everything the backends and the API need.
type Config struct {
	Addr            string
	DataDir         string
	DatabaseURL     string
	ReplicaURL      string
	MaxReplicaLag   time.Duration
	NATSURL         string
	RedisURL        string
	AdminKey        string
	Demo            bool
	DBMaxConns      int
	WorkerDBConns   int
	MaxBodyBytes    int64
	RequestTimeout  time.Duration
	ShutdownTimeout time.Duration
	DrainDelay      time.Duration
	CacheTTL        time.Duration
	CacheMaxStale   time.Duration
	AccessLog       bool
	LogLevel        string
	// PSPURL is the payment provider; empty runs the simulator in-process.
	PSPURL string
	// SMTPURL delivers notifications by SMTP; empty keeps them stored only.
	SMTPURL          string
	PSPWebhookSecret string
	PSPAPIKey        string
	// TokenSecrets are "kid:secret" pairs for customer tokens, the first
	// signing; empty uses secrets generated and kept in the database.
	TokenSecrets      string
	TokenTTL          time.Duration
	ReservationTTL    time.Duration
	IdempotencyTTL    time.Duration
	ReconcileInterval time.Duration
	ChargeBudget      time.Duration
	Roles             string
	StreamReplicas    int
	EventRetention    time.Duration
	OutboxRetention   time.Duration
	RepublishWindow   time.Duration
	RateLimits        bool
	RateLimitIP       int
	RateLimitKey      int
	RateLimitCustomer int
	SignupLimit       int
	TierLimits        string
	TrustedProxies    string
	// CORSOrigins are the browser origins allowed to call the API; empty
	// turns CORS off.
	CORSOrigins string
	Shedding    bool
	// CheckoutConcurrency bounds checkouts in flight; 0: the pool size.
	CheckoutConcurrency int
	MaxConnsPerClient   int
	PprofAddr           string
	MetricsAddr         string
	PprofAllowRemote    bool
	// OTLPEndpoint is the OpenTelemetry collector spans go to (OTLP/HTTP);
	// empty exports none.
	OTLPEndpoint     string
	TraceSampleRatio float64

	// ClockOffset shifts what the process takes for now: a drill and test
	// aid that plays a replica whose clock is wrong, never for production.
	ClockOffset time.Duration

	envErrs []string
}

// Register defines the shared flags on fs with defaults taken from the
// environment, so an explicit flag overrides the variable.
func Register(fs *flag.FlagSet, getenv func(string) string) *Config {
	c := &Config{}
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.DataDir, "data", env("SURGE_DATA", "./surge-data"), "directory for the embedded SQLite and NATS files (env SURGE_DATA)")
	fs.StringVar(&c.DatabaseURL, "database-url", env("SURGE_DATABASE_URL", ""), "PostgreSQL URL; empty uses embedded SQLite (env SURGE_DATABASE_URL)")
	fs.StringVar(&c.NATSURL, "nats-url", env("SURGE_NATS_URL", ""), "external NATS URL; empty runs an embedded server (env SURGE_NATS_URL)")
	fs.StringVar(&c.RedisURL, "redis-url", env("SURGE_REDIS_URL", ""), "Redis URL for the shared cache and limits; empty disables (env SURGE_REDIS_URL)")
	fs.IntVar(&c.DBMaxConns, "db-max-conns", c.envInt(getenv, "SURGE_DB_MAX_CONNS", 16), "SQL connection pool size (env SURGE_DB_MAX_CONNS)")
	fs.StringVar(&c.PSPURL, "psp-url", env("SURGE_PSP_URL", ""), "payment provider URL; empty runs the simulator in-process (env SURGE_PSP_URL)")
	fs.IntVar(&c.WorkerDBConns, "worker-db-conns", c.envInt(getenv, "SURGE_WORKER_DB_CONNS", 16), "PostgreSQL pool of the relay, workers and sweeper, apart from the request path's (env SURGE_WORKER_DB_CONNS)")
	fs.StringVar(&c.LogLevel, "log-level", env("SURGE_LOG_LEVEL", "info"), "debug, info, warn or error (env SURGE_LOG_LEVEL)")
	// The admin key is read from the environment only: a flag would show it
	// to every user of ps.
	c.AdminKey = getenv("SURGE_ADMIN_KEY")
	// So is the provider's key; serve and audit both call the provider.
	c.PSPAPIKey = getenv("SURGE_PSP_API_KEY")
	return c
}

// RegisterServe adds the flags only `surge serve` needs.
func (c *Config) RegisterServe(fs *flag.FlagSet, getenv func(string) string) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.Addr, "addr", env("SURGE_ADDR", "127.0.0.1:8080"), "HTTP listen address (env SURGE_ADDR)")
	fs.StringVar(&c.ReplicaURL, "replica-url", env("SURGE_REPLICA_URL", ""), "PostgreSQL streaming replica for catalog reads; empty reads the primary (env SURGE_REPLICA_URL)")
	fs.DurationVar(&c.MaxReplicaLag, "max-replica-lag", c.envDuration(getenv, "SURGE_MAX_REPLICA_LAG", time.Second), "catalog reads leave a replica further behind than this for the primary (env SURGE_MAX_REPLICA_LAG)")
	fs.BoolVar(&c.Demo, "demo", c.envBool(getenv, "SURGE_DEMO", false), "seed a demo shop with a dozen products (env SURGE_DEMO=true)")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", int64(c.envInt(getenv, "SURGE_MAX_BODY_BYTES", 1<<20)), "largest accepted request body (env SURGE_MAX_BODY_BYTES)")
	fs.DurationVar(&c.RequestTimeout, "request-timeout", c.envDuration(getenv, "SURGE_REQUEST_TIMEOUT", 5*time.Second), "deadline of every request (env SURGE_REQUEST_TIMEOUT)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.envDuration(getenv, "SURGE_SHUTDOWN_TIMEOUT", 15*time.Second), "how long in-flight requests may drain on SIGTERM (env SURGE_SHUTDOWN_TIMEOUT)")
	fs.DurationVar(&c.DrainDelay, "drain-delay", c.envDuration(getenv, "SURGE_DRAIN_DELAY", 0), "how long /readyz fails before the listener closes, so load balancers notice (env SURGE_DRAIN_DELAY)")
	fs.DurationVar(&c.CacheTTL, "cache-ttl", c.envDuration(getenv, "SURGE_CACHE_TTL", 5*time.Second), "how long catalog reads are served from cache (env SURGE_CACHE_TTL)")
	fs.DurationVar(&c.CacheMaxStale, "cache-max-stale", c.envDuration(getenv, "SURGE_CACHE_MAX_STALE", 5*time.Minute), "how long past its TTL a cached read may be served while the database fails (env SURGE_CACHE_MAX_STALE)")
	fs.StringVar(&c.Roles, "roles", env("SURGE_ROLES", "api,relay,worker,sweeper"), "comma-separated roles to run: api, relay, worker, sweeper (env SURGE_ROLES)")
	fs.IntVar(&c.StreamReplicas, "stream-replicas", c.envInt(getenv, "SURGE_STREAM_REPLICAS", 1), "JetStream replicas per stream: 3 on a three-node cluster (env SURGE_STREAM_REPLICAS)")
	fs.DurationVar(&c.EventRetention, "event-retention", c.envDuration(getenv, "SURGE_EVENT_RETENTION", 30*24*time.Hour), "how long the broker keeps events (env SURGE_EVENT_RETENTION)")
	fs.DurationVar(&c.OutboxRetention, "outbox-retention", c.envDuration(getenv, "SURGE_OUTBOX_RETENTION", 24*time.Hour), "how long published events stay in the SQL outbox (env SURGE_OUTBOX_RETENTION)")
	fs.DurationVar(&c.RepublishWindow, "republish-window", c.envDuration(getenv, "SURGE_REPUBLISH_WINDOW", 10*time.Minute), "after an unclean embedded-broker start, events published this recently are sent again (env SURGE_REPUBLISH_WINDOW)")
	c.PSPWebhookSecret = getenv("SURGE_PSP_WEBHOOK_SECRET")
	fs.StringVar(&c.SMTPURL, "smtp-url", env("SURGE_SMTP_URL", ""), "deliver notifications by SMTP, smtp://[user:password@]host:port[?from=address]; unset keeps them in the shop's sink (env SURGE_SMTP_URL)")
	c.TokenSecrets = getenv("SURGE_TOKEN_SECRETS")
	fs.DurationVar(&c.TokenTTL, "token-ttl", c.envDuration(getenv, "SURGE_TOKEN_TTL", 24*time.Hour), "lifetime of customer tokens (env SURGE_TOKEN_TTL)")
	fs.DurationVar(&c.ReservationTTL, "reservation-ttl", c.envDuration(getenv, "SURGE_RESERVATION_TTL", 15*time.Minute), "how long unpaid stock stays reserved (env SURGE_RESERVATION_TTL)")
	c.registerBudgets(fs, getenv)
	fs.DurationVar(&c.ReconcileInterval, "reconcile-interval", c.envDuration(getenv, "SURGE_RECONCILE_INTERVAL", time.Second), "how often the sweeper finishes pending payments and expired reservations (env SURGE_RECONCILE_INTERVAL)")
	fs.BoolVar(&c.RateLimits, "rate-limits", getenv("SURGE_RATE_LIMITS") != "off", "enforce rate limits (env SURGE_RATE_LIMITS=off disables; shedding stays on)")
	fs.IntVar(&c.RateLimitIP, "rate-limit-ip", c.envInt(getenv, "SURGE_RATE_LIMIT_IP", 200), "requests per second per client IP, burst twice that (env SURGE_RATE_LIMIT_IP)")
	fs.IntVar(&c.RateLimitKey, "rate-limit-key", c.envInt(getenv, "SURGE_RATE_LIMIT_KEY", 100), "requests per second per shop or admin API key (env SURGE_RATE_LIMIT_KEY)")
	fs.IntVar(&c.RateLimitCustomer, "rate-limit-customer", c.envInt(getenv, "SURGE_RATE_LIMIT_CUSTOMER", 10), "requests per second per customer token (env SURGE_RATE_LIMIT_CUSTOMER)")
	fs.IntVar(&c.SignupLimit, "signup-limit", c.envInt(getenv, "SURGE_SIGNUP_LIMIT", 20), "customer sign-ups per minute per client address (IPv6: per /64), so identities cost a bot more than a request (env SURGE_SIGNUP_LIMIT; off with the other rate limits)")
	fs.StringVar(&c.TierLimits, "tier-limits", env("SURGE_TIER_LIMITS", "free=20,standard=1000,enterprise=10000"), "requests per second per shop by quota tier (env SURGE_TIER_LIMITS)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", env("SURGE_TRUSTED_PROXIES", ""), "comma-separated CIDRs allowed to set X-Forwarded-For (env SURGE_TRUSTED_PROXIES)")
	fs.StringVar(&c.CORSOrigins, "cors-origins", env("SURGE_CORS_ORIGINS", ""), "comma-separated exact origins (https://shop.example) whose browser pages may call the API; empty: no cross-origin access (env SURGE_CORS_ORIGINS)")
	fs.BoolVar(&c.Shedding, "shedding", getenv("SURGE_SHEDDING") != "off", "adaptive load shedding (env SURGE_SHEDDING=off disables, for baseline benchmarks only)")
	fs.IntVar(&c.CheckoutConcurrency, "checkout-concurrency", c.envInt(getenv, "SURGE_CHECKOUT_CONCURRENCY", 0), "checkouts in flight before more are shed; 0: the size of --db-max-conns (env SURGE_CHECKOUT_CONCURRENCY)")
	fs.IntVar(&c.MaxConnsPerClient, "max-conns-per-client", c.envInt(getenv, "SURGE_MAX_CONNS_PER_CLIENT", 1024), "open connections one client IP may hold (env SURGE_MAX_CONNS_PER_CLIENT)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", env("SURGE_METRICS_ADDR", ""), "also serve /metrics on this separate address, with per-shop business figures (flash-sale units left, queues) that the API port's /metrics never shows; empty disables (env SURGE_METRICS_ADDR)")
	fs.StringVar(&c.PprofAddr, "pprof-addr", env("SURGE_PPROF_ADDR", ""), "serve Go profiles (/debug/pprof) on this separate address, e.g. 127.0.0.1:6060; empty disables (env SURGE_PPROF_ADDR)")
	fs.BoolVar(&c.PprofAllowRemote, "pprof-allow-remote", c.envBool(getenv, "SURGE_PPROF_ALLOW_REMOTE", false), "allow --pprof-addr on a non-loopback address: profiles have no authentication (env SURGE_PPROF_ALLOW_REMOTE)")
	fs.StringVar(&c.OTLPEndpoint, "otlp-endpoint", env("OTEL_EXPORTER_OTLP_ENDPOINT", ""), "OpenTelemetry collector (OTLP/HTTP base URL, e.g. http://127.0.0.1:4318) that receives a span per request and per event handled; empty exports none (env OTEL_EXPORTER_OTLP_ENDPOINT)")
	fs.Float64Var(&c.TraceSampleRatio, "trace-sample-ratio", c.envFloat(getenv, "SURGE_TRACE_SAMPLE_RATIO", 1), "share of new traces exported, 0 to 1; requests with a traceparent follow its sampled flag (env SURGE_TRACE_SAMPLE_RATIO)")
	fs.DurationVar(&c.ClockOffset, "clock-offset", c.envDuration(getenv, "SURGE_CLOCK_OFFSET", 0), "drills and tests only: shift this process's clock by this much (e.g. 5m or -5m) to play a replica whose clock is wrong (env SURGE_CLOCK_OFFSET)")
	fs.BoolVar(&c.AccessLog, "access-log", c.envBool(getenv, "SURGE_ACCESS_LOG", true), "log every request (env SURGE_ACCESS_LOG=false disables)")
}

// RegisterAudit adds the flags `surge audit` needs beside the shared ones:
// the settings of serve an audit judges the data against.
func (c *Config) RegisterAudit(fs *flag.FlagSet, getenv func(string) string) {
	c.registerBudgets(fs, getenv)
}

func (c *Config) registerBudgets(fs *flag.FlagSet, getenv func(string) string) {
	fs.DurationVar(&c.IdempotencyTTL, "idempotency-ttl", c.envDuration(getenv, "SURGE_IDEMPOTENCY_TTL", 24*time.Hour), "how long Idempotency-Keys are remembered (env SURGE_IDEMPOTENCY_TTL)")
	fs.DurationVar(&c.ChargeBudget, "charge-budget", c.envDuration(getenv, "SURGE_CHARGE_BUDGET", 10*time.Second), "how long a checkout's charge may take before the sweeper asks the provider (env SURGE_CHARGE_BUDGET)")
}

func (c *Config) envInt(getenv func(string) string, name string, def int) int {
	raw := getenv(name)
	if raw == "" {
		return def
	}
	v, err := strconv.Atoi(raw)
	if err != nil {
		c.envErrs = append(c.envErrs, fmt.Sprintf("%s=%q is not an integer", name, raw))
		return def
	}
	return v
}

// envBool reads a boolean the way strconv.ParseBool does (1, t, true,
// 0, f, false, any case).
func (c *Config) envBool(getenv func(string) string, name string, def bool) bool {
	raw := getenv(name)
	if raw == "" {
		return def
	}
	v, err := strconv.ParseBool(raw)
	if err != nil {
		c.envErrs = append(c.envErrs, fmt.Sprintf("%s=%q is not true or false", name, raw))
		return def
	}
	return v
}

func (c *Config) envFloat(getenv func(string) string, name string, def float64) float64 {
	raw := getenv(name)
	if raw == "" {
		return def
	}
	v, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		c.envErrs = append(c.envErrs, fmt.Sprintf("%s=%q is not a number", name, raw))
		return def
	}
	return v
}

func (c *Config) envDuration(getenv func(string) string, name string, def time.Duration) time.Duration {
	raw := getenv(name)
	if raw == "" {
		return def
	}
	v, err := time.ParseDuration(raw)
	if err != nil {
		c.envErrs = append(c.envErrs, fmt.Sprintf("%s=%q is not a duration such as 5s", name, raw))
		return def
	}
	return v
}

// Validate reports shared settings that cannot work: the ones every
// subcommand that opens the store uses. Commands other than serve call it
// alone, so a serve-only setting never stops `surge audit` or `surge migrate`.
func (c *Config) Validate() error {
	if len(c.envErrs) > 0 {
		return fmt.Errorf("bad environment: %s", strings.Join(c.envErrs, "; "))
	}
	switch {
	case c.DBMaxConns < 1:
		return fmt.Errorf("--db-max-conns must be at least 1")
	case c.WorkerDBConns < 1:
		return fmt.Errorf("--worker-db-conns must be at least 1")
	}
	return nil
}

// ValidateServe reports settings of `surge serve` that cannot work: the
// shared ones and those RegisterServe adds.
func (c *Config) ValidateServe() error {
	if err := c.Validate(); err != nil {
		return err
	}
	if c.ReplicaURL != "" && c.DatabaseURL == "" {
		return fmt.Errorf("--replica-url needs PostgreSQL (--database-url)")
	}
	if c.MaxReplicaLag <= 0 {
		return fmt.Errorf("--max-replica-lag must be positive")
	}
	for _, r := range strings.Split(c.Roles, ",") {
		switch r = strings.TrimSpace(r); r {
		case "", "api", "relay", "worker", "sweeper":
		default:
			return fmt.Errorf("--roles: unknown role %q (known: api, relay, worker, sweeper)", r)
		}
	}
	switch {
	case c.OutboxRetention < c.RepublishWindow:
		return fmt.Errorf("--outbox-retention must be at least --republish-window")
	case c.TraceSampleRatio < 0 || c.TraceSampleRatio > 1:
		return fmt.Errorf("--trace-sample-ratio must be between 0 and 1")
	case c.StreamReplicas < 1 || c.StreamReplicas > 5:
		return fmt.Errorf("--stream-replicas must be between 1 and 5")
	case c.CacheTTL < 0 || c.CacheMaxStale < 0:
		return fmt.Errorf("--cache-ttl and --cache-max-stale must not be negative")
	case c.RateLimitIP < 0 || c.RateLimitKey < 0 || c.RateLimitCustomer < 0 || c.SignupLimit < 0:
		return fmt.Errorf("rate limits must not be negative")
	case c.CheckoutConcurrency < 0:
		return fmt.Errorf("--checkout-concurrency must not be negative")
	case c.MaxConnsPerClient < 1:
		return fmt.Errorf("--max-conns-per-client must be at least 1")
	case c.MaxBodyBytes < 1024 && c.Addr != "":
		return fmt.Errorf("--max-body-bytes must be at least 1024")
	case c.RequestTimeout <= 0 && c.Addr != "":
		return fmt.Errorf("--request-timeout must be positive")
	}
	return nil
}

// ValidateCharge reports a reservation that could expire while its charge
// is still in flight: the sweeper decides an order only once its charge
// budget plus checkout.ChargeMargin has passed, so a shorter reservation
// would hold stock it cannot keep (docs/INVARIANTS.md, I9). It concerns
// only the serve settings.
func (c *Config) ValidateCharge() error {
	if c.ReservationTTL <= c.ChargeBudget+checkout.ChargeMargin {
		return fmt.Errorf("--reservation-ttl (%s) must be longer than --charge-budget (%s) plus %s, "+
			"or a reservation could expire while its charge is still in flight",
			c.ReservationTTL, c.ChargeBudget, checkout.ChargeMargin)
	}
	return nil
}

// ValidateAdminKey refuses a platform admin key (SURGE_ADMIN_KEY) that is
// short or repetitive enough to guess: at least MinAdminKeyLength
// characters and, estimated as length × log2(distinct characters), at
// least MinAdminKeyBits bits. `openssl rand -hex 16` passes; "admin" or
// "changeme-changeme-changeme" do not. An unset key is generated.
func (c *Config) ValidateAdminKey() error {
	if c.AdminKey == "" {
		return nil
	}
	if len(c.AdminKey) < MinAdminKeyLength || keyBits(c.AdminKey) < MinAdminKeyBits {
		return fmt.Errorf("SURGE_ADMIN_KEY is too weak: use at least %d characters of random text, e.g. $(openssl rand -hex 16)", MinAdminKeyLength)
	}
	return nil
}

// The admin key's strength floor.
const (
	MinAdminKeyLength = 24
	MinAdminKeyBits   = 96
)

// keyBits estimates a key's entropy from its length and how many distinct
// characters it uses.
func keyBits(key string) float64 {
	distinct := map[rune]bool{}
	for _, r := range key {
		distinct[r] = true
	}
	return float64(len([]rune(key))) * math.Log2(float64(len(distinct)))
}

// ValidatePprof refuses a profiling listener reachable from other hosts
// unless --pprof-allow-remote says so: /debug/pprof has no authentication
// and shows memory contents, secrets included.
func (c *Config) ValidatePprof() error {
	if c.PprofAddr == "" || c.PprofAllowRemote {
		return nil
	}
	host, _, err := net.SplitHostPort(c.PprofAddr)
	if err != nil {
		return fmt.Errorf("--pprof-addr: %w", err)
	}
	if ip, err := netip.ParseAddr(host); host == "localhost" || (err == nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("--pprof-addr %s is not a loopback address: profiles have no authentication; use 127.0.0.1 or pass --pprof-allow-remote", c.PprofAddr)
}

// HasRole reports whether role is among the roles to run.
func (c *Config) HasRole(role string) bool {
	for _, r := range strings.Split(c.Roles, ",") {
		if strings.TrimSpace(r) == role {
			return true
		}
	}
	return false
}

// ParseTokenSecrets parses "kid:secret,kid2:secret2".
func ParseTokenSecrets(raw string) ([][2]string, error) {
	var out [][2]string
	for _, pair := range strings.Split(raw, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		kid, secret, ok := strings.Cut(pair, ":")
		if !ok || kid == "" || len(secret) < 32 {
			return nil, fmt.Errorf("SURGE_TOKEN_SECRETS: each entry must be kid:secret with a secret of at least 32 characters")
		}
		out = append(out, [2]string{kid, secret})
	}
	return out, nil
}

// ParseTierLimits parses "free=20,standard=1000".
func ParseTierLimits(raw string) (map[string]int, error) {
	out := map[string]int{}
	for _, pair := range strings.Split(raw, ",") {
		name, n, ok := strings.Cut(strings.TrimSpace(pair), "=")
		v, err := strconv.Atoi(n)
		if !ok || err != nil || v < 0 {
			return nil, fmt.Errorf("--tier-limits: %q is not tier=requests-per-second", pair)
		}
		out[name] = v
	}
	return out, nil
}

// ParseCIDRs parses a comma-separated list of CIDRs.
func ParseCIDRs(raw string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, c := range strings.Split(raw, ",") {
		if c = strings.TrimSpace(c); c == "" {
			continue
		}
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %w", err)
		}
		out = append(out, p)
	}
	return out, nil
}

// ParseOrigins parses a comma-separated list of exact browser origins:
// scheme and host (and port), nothing else, as a browser sends them.
func ParseOrigins(raw string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(raw, ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.Contains(o, "*") {
			return nil, fmt.Errorf("--cors-origins: %q is not an origin such as https://shop.example", o)
		}
		out = append(out, strings.ToLower(o))
	}
	return out, nil
}
