// Package wire is the payment provider's wire format: the bodies of its
// HTTP API (payments, payment methods, lists, problems), the events its
// webhooks carry and the signature that proves who sent them. The
// provider simulator serves it, Surge's provider client speaks it and the
// webhook receiver checks it, so all three share one definition.
//
// The JSON here is a contract with a provider on the other side of the
// network: fields are only ever added.
package wire

import (
	"strings"
	"time"
)

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

// ChargeRequest is the body of POST /v1/payments.
type ChargeRequest struct {
	MerchantReference string `json:"merchant_reference"`
	Amount            int64  `json:"amount"`
	Currency          string `json:"currency"`
	Capture           bool   `json:"capture"`
	// PaymentMethod names the card to charge (a test token such as
	// "pm_card_a"); empty charges the merchant's default.
	PaymentMethod string `json:"payment_method,omitempty"`
}

// PaymentList is the body of the list and ledger answers. Next is the
// cursor of the following ledger page, empty on the last one.
type PaymentList struct {
	Data []Payment `json:"data"`
	Next string    `json:"next,omitempty"`
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

// EventType names the webhook event for a payment reaching status.
func EventType(status string) string { return "payment." + status }

// ProblemTypeBase prefixes the `type` of every problem the provider
// returns. The slug after it is stable: clients may branch on it.
const ProblemTypeBase = "https://psp.surge.dev/problems/"

// Problem is the provider's RFC 9457 problem details object.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// Slug returns the stable part of the problem type after ProblemTypeBase.
func (p Problem) Slug() string { return strings.TrimPrefix(p.Type, ProblemTypeBase) }
