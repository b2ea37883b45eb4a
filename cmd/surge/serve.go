package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/surge-commerce/surge/internal/audit"
	"github.com/surge-commerce/surge/internal/broker"
	"github.com/surge-commerce/surge/internal/cache"
	"github.com/surge-commerce/surge/internal/cart"
	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/config"
	"github.com/surge-commerce/surge/internal/connlimit"
	"github.com/surge-commerce/surge/internal/customer"
	"github.com/surge-commerce/surge/internal/datadir"
	"github.com/surge-commerce/surge/internal/demo"
	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/flashsale"
	"github.com/surge-commerce/surge/internal/httpapi"
	"github.com/surge-commerce/surge/internal/inventory"
	"github.com/surge-commerce/surge/internal/loadshed"
	"github.com/surge-commerce/surge/internal/mailer"
	"github.com/surge-commerce/surge/internal/order"
	"github.com/surge-commerce/surge/internal/platform"
	"github.com/surge-commerce/surge/internal/pspclient"
	"github.com/surge-commerce/surge/internal/ratelimit"
	"github.com/surge-commerce/surge/internal/recommend"
	"github.com/surge-commerce/surge/internal/rediscache"
	"github.com/surge-commerce/surge/internal/relay"
	"github.com/surge-commerce/surge/internal/shop"
	"github.com/surge-commerce/surge/internal/store"
	"github.com/surge-commerce/surge/internal/tracing"
	"github.com/surge-commerce/surge/internal/web"
	"github.com/surge-commerce/surge/internal/worker"
)

