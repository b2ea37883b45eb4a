package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/surge-commerce/surge/internal/config"
	pspclient "github.com/surge-commerce/surge/internal/payment/client"
	psp "github.com/surge-commerce/surge/internal/payment/simulator"
)

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
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

// startPayments returns the provider client: the configured provider, or
// a simulator started in this process so the embedded default needs
// nothing else. The returned stop function stops the simulator.
func startPayments(ctx context.Context, cfg *config.Config, webhookURL string, log *slog.Logger) (*pspclient.Client, string, func(), error) {
	if cfg.PSPURL != "" {
		return pspclient.New(pspclient.Config{BaseURL: cfg.PSPURL, APIKey: cfg.PSPAPIKey}), cfg.PSPWebhookSecret, func() {}, nil
	}
	secret := cfg.PSPWebhookSecret
	if secret == "" {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		secret = hex.EncodeToString(b)
	}
	// The simulator in this process still listens on a port other local
	// processes can reach: it gets a key, SURGE_PSP_API_KEY or a fresh one
	// (both ends restart together, so it need not be kept).
	apiKey := cfg.PSPAPIKey
	if apiKey == "" {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		apiKey = hex.EncodeToString(b)
	}
	sim, err := psp.NewServer(psp.Config{
		APIKey: apiKey,
		Addr:   "127.0.0.1:0", DataDir: filepath.Join(cfg.DataDir, "psp"),
		WebhookURL: webhookURL, WebhookSecret: secret, Logger: log.With("component", "psp"),
	})
	if err != nil {
		return nil, "", nil, fmt.Errorf("payment simulator: %w", err)
	}
	if err := sim.Start(ctx); err != nil {
		return nil, "", nil, fmt.Errorf("payment simulator: %w", err)
	}
	return pspclient.New(pspclient.Config{BaseURL: sim.URL(), APIKey: apiKey}), secret, sim.Stop, nil
}
