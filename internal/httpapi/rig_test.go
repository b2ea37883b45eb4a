package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"io"
	"log/slog"
	"maps"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/surge-commerce/surge/internal/audit"
	"github.com/surge-commerce/surge/internal/cache"
	"github.com/surge-commerce/surge/internal/cart"
	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/config"
	"github.com/surge-commerce/surge/internal/customer"
	"github.com/surge-commerce/surge/internal/flashsale"
	"github.com/surge-commerce/surge/internal/gateway/ratelimit"
	"github.com/surge-commerce/surge/internal/inventory"
	"github.com/surge-commerce/surge/internal/order"
	pspclient "github.com/surge-commerce/surge/internal/payment/client"
	psp "github.com/surge-commerce/surge/internal/payment/simulator"
	"github.com/surge-commerce/surge/internal/platform"
	"github.com/surge-commerce/surge/internal/recommend"
	"github.com/surge-commerce/surge/internal/shop"
	"github.com/surge-commerce/surge/internal/store"
	"github.com/surge-commerce/surge/internal/testrig"
	"github.com/surge-commerce/surge/internal/web"
)

// rig is the whole API in memory: the real Server over the real services,
// a migrated store (SQLite in a temporary directory, or PostgreSQL when
// SURGE_DATABASE_URL is set) and the payment simulator, built the way
// `surge serve` builds them. Requests go straight to ServeHTTP: no
// process, no listener of the API's own.
type rig struct {
	t             *testing.T
	srv           *Server
	st            *store.Store
	adminKey      string
	webhookSecret string
	// sim is the payment simulator, for tests that inject its faults.
	sim *psp.Server
}

// rigEnv are the settings every rig starts from, as `surge serve` reads
// them from its environment. Rate limits are off so that a table's many
// requests from one address and one token never meet a 429; a test of the
// limits turns them on.
var rigEnv = map[string]string{"SURGE_RATE_LIMITS": "off"}

// newRig builds the API the way cmd/surge/serve.go does, with the same
// constructors and the same defaults (its flags, read from env over
// rigEnv), leaving out what a request cannot see: the broker and the
// background work (relay, consumers, sweeper), Redis, tracing export and
// load shedding; deliver stands in for the consumers where a test needs
// their read models. The simulator sends no webhooks: the webhook tests
// sign their own, so no delivery races a table's assertions. This is the
// one place the rig is wired; it follows serve.go until that wiring has a
// package of its own that tests can call.
func newRig(t *testing.T, env map[string]string) *rig {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	getenv := func(name string) string {
		if v, ok := env[name]; ok {
			return v
		}
		return rigEnv[name]
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg := config.Register(fs, getenv)
	cfg.RegisterServe(fs, getenv)
	if err := fs.Parse([]string{"--data", dir}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	st, err := store.Open(ctx, store.Config{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir, MaxConns: cfg.DBMaxConns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	now := time.Now
	r := &rig{t: t, st: st, webhookSecret: randomHex()}
	admin := platform.NewAdmin(st, cfg.AdminKey, now)
	if r.adminKey, err = admin.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	pspKey := randomHex()
	sim, err := psp.NewServer(psp.Config{APIKey: pspKey, Addr: "127.0.0.1:0", DataDir: dir + "/psp", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Stop)
	r.sim = sim
	pay := pspclient.New(pspclient.Config{BaseURL: sim.URL(), APIKey: pspKey})
	auditPSP := pspclient.New(pspclient.Config{BaseURL: pay.URL(), APIKey: pay.APIKey(), TotalTimeout: 30 * time.Second, AttemptTimeout: 20 * time.Second})

	secrets, err := customer.LoadSecrets(ctx, st, nil, now())
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, secrets[0].Secret)
	m.Write([]byte("surge queue tickets"))
	tokens, ticketKey := customer.NewTokens(secrets, cfg.TokenTTL, now), m.Sum(nil)

	shops := shop.NewService(st, now, cfg.CacheTTL, cfg.CacheMaxStale)
	cat := catalog.NewService(st, now, cache.Options{
		MaxEntries: 100_000, TTL: cfg.CacheTTL, MaxStale: cfg.CacheMaxStale, LoadTimeout: cfg.RequestTimeout, Now: now,
	})
	carts := cart.NewService(st, cat, now)
	payments := pspclient.Payments{Client: pay}
	sales := flashsale.NewService(st, st, ticketKey, now)
	checkoutSvc := checkout.NewService(st, carts, payments, sales, checkout.Config{
		ReservationTTL: cfg.ReservationTTL, KeyTTL: cfg.IdempotencyTTL, ChargeBudget: cfg.ChargeBudget,
	}, now, log)
	flags := platform.NewFlags(st, now, 2*time.Second)
	var limiter *ratelimit.Limiter
	if cfg.RateLimits {
		limiter = ratelimit.New(nil)
	}
	tiers, err := config.ParseTierLimits(cfg.TierLimits)
	if err != nil {
		t.Fatal(err)
	}

	site, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	r.srv = NewServer(Config{
		Logger: log, Admin: admin, Shops: shops, Catalog: cat,
		Customers: customer.NewService(st, tokens, now), Carts: carts, Checkout: checkoutSvc,
		Orders: order.NewService(st, payments, now), Inventory: inventory.NewService(st),
		Recommend: recommend.NewService(st, now), ReadModels: st, Sales: sales,
		Limits: Limits{
			PerIP: cfg.RateLimitIP, PerKey: cfg.RateLimitKey, PerCustomer: cfg.RateLimitCustomer,
			PerShop: tiers, SignupsPerMinute: cfg.SignupLimit,
		},
		Limiter: limiter, Flags: flags,
		APIRoutes: cfg.HasRole("api"),
		Site:      site, ConsoleKey: []byte("0123456789abcdef0123456789abcdef"),
		SaleFigures: func(ctx context.Context) ([]SaleFigure, error) {
			stats, err := st.SaleStats(ctx)
			out := make([]SaleFigure, len(stats))
			for i, s := range stats {
				out[i] = SaleFigure{Shop: s.Shop, SKU: s.SKU, UnitsLeft: s.UnitsLeft, Queue: s.Queue, AdmissionRate: s.AdmissionRate}
			}
			return out, err
		},
		WebhookSecret: r.webhookSecret, Webhooks: st, Registry: prometheus.NewRegistry(),
		Auditor: func(ctx context.Context, settle time.Duration) (audit.Report, error) {
			return audit.Run(ctx, st, auditPSP.AuditLedger(), audit.Options{
				Settle: settle, Grace: 5*cfg.ReconcileInterval + 30*time.Second, Now: now,
				ChargeBudget: cfg.ChargeBudget, IdempotencyTTL: cfg.IdempotencyTTL,
			})
		},
		Checks:       map[string]Check{"store": st.Ping},
		MaxBodyBytes: cfg.MaxBodyBytes, RequestTimeout: cfg.RequestTimeout,
		CacheMaxAge: cfg.CacheTTL, AccessLog: cfg.AccessLog,
	})
	return r
}

// eachEngine runs test on a rig over SQLite and on one over PostgreSQL:
// the same answers are owed whichever store is behind them (errors are
// classified per engine). The PostgreSQL run needs the server
// scripts/test.sh starts; without it testrig skips it (fails it in CI).
func eachEngine(t *testing.T, env map[string]string, test func(t *testing.T, r *rig)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		test(t, newRig(t, env))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		pg := maps.Clone(env)
		if pg == nil {
			pg = map[string]string{}
		}
		pg["SURGE_DATABASE_URL"] = testrig.PostgresURL(t)
		test(t, newRig(t, pg))
	})
}

func randomHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
