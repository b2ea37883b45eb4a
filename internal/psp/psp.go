// Package psp is a payment-provider simulator: a real HTTP server with its
// own durable store that authorizes, captures, voids and refunds payments,
// sends signed webhooks, and misbehaves on demand (latency, errors, hangs,
// declines and lost responses) so that Surge's payment path can be tested
// and drilled against the failures a real provider produces.
//
// It speaks only its own HTTP API and must never import or share state with
// Surge's store, broker or business packages: Surge must see it exactly as
// it would see a provider on the other side of the internet.
//
// A decline is a business outcome, not a transport failure: POST
// /v1/payments answers 201 with a payment whose status is "declined", so
// that the answer, its idempotent replay and a later lookup by reference all
// carry the same payment object.
package psp

import "time"

// Payment statuses. A payment starts authorized, captured or declined;
// authorized moves to captured or voided, captured moves to refunded.
const (
	StatusAuthorized = "authorized"
	StatusCaptured   = "captured"
	StatusVoided     = "voided"
	StatusRefunded   = "refunded"
	StatusDeclined   = "declined"
)

// Payment is the provider's record of one payment as it appears on the wire.
type Payment struct {
	ID                string    `json:"id"`
	MerchantReference string    `json:"merchant_reference"`
	Amount            int64     `json:"amount"`
	Currency          string    `json:"currency"`
	Status            string    `json:"status"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
	// CardFingerprint names the card the payment was made with, the same
	// for every payment with that card whoever makes it (empty when the
	// request named no payment method). The card itself is never kept.
	CardFingerprint string `json:"card_fingerprint,omitempty"`
}

// PaymentMethod is what the provider tells of a payment method: its
// fingerprint, without the card.
type PaymentMethod struct {
	ID              string `json:"id"`
	CardFingerprint string `json:"card_fingerprint"`
}

// Event is the body of a webhook: one payment state change.
type Event struct {
	ID      string  `json:"id"`
	Type    string  `json:"type"`
	Payment Payment `json:"payment"`
}

// eventType names the webhook event for a payment reaching status.
func eventType(status string) string { return "payment." + status }