// runServe wires every module to its backends and serves until ctx ends,
// then drains: /readyz fails, in-flight requests finish (bounded), the
// background work stops, and the backends close.
func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config.Register(fs, getenv)
	cfg.RegisterServe(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := cfg.ValidateServe(); err != nil {
		return err
	}
	if err := cfg.ValidateCharge(); err != nil {
		return err
	}
	if err := cfg.ValidateAdminKey(); err != nil {
		return err
	}
	if err := cfg.ValidatePprof(); err != nil {
		return err
	}
	// Everything that can be refused is checked before anything is created
	// or printed: a start that fails leaves no data directory, no database
	// and no admin key shown once and then lost.
	log, err := newLogger(stderr, cfg.LogLevel)
	if err != nil {
		return err
	}
	if cfg.SMTPURL != "" {
		if err := mailer.CheckURL(cfg.SMTPURL); err != nil {
			return err
		}
	}
	corsOrigins, err := config.ParseOrigins(cfg.CORSOrigins)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	ln = httpapi.ProblemListener(ln)
	var metricsLn net.Listener
	if cfg.MetricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return fmt.Errorf("listen on --metrics-addr %s: %w", cfg.MetricsAddr, err)
		}
		defer metricsLn.Close()
	}
	if cfg.DatabaseURL == "" || cfg.NATSURL == "" || cfg.PSPURL == "" {
		lock, err := datadir.Acquire(cfg.DataDir)
		if err != nil {
			return err
		}
		defer lock.Release()
		if open, err := datadir.OpenToOthers(cfg.DataDir); err == nil && open {
			log.Warn("the data directory holds secrets and other users can read it; run: chmod 700 "+cfg.DataDir, "data", cfg.DataDir)
		}
	}
	tracer, err := tracing.Setup(ctx, tracing.Config{Endpoint: cfg.OTLPEndpoint, SampleRatio: cfg.TraceSampleRatio,
		Service: "surge", Version: version, Role: cfg.Roles, Logger: log})
	if err != nil {
		return err
	}
	defer func() {
		// Deferred first, so it runs last: after the workers' final spans.
		fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tracer.Shutdown(fctx); err != nil {
			log.Warn("the last spans were not exported", "err", err)
		}
	}()

	st, err := store.Open(ctx, store.Config{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir, MaxConns: cfg.DBMaxConns,
		ReplicaURL: cfg.ReplicaURL, MaxReplicaLag: cfg.MaxReplicaLag})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	brk, err := broker.Start(ctx, broker.Config{URL: cfg.NATSURL, DataDir: cfg.DataDir, Name: "surge"})
	if err != nil {
		return err
	}
	defer brk.Close()
	if err := prepareEvents(ctx, st, brk, cfg, log); err != nil {
		return err
	}
	rediscache.SetLogger(log) // go-redis's own lines are JSON too
	rdb, redisState := connectRedis(ctx, cfg.RedisURL)
	if rdb != nil {
		defer rdb.Close()
	}

	now := shiftedClock(cfg.ClockOffset)
	if cfg.ClockOffset != 0 {
		log.Warn("this process's clock is shifted on purpose (--clock-offset): a drill or test aid, never for production", "offset", cfg.ClockOffset.String())
	}
	admin := platform.NewAdmin(st, cfg.AdminKey, now)
	pay, webhookSecret, stopPSP, err := startPayments(ctx, cfg, "http://"+ln.Addr().String()+"/v1/payments/webhook", log)
	if err != nil {
		return err
	}
	defer stopPSP()
	// The audit reads the provider's ledger through a client of its own: a
	// breaker that checkout's failures opened must not refuse the audit,
	// and the audit's long ledger reads must not count against checkout.
	auditPSP := pspclient.New(pspclient.Config{BaseURL: pay.URL(), APIKey: pay.APIKey(), TotalTimeout: 30 * time.Second, AttemptTimeout: 20 * time.Second})
	tokens, ticketKey, err := newTokens(ctx, st, cfg, now)
	if err != nil {
		return err
	}

	shops := shop.NewService(st, now, cfg.CacheTTL, cfg.CacheMaxStale)
	catalogOpts := cache.Options{
		MaxEntries: 100_000, TTL: cfg.CacheTTL, MaxStale: cfg.CacheMaxStale, LoadTimeout: cfg.RequestTimeout, Now: now,
	}
	var l2 *rediscache.Redis
	if rdb != nil {
		l2 = rediscache.New(rdb, "surge:catalog:")
		catalogOpts.L2 = l2
	}
	cat := catalog.NewService(st, now, catalogOpts)
	if l2 != nil {
		go l2.Subscribe(ctx, cat.ForgetProduct) // other replicas' changes
	}
	carts := cart.NewService(st, cat, now)
	payments := pspclient.Payments{Client: pay}
	sales := flashsale.NewService(st, st, ticketKey, now)
	checkoutSvc := checkout.NewService(st, carts, payments, sales, checkout.Config{
		ReservationTTL: cfg.ReservationTTL, KeyTTL: cfg.IdempotencyTTL, ChargeBudget: cfg.ChargeBudget,
	}, now, log)

	reg := newRegistry(st, cat, brk)
	flags := platform.NewFlags(st, now, 2*time.Second)
	limits, limiter, err := rateLimits(cfg, rdb)
	if err != nil {
		return err
	}
	var shedder *loadshed.Shedder
	if cfg.Shedding {
		shedCfg := loadshed.DefaultConfig(uint(cfg.DBMaxConns))
		if cfg.CheckoutConcurrency > 0 {
			shedCfg.Bulkheads[loadshed.Checkout] = uint(cfg.CheckoutConcurrency)
		}
		shedCfg.QueueDelay = st.WriterQueueDelay
		// On SQLite a checkout is mostly processor time in this process, so
		// slower checkouts mean a queue for the processor. On PostgreSQL
		// they may mean a slower network or database, which shedding here
		// would not cure.
		shedCfg.FollowLatency = st.Engine() == store.SQLite
		// On PostgreSQL nothing else paces checkouts, and an ordinary
		// load's bursts brush the pool-sized bulkhead on a busy machine: a
		// checkout waits a little for a slot rather than be refused. On
		// SQLite the checkout limit paces them; a wait there only added
		// to admitted checkouts' latency under overload (bench/RESULTS.md).
		if st.Engine() == store.Postgres {
			shedCfg.CheckoutWait = shedCfg.MaxWait
		}
		shedder = loadshed.New(shedCfg, reg)
	}
	for _, name := range platform.Names() {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "surge_feature_flag", Help: "Runtime feature flags: 1 on, 0 off.", ConstLabels: prometheus.Labels{"flag": name},
		}, func() float64 {
			if flags.Enabled(name) {
				return 1
			}
			return 0
		}))
	}
	registerBreakers(reg, map[string]func() string{
		"payments": pay.BreakerState, "database": st.BreakerState, "redis": limiter.BreakerState,
	})
	site, err := web.New()
	if err != nil {
		return err
	}
	api := httpapi.NewServer(httpapi.Config{
		Logger: log, Admin: admin, Shops: shops, Catalog: cat,
		Customers: customer.NewService(st, tokens, now), Carts: carts, Checkout: checkoutSvc,
		Orders: order.NewService(st, payments, now), Inventory: inventory.NewService(st),
		Recommend: recommend.NewService(st, now), ReadModels: st, Sales: sales,
		Info: map[string]func(context.Context) any{
			"outbox": outboxInfo(st, now),
			"breakers": func(context.Context) any {
				return map[string]string{"payments": pay.BreakerState(), "database": st.BreakerState(), "redis": limiter.BreakerState()}
			},
			"redis": func(context.Context) any { return redisState },
		},
		Limits: limits, Limiter: rateLimiterIf(cfg.RateLimits, limiter), Shedder: shedder, Flags: flags, Tracer: tracer,
		APIRoutes:     cfg.HasRole("api"),
		Site:          site,
		ConsoleKey:    deriveKey(ticketKey, "surge console sessions"),
		SaleFigures:   saleFigures(st),
		WebhookSecret: webhookSecret, Webhooks: st, Registry: reg,
		Auditor: func(ctx context.Context, settle time.Duration) (audit.Report, error) {
			opts := auditOptions(cfg, st, settle, auditGrace(cfg))
			opts.Now, opts.DeadLetters = now, deadLettersOf(brk.JetStream())
			return audit.Run(ctx, st, auditPSP.AuditLedger(), opts)
		},
		Checks: map[string]httpapi.Check{
			"store":  st.Ping,
			"broker": brk.Ping,
		},
		MaxBodyBytes: cfg.MaxBodyBytes, RequestTimeout: cfg.RequestTimeout,
		CacheMaxAge: cfg.CacheTTL, AccessLog: cfg.AccessLog, CORSOrigins: corsOrigins,
	})
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      cfg.RequestTimeout + 10*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	newAdminKey, err := admin.EnsureKey(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "surge %s listening on http://%s\n", version, ln.Addr())
	fmt.Fprintf(stdout, "  store:  %s\n", describeStore(st, cfg))
	fmt.Fprintf(stdout, "  broker: %s\n", describeBroker(brk, cfg))
	fmt.Fprintf(stdout, "  redis:  %s\n", redisState)
	fmt.Fprintf(stdout, "  payments: %s\n", describePayments(cfg))
	if cfg.SMTPURL != "" {
		fmt.Fprintf(stdout, "  mail:   smtp (%s)\n", redactURL(cfg.SMTPURL))
	} else {
		fmt.Fprintf(stdout, "  mail:   stored, readable at /v1/shops/{shop}/admin/notifications\n")
	}
	fmt.Fprintf(stdout, "  roles:  %s\n", cfg.Roles)
	if metricsLn != nil {
		fmt.Fprintf(stdout, "  metrics with per-shop figures: http://%s/metrics\n", metricsLn.Addr())
	}
	if newAdminKey != "" {
		fmt.Fprintf(stdout, "  platform admin key (shown once, store it now): %s\n", newAdminKey)
	}
	if cfg.Demo {
		key, err := demo.Seed(ctx, shops, cat)
		if err != nil {
			return err
		}
		if key != "" {
			fmt.Fprintf(stdout, "  demo shop: http://%s/v1/shops/%s/products (shop key, shown once: %s)\n", ln.Addr(), demo.Slug, key)
		} else {
			fmt.Fprintf(stdout, "  demo shop: http://%s/v1/shops/%s/products\n", ln.Addr(), demo.Slug)
		}
	}

	// Background work gets its own connection pool on PostgreSQL, so a
	// backlog of events can never starve checkout of connections (SQLite
	// has one writer either way). It needs room for the four consumers'
	// parallel effects: with 4 connections they fell seconds behind at
	// half the maximum checkout rate, with 16 they keep up.
	bg := st
	if st.Engine() == store.Postgres {
		if bg, err = store.Open(ctx, store.Config{DatabaseURL: cfg.DatabaseURL, MaxConns: cfg.WorkerDBConns}); err != nil {
			return err
		}
		defer bg.Close()
	}
	background := []service{flags}
	if shedder != nil {
		background = append(background, shedder)
	}
	if cfg.HasRole("sweeper") {
		bgCheckout := checkout.NewService(bg, carts, payments, sales, checkout.Config{
			ReservationTTL: cfg.ReservationTTL, KeyTTL: cfg.IdempotencyTTL, ChargeBudget: cfg.ChargeBudget,
		}, now, log)
		background = append(background, checkout.NewReconciler(bgCheckout, cfg.ReconcileInterval, payments))
	}
	if cfg.HasRole("relay") {
		background = append(background, relay.New(bg, brk.JetStream(), relayWake(ctx, st, cfg),
			relay.Config{Retention: cfg.OutboxRetention, Sole: bg.Engine() == store.SQLite}, now, log, reg))
	}
	if cfg.HasRole("worker") {
		m := worker.NewMetrics(reg)
		for _, h := range consumers(bg, now) {
			background = append(background, worker.New(brk.JetStream(), h, worker.Config{Tracer: tracer}, log, m))
		}
		if cfg.SMTPURL != "" {
			sender, err := mailer.New(bg, mailer.Config{URL: cfg.SMTPURL}, now, log, reg)
			if err != nil {
				return err
			}
			background = append(background, sender)
		}
	}
	bgCtx := store.Background(ctx)
	for _, svc := range background {
		if err := svc.Start(bgCtx); err != nil {
			return err
		}
		defer svc.Stop()
	}

	if metricsLn != nil {
		// Per-shop business figures (a sale's units left, its queue) go
		// only to this listener, never to the public API port's /metrics.
		perShop := prometheus.NewRegistry()
		perShop.MustRegister(newSaleCollector(st))
		all := prometheus.Gatherers{reg, perShop}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(all, promhttp.HandlerOpts{}))
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
		go func() { _ = msrv.Serve(metricsLn) }()
		defer msrv.Close()
	}
	if cfg.PprofAddr != "" {
		// Profiles on their own listener: never reachable through the API port.
		go func() {
			log.Warn("pprof server stopped", "err", http.ListenAndServe(cfg.PprofAddr, pprofMux()))
		}()
	}
	serveErr := make(chan error, 1)
	go func() {
		serveErr <- srv.Serve(connlimit.New(ln, cfg.MaxConnsPerClient, ratelimit.DefaultIPv6Prefix, log))
	}()
	select {
	case err := <-serveErr:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}

	log.Info("shutting down: draining", "drain_delay", cfg.DrainDelay.String(), "timeout", cfg.ShutdownTimeout.String())
	api.Drain()
	if cfg.DrainDelay > 0 {
		// Load balancers need a moment to see /readyz fail before the
		// listener goes away; otherwise they send requests into a closed port.
		time.Sleep(cfg.DrainDelay)
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("in-flight requests did not finish in time", "err", err)
	}
	log.Info("stopped")
	return nil
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// service is anything that runs in the background.
type service interface {
	Start(ctx context.Context) error
	Stop()
}

