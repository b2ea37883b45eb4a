package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/surge-commerce/surge/internal/config"
	"github.com/surge-commerce/surge/internal/psp"
	"github.com/surge-commerce/surge/internal/pspclient"
)

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
