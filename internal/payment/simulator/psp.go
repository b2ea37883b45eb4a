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
//
// It lives in internal/payment/simulator and keeps the name psp, which the
// command `surge psp` and its callers use.
package psp

import (
	"time"

	"github.com/surge-commerce/surge/internal/payment/wire"
)

// The simulator serves the provider's wire format (package wire); these
// names let its tests and callers say psp.Payment for the payment it serves.
const (
	StatusAuthorized = wire.StatusAuthorized
	StatusCaptured   = wire.StatusCaptured
	StatusVoided     = wire.StatusVoided
	StatusRefunded   = wire.StatusRefunded
	StatusDeclined   = wire.StatusDeclined

	ProblemTypeBase = wire.ProblemTypeBase
	SignatureHeader = wire.SignatureHeader
)

type (
	Payment       = wire.Payment
	PaymentMethod = wire.PaymentMethod
	Event         = wire.Event
	Problem       = wire.Problem
)

// Errors returned by VerifySignature.
var (
	ErrSignatureMalformed = wire.ErrSignatureMalformed
	ErrSignatureMismatch  = wire.ErrSignatureMismatch
	ErrSignatureExpired   = wire.ErrSignatureExpired
)

// Sign is wire.Sign: the signature header value for body sent at t.
func Sign(secret string, body []byte, t time.Time) string { return wire.Sign(secret, body, t) }

// VerifySignature is wire.VerifySignature.
func VerifySignature(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	return wire.VerifySignature(secret, header, body, now, tolerance)
}
