package app

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/surge-commerce/surge/internal/audit"
	"github.com/surge-commerce/surge/internal/broker"
	"github.com/surge-commerce/surge/internal/config"
	"github.com/surge-commerce/surge/internal/customer"
	"github.com/surge-commerce/surge/internal/gateway/loadshed"
	"github.com/surge-commerce/surge/internal/gateway/ratelimit"
	"github.com/surge-commerce/surge/internal/httpapi"
	"github.com/surge-commerce/surge/internal/inventory"
	"github.com/surge-commerce/surge/internal/order"
	pspclient "github.com/surge-commerce/surge/internal/payment/client"
	"github.com/surge-commerce/surge/internal/platform"
	"github.com/surge-commerce/surge/internal/recommend"
	"github.com/surge-commerce/surge/internal/store"
	"github.com/surge-commerce/surge/internal/tracing"
	"github.com/surge-commerce/surge/internal/web"
	"github.com/surge-commerce/surge/internal/worker"
)

// apiDeps is what the HTTP interface is built from.
type apiDeps struct {
	cfg           *config.Config
	log           *slog.Logger
	st            *store.Store
	brk           *broker.Broker
	pay           *pspclient.Client
	mods          modules
	admin         *platform.Admin
	tokens        *customer.Tokens
	limits        httpapi.Limits
	limiter       *ratelimit.Limiter
	shedder       *loadshed.Shedder
	flags         *platform.Flags
	tracer        *tracing.Tracer
	reg           *prometheus.Registry
	redisState    string
	corsOrigins   []string
	ticketKey     []byte
	webhookSecret string
	now           func() time.Time
}

// newAPI builds the HTTP interface: the API routes when the process has
// the api role, and always the probes, the metrics and the ops console.
func newAPI(d apiDeps) (*httpapi.Server, error) {
	site, err := web.New()
	if err != nil {
		return nil, err
	}
	cfg, st, pay, mods := d.cfg, d.st, d.pay, d.mods
	// The audit reads the provider's ledger through a client of its own: a
	// breaker that checkout's failures opened must not refuse the audit,
	// and the audit's long ledger reads must not count against checkout.
	auditPSP := pspclient.New(pspclient.Config{BaseURL: pay.URL(), APIKey: pay.APIKey(), TotalTimeout: 30 * time.Second, AttemptTimeout: 20 * time.Second})
	return httpapi.NewServer(httpapi.Config{
		Logger: d.log, Admin: d.admin, Shops: mods.shops, Catalog: mods.catalog,
		Customers: customer.NewService(st, d.tokens, d.now), Carts: mods.carts, Checkout: mods.checkout,
		Orders: order.NewService(st, mods.payments, d.now), Inventory: inventory.NewService(st),
		Recommend: recommend.NewService(st, d.now), ReadModels: st, Sales: mods.sales,
		Info: map[string]func(context.Context) any{
			"outbox": outboxInfo(st, d.now),
			"breakers": func(context.Context) any {
				return map[string]string{"payments": pay.BreakerState(), "database": st.BreakerState(), "redis": d.limiter.BreakerState()}
			},
			"redis": func(context.Context) any { return d.redisState },
			// The broker is reported, not required: requests never wait for
			// it (events go through the outbox), so a NATS outage must not
			// take every replica out of the balancer (docs/INVARIANTS.md,
			// I8). The NATS-down drill found it did. A quarter second, so a
			// broker that does not answer cannot slow /readyz past the
			// balancer's check timeout (500 ms in the drills' HAProxy, 1 s in deploy/kubernetes).
			"broker": func(ctx context.Context) any {
				ctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
				defer cancel()
				if err := d.brk.Ping(ctx); err != nil {
					return "failing: " + err.Error()
				}
				return "ok"
			},
		},
		Limits: d.limits, Limiter: rateLimiterIf(cfg.RateLimits, d.limiter), Shedder: d.shedder, Flags: d.flags, Tracer: d.tracer,
		APIRoutes:     cfg.HasRole("api"),
		Site:          site,
		ConsoleKey:    deriveKey(d.ticketKey, "surge console sessions"),
		SaleFigures:   saleFigures(st),
		DeadLetters:   worker.DeadLetters{JS: d.brk.JetStream(), Handlers: Consumers(st, d.now)},
		WebhookSecret: d.webhookSecret, Webhooks: st, Registry: d.reg,
		Auditor: func(ctx context.Context, settle time.Duration) (audit.Report, error) {
			opts := AuditOptions(cfg, st, settle, auditGrace(cfg))
			opts.Now, opts.DeadLetters = d.now, DeadLetters(d.brk.JetStream())
			return audit.Run(ctx, st, auditPSP.AuditLedger(), opts)
		},
		Checks: map[string]httpapi.Check{
			"store": st.Ping,
		},
		MaxBodyBytes: cfg.MaxBodyBytes, RequestTimeout: cfg.RequestTimeout,
		CacheMaxAge: cfg.CacheTTL, AccessLog: cfg.AccessLog, CORSOrigins: d.corsOrigins,
	}), nil
}

