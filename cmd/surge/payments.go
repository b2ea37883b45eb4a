package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/config"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/psp"
	"github.com/surge-commerce/surge/internal/pspclient"
)

// pspPayments adapts the provider client to what checkout and orders need.
type pspPayments struct{ c *pspclient.Client }

var _ checkout.Payments = pspPayments{}

func (p pspPayments) Charge(ctx context.Context, orderID string, amount int64, currency string) checkout.Payment {
	return toPayment(p.c.Charge(ctx, orderID, amount, currency))
}

func (p pspPayments) Lookup(ctx context.Context, orderID string) checkout.Payment {
	return toPayment(p.c.Lookup(ctx, orderID))
}

func (p pspPayments) Refund(ctx context.Context, paymentRef string) error {
	if _, err := p.c.Refund(ctx, paymentRef); err != nil {
		return errcode.Wrap(errcode.Unavailable, err, "the payment provider did not confirm the refund")
	}
	return nil
}

// toPayment maps the provider's outcome to checkout's. Anything not
// conclusive is Unknown, which checkout answers by asking again later.
func toPayment(r pspclient.Result, err error) checkout.Payment {
	p := checkout.Payment{Ref: r.Payment.ID}
	if err != nil {
		return p
	}
	switch r.Outcome {
	case pspclient.Paid:
		p.Outcome = checkout.PaymentPaid
	case pspclient.Declined:
		p.Outcome = checkout.PaymentDeclined
	case pspclient.NotFound, pspclient.Reversed:
		p.Outcome = checkout.PaymentNone
	}
	return p
}

// startPayments returns the provider client: the configured provider, or
// a simulator started in this process so the embedded default needs
// nothing else. The returned stop function stops the simulator.
func startPayments(ctx context.Context, cfg *config.Config, webhookURL string, log *slog.Logger) (*pspclient.Client, string, func(), error) {
	if cfg.PSPURL != "" {
		return pspclient.New(pspclient.Config{BaseURL: cfg.PSPURL}), cfg.PSPWebhookSecret, func() {}, nil
	}
	secret := cfg.PSPWebhookSecret
	if secret == "" {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		secret = hex.EncodeToString(b)
	}
	sim, err := psp.NewServer(psp.Config{
		Addr: "127.0.0.1:0", DataDir: filepath.Join(cfg.DataDir, "psp"),
		WebhookURL: webhookURL, WebhookSecret: secret, Logger: log.With("component", "psp"),
	})
	if err != nil {
		return nil, "", nil, fmt.Errorf("payment simulator: %w", err)
	}
	if err := sim.Start(ctx); err != nil {
		return nil, "", nil, fmt.Errorf("payment simulator: %w", err)
	}
	return pspclient.New(pspclient.Config{BaseURL: sim.URL()}), secret, sim.Stop, nil
}