func newRegistry(st *store.Store, cat *catalog.Service, brk *broker.Broker) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "surge_outbox_lag_seconds", Help: "Age of the oldest unpublished outbox event (0 when none).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		lag, _, _ := st.OutboxLag(ctx, time.Now())
		return lag.Seconds()
	}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "surge_dlq_depth", Help: "Events in the dead-letter stream.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, _ := brk.StreamMessages(ctx, event.DLQ.Name)
		return float64(n)
	}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "surge_refunds_owed", Help: "Refunds the payment provider has not confirmed yet (money still owed back).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		owed, _ := st.OwedRefunds(ctx)
		return float64(len(owed))
	}))
	if _, _, configured := st.ReplicaLag(); configured {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "surge_replica_lag_seconds", Help: "How far the read replica's replay is behind the primary (-1: it does not answer).",
		}, func() float64 {
			lag, _, _ := st.ReplicaLag()
			return lag.Seconds()
		}), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "surge_replica_in_use", Help: "1 while catalog reads go to the read replica, 0 while they go to the primary.",
		}, func() float64 {
			if _, usable, _ := st.ReplicaLag(); usable {
				return 1
			}
			return 0
		}))
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildInfoMetric())
	for name, db := range st.Pools() {
		reg.MustRegister(collectors.NewDBStatsCollector(db, name))
	}
	reg.MustRegister(st.WriterMetrics()...)
	for name, c := range cat.Caches() {
		for i, result := range []string{"hit", "miss", "stale"} {
			reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name:        "surge_cache_requests_total",
				Help:        "Cache lookups by cache and result (hit, miss, stale served on error).",
				ConstLabels: prometheus.Labels{"cache": name, "result": result},
			}, func() float64 {
				h, m, s := c.Stats()
				return float64([]uint64{h, m, s}[i])
			}))
		}
	}
	return reg
}

