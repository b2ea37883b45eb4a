// Package app composes a Surge server from its settings: it opens the
// backends, builds the modules on them and runs the roles a process was
// given (api, relay, worker, sweeper) until its context ends, then drains.
//
// It holds the wiring only. Flags and environment variables are read by
// the command, which hands over a filled Config; what each module does
// lives in the module.
package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/surge-commerce/surge/internal/broker"
	rediscache "github.com/surge-commerce/surge/internal/cache/redis"
	"github.com/surge-commerce/surge/internal/config"
	"github.com/surge-commerce/surge/internal/datadir"
	"github.com/surge-commerce/surge/internal/gateway/connlimit"
	"github.com/surge-commerce/surge/internal/gateway/ratelimit"
	"github.com/surge-commerce/surge/internal/httpapi"
	"github.com/surge-commerce/surge/internal/mailer"
	"github.com/surge-commerce/surge/internal/platform"
	"github.com/surge-commerce/surge/internal/store"
	"github.com/surge-commerce/surge/internal/tracing"
)

// Config is what a server is built from: the validated settings and the
// binary's own build.
type Config struct {
	config.Config
	// Version is the version the banner and the traces name.
	Version string
	// Build labels the surge_build_info metric.
	Build Build
}

// Build describes the running binary.
type Build struct {
	Version, Revision, GoVersion string
}

// Run wires every module to its backends and serves until ctx ends, then
// drains: /readyz fails, in-flight requests finish (bounded), the
// background work stops, and the backends close. The start-up banner goes
// to stdout, the JSON log to stderr.
func Run(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
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
		Service: "surge", Version: cfg.Version, Role: cfg.Roles, Logger: log})
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
	if err := prepareEvents(ctx, st, brk, &cfg.Config, log); err != nil {
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
	pay, webhookSecret, stopPSP, err := startPayments(ctx, &cfg.Config, "http://"+ln.Addr().String()+"/v1/payments/webhook", log)
	if err != nil {
		return err
	}
	defer stopPSP()
	tokens, ticketKey, err := newTokens(ctx, st, &cfg.Config, now)
	if err != nil {
		return err
	}
	mods := newModules(ctx, st, rdb, pay, ticketKey, &cfg.Config, now, log)
	reg := newRegistry(st, mods.catalog, brk, cfg.Build)
	flags := platform.NewFlags(st, now, 2*time.Second)
	limits, limiter, err := rateLimits(&cfg.Config, rdb)
	if err != nil {
		return err
	}
	shedder := newShedder(&cfg.Config, st, reg)
	registerFlags(reg, flags)
	registerBreakers(reg, map[string]func() string{
		"payments": pay.BreakerState, "database": st.BreakerState, "redis": limiter.BreakerState,
	})
	api, err := newAPI(apiDeps{
		cfg: &cfg.Config, log: log, st: st, brk: brk, pay: pay, mods: mods, admin: admin, tokens: tokens,
		limits: limits, limiter: limiter, shedder: shedder, flags: flags, tracer: tracer, reg: reg,
		redisState: redisState, corsOrigins: corsOrigins, ticketKey: ticketKey, webhookSecret: webhookSecret, now: now,
	})
	if err != nil {
		return err
	}
	srv := newHTTPServer(api, cfg.RequestTimeout, log)
	newAdminKey, err := admin.EnsureKey(ctx)
	if err != nil {
		return err
	}
	printBanner(stdout, cfg, ln.Addr(), st, brk, redisState, metricsLn, newAdminKey)
	if cfg.Demo {
		if err := seedDemo(ctx, stdout, mods, ln.Addr()); err != nil {
			return err
		}
	}

	// Background work gets its own connection pool on PostgreSQL, so a
	// backlog of events can never starve checkout of connections (SQLite
	// has one writer either way). It needs room for the four consumers'
	// parallel effects: with 4 connections they fell seconds behind at
	// half the maximum checkout rate, with 16 they keep up.
	bg := st
	if !st.OneWriter() {
		if bg, err = store.Open(ctx, store.Config{DatabaseURL: cfg.DatabaseURL, MaxConns: cfg.WorkerDBConns}); err != nil {
			return err
		}
		defer bg.Close()
	}
	background := []service{flags}
	if shedder != nil {
		background = append(background, shedder)
	}
	given, err := roles(ctx, &cfg.Config, st, bg, brk, mods, now, log, reg, tracer)
	if err != nil {
		return err
	}
	background = append(background, given...)
	bgCtx := store.Background(ctx)
	for _, svc := range background {
		if err := svc.Start(bgCtx); err != nil {
			return err
		}
		defer svc.Stop()
	}

	if metricsLn != nil {
		msrv := serveMetrics(metricsLn, reg, st)
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
	drain(api, srv, cfg.DrainDelay, cfg.ShutdownTimeout, log)
	return nil
}