func newHTTPServer(h http.Handler, requestTimeout time.Duration, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      requestTimeout + 10*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// drain fails /readyz, gives load balancers drainDelay to notice, then
// lets in-flight requests finish within timeout.
func drain(api *httpapi.Server, srv *http.Server, drainDelay, timeout time.Duration, log *slog.Logger) {
	log.Info("shutting down: draining", "drain_delay", drainDelay.String(), "timeout", timeout.String())
	api.Drain()
	if drainDelay > 0 {
		// Load balancers need a moment to see /readyz fail before the
		// listener goes away; otherwise they send requests into a closed port.
		time.Sleep(drainDelay)
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("in-flight requests did not finish in time", "err", err)
	}
	log.Info("stopped")
}

// newShedder is the overload shedder (docs/INVARIANTS.md, I7), or nil when
// shedding is off.
func newShedder(cfg *config.Config, st *store.Store, reg prometheus.Registerer) *loadshed.Shedder {
	if !cfg.Shedding {
		return nil
	}
	shedCfg := loadshed.DefaultConfig(uint(cfg.DBMaxConns))
	if cfg.CheckoutConcurrency > 0 {
		shedCfg.Bulkheads[loadshed.Checkout] = uint(cfg.CheckoutConcurrency)
	}
	shedCfg.QueueDelay = st.WriterQueueDelay
	// On SQLite a checkout is mostly processor time in this process, so
	// slower checkouts mean a queue for the processor. On PostgreSQL
	// they may mean a slower network or database, which shedding here
	// would not cure.
	shedCfg.FollowLatency = st.OneWriter()
	// On PostgreSQL nothing else paces checkouts, and an ordinary
	// load's bursts brush the pool-sized bulkhead on a busy machine: a
	// checkout waits a little for a slot rather than be refused. On
	// SQLite the checkout limit paces them; a wait there only added
	// to admitted checkouts' latency under overload (bench/RESULTS.md).
	if !st.OneWriter() {
		shedCfg.CheckoutWait = shedCfg.MaxWait
	}
	return loadshed.New(shedCfg, reg)
}

func rateLimits(cfg *config.Config, rdb *redis.Client) (httpapi.Limits, *ratelimit.Limiter, error) {
	tiers, err := config.ParseTierLimits(cfg.TierLimits)
	if err != nil {
		return httpapi.Limits{}, nil, err
	}
	proxies, err := config.ParseCIDRs(cfg.TrustedProxies)
	if err != nil {
		return httpapi.Limits{}, nil, err
	}
	return httpapi.Limits{
		PerIP: cfg.RateLimitIP, PerKey: cfg.RateLimitKey, PerCustomer: cfg.RateLimitCustomer,
		PerShop: tiers, TrustedProxies: proxies, SignupsPerMinute: cfg.SignupLimit,
	}, ratelimit.New(rdb), nil
}

// rateLimiterIf returns l, or nil (limits off) when rate limiting is disabled.
func rateLimiterIf(on bool, l *ratelimit.Limiter) *ratelimit.Limiter {
	if !on {
		return nil
	}
	return l
}

// saleFigures reads the flash sales' live figures for the ops console.
func saleFigures(st *store.Store) func(context.Context) ([]httpapi.SaleFigure, error) {
	return func(ctx context.Context) ([]httpapi.SaleFigure, error) {
		stats, err := st.SaleStats(ctx)
		out := make([]httpapi.SaleFigure, len(stats))
		for i, s := range stats {
			out[i] = httpapi.SaleFigure{Shop: s.Shop, SKU: s.SKU, UnitsLeft: s.UnitsLeft, Queue: s.Queue, AdmissionRate: s.AdmissionRate}
		}
		return out, err
	}
}
