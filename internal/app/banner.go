package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"

	"github.com/surge-commerce/surge/internal/broker"
	"github.com/surge-commerce/surge/internal/config"
	"github.com/surge-commerce/surge/internal/demo"
	"github.com/surge-commerce/surge/internal/store"
)

// printBanner tells the operator what this process runs on. Scripts and
// tests read its lines, so their wording is kept.
func printBanner(w io.Writer, cfg Config, addr net.Addr, st *store.Store, brk *broker.Broker, redisState string,
	metricsLn net.Listener, newAdminKey string) {
	fmt.Fprintf(w, "surge %s listening on http://%s\n", cfg.Version, addr)
	fmt.Fprintf(w, "  store:  %s\n", describeStore(st, &cfg.Config))
	fmt.Fprintf(w, "  broker: %s\n", describeBroker(brk, &cfg.Config))
	fmt.Fprintf(w, "  redis:  %s\n", redisState)
	fmt.Fprintf(w, "  payments: %s\n", describePayments(&cfg.Config))
	if cfg.SMTPURL != "" {
		fmt.Fprintf(w, "  mail:   smtp (%s)\n", redactURL(cfg.SMTPURL))
	} else {
		fmt.Fprintf(w, "  mail:   stored, readable at /v1/shops/{shop}/admin/notifications\n")
	}
	fmt.Fprintf(w, "  roles:  %s\n", cfg.Roles)
	if metricsLn != nil {
		fmt.Fprintf(w, "  metrics with per-shop figures: http://%s/metrics\n", metricsLn.Addr())
	}
	if newAdminKey != "" {
		fmt.Fprintf(w, "  platform admin key (shown once, store it now): %s\n", newAdminKey)
	}
}

// seedDemo creates the demo shop on first start and prints where it is.
func seedDemo(ctx context.Context, w io.Writer, mods modules, addr net.Addr) error {
	key, err := demo.Seed(ctx, mods.shops, mods.catalog)
	if err != nil {
		return err
	}
	if key != "" {
		fmt.Fprintf(w, "  demo shop: http://%s/v1/shops/%s/products (shop key, shown once: %s)\n", addr, demo.Slug, key)
	} else {
		fmt.Fprintf(w, "  demo shop: http://%s/v1/shops/%s/products\n", addr, demo.Slug)
	}
	return nil
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

func describePayments(cfg *config.Config) string {
	if cfg.PSPURL != "" {
		return cfg.PSPURL
	}
	return "simulator in-process (" + filepath.Join(cfg.DataDir, "psp") + ")"
}

// redactURL hides a URL's password for the start-up banner.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "unparsable URL"
	}
	return u.Redacted()
}