// auditGrace is the sweeper's slack the audit allows: a few sweeper
// rounds beyond the default.
func auditGrace(cfg *config.Config) time.Duration {
	return 5*cfg.ReconcileInterval + defaultAuditGrace
}

func breakerValue(state string) float64 {
	switch state {
	case "open":
		return 2
	case "half-open":
		return 1
	}
	return 0
}

func describePayments(cfg *config.Config) string {
	if cfg.PSPURL != "" {
		return cfg.PSPURL
	}
	return "simulator in-process (" + filepath.Join(cfg.DataDir, "psp") + ")"
}

// newTokens builds the customer token signer from configured secrets, or
// from secrets kept in the database (created on first start), and derives
// from the signing secret a separate key for waiting-room tickets.
func newTokens(ctx context.Context, st *store.Store, cfg *config.Config, now func() time.Time) (*customer.Tokens, []byte, error) {
	pairs, err := config.ParseTokenSecrets(cfg.TokenSecrets)
	if err != nil {
		return nil, nil, err
	}
	var configured []customer.Secret
	for _, p := range pairs {
		configured = append(configured, customer.Secret{KID: p[0], Secret: []byte(p[1])})
	}
	secrets, err := customer.LoadSecrets(ctx, st, configured, now())
	if err != nil {
		return nil, nil, err
	}
	m := hmac.New(sha256.New, secrets[0].Secret)
	m.Write([]byte("surge queue tickets"))
	return customer.NewTokens(secrets, cfg.TokenTTL, now), m.Sum(nil), nil
}

