package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/surge-commerce/surge/internal/cache"
	rediscache "github.com/surge-commerce/surge/internal/cache/redis"
	"github.com/surge-commerce/surge/internal/cart"
	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/config"
	"github.com/surge-commerce/surge/internal/customer"
	"github.com/surge-commerce/surge/internal/flashsale"
	pspclient "github.com/surge-commerce/surge/internal/payment/client"
	"github.com/surge-commerce/surge/internal/shop"
	"github.com/surge-commerce/surge/internal/store"
)

// modules are the business modules the API and the sweeper share.
type modules struct {
	shops    *shop.Service
	catalog  *catalog.Service
	carts    *cart.Service
	payments pspclient.Payments
	sales    *flashsale.Service
	checkout *checkout.Service
}

// newModules builds the modules on the store, with Redis (when there is
// one) as the catalog's second cache level.
func newModules(ctx context.Context, st *store.Store, rdb *redis.Client, pay *pspclient.Client, ticketKey []byte,
	cfg *config.Config, now func() time.Time, log *slog.Logger) modules {
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
	return modules{
		shops: shops, catalog: cat, carts: carts, payments: payments, sales: sales,
		checkout: newCheckout(st, carts, payments, sales, cfg, now, log),
	}
}

func newCheckout(st *store.Store, carts *cart.Service, payments pspclient.Payments, sales *flashsale.Service,
	cfg *config.Config, now func() time.Time, log *slog.Logger) *checkout.Service {
	return checkout.NewService(st, carts, payments, sales, checkout.Config{
		ReservationTTL: cfg.ReservationTTL, KeyTTL: cfg.IdempotencyTTL, ChargeBudget: cfg.ChargeBudget,
	}, now, log)
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
	return customer.NewTokens(secrets, cfg.TokenTTL, now), deriveKey(secrets[0].Secret, "surge queue tickets"), nil
}

// deriveKey derives from a secret a key of its own for one purpose.
func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}