// deriveKey derives from a secret a key of its own for one purpose.
func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
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

func describeStore(st *store.Store, cfg *config.Config) string {
	if st.Engine() == store.SQLite {
		return "sqlite (" + filepath.Join(cfg.DataDir, "surge.db") + ", WAL, synchronous=FULL)"
	}
	return "postgres (SURGE_DATABASE_URL)"
}

func describeBroker(b *broker.Broker, cfg *config.Config) string {
	if b.Embedded() {
		return "nats embedded (" + b.URL() + ", JetStream in " + filepath.Join(cfg.DataDir, "jetstream") + ")"
	}
	return "nats " + b.URL()
}

// connectRedis returns a Redis client when one is configured, and a line
// describing it. Redis only speeds things up and shares limits, so an
// unreachable Redis is reported, never fatal: the client keeps trying and
// everything falls back to in-process until it answers.
func connectRedis(ctx context.Context, url string) (*redis.Client, string) {
	if url == "" {
		return nil, "off (in-process cache and limits)"
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, "misconfigured, running without it: " + err.Error()
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = time.Second, 200*time.Millisecond, 200*time.Millisecond
	c := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		return c, "unreachable for now (" + err.Error() + "); in-process fallback until it answers"
	}
	return c, "on (" + opts.Addr + ")"
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

// registerBreakers exports each dependency's circuit breaker state.
func registerBreakers(reg prometheus.Registerer, states map[string]func() string) {
	for dep, state := range states {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "surge_breaker_state",
			Help:        "Circuit breaker state: 0 closed (or disabled), 1 half-open, 2 open.",
			ConstLabels: prometheus.Labels{"dependency": dep},
		}, func() float64 { return breakerValue(state()) }))
	}
}

func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// redactURL hides a URL's password for the start-up banner.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "unparsable URL"
	}
	return u.Redacted()
}
