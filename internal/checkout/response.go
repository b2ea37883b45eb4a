package checkout

import (
	"encoding/json"
	"time"

	"github.com/surge-commerce/surge/internal/order"
)

// Outcome is how a checkout ended. It is stored under the request's
// Idempotency-Key with the answer's body, so that every replay repeats it;
// the HTTP interface chooses how each outcome is answered.
type Outcome int

// The outcomes; the zero Outcome is none (a key without an answer yet).
const (
	OutcomeCreated  Outcome = iota + 1 // placed and paid synchronously
	OutcomeAccepted                    // placed; the payment's outcome is not known yet
	OutcomeDeclined                    // the provider declined; the order is cancelled
)

func (o Outcome) String() string {
	switch o {
	case OutcomeCreated:
		return "created"
	case OutcomeAccepted:
		return "accepted"
	case OutcomeDeclined:
		return "declined"
	}
	return "none"
}

// Response is a checkout's outcome and order, stored under its Idempotency-Key
// and replayed byte for byte.
type Response struct {
	Outcome Outcome
	// Body is {"order": ...}: the order as it was when the outcome was
	// reached. Keys stored by versions that rendered the answer in
	// checkout hold a declined answer's whole problem instead.
	Body     []byte
	OrderID  string
	Replayed bool
}

// OrderJSON is an order as the API shows it.
type OrderJSON struct {
	ID        string       `json:"id"`
	Status    order.Status `json:"status"`
	Lines     []order.Line `json:"lines"`
	Total     int64        `json:"total"`
	Currency  string       `json:"currency"`
	CreatedAt time.Time    `json:"created_at"`
}

// ToJSON renders an order for the API.
func ToJSON(o order.Order) OrderJSON {
	lines := o.Lines
	if lines == nil {
		lines = []order.Line{}
	}
	return OrderJSON{ID: o.ID, Status: o.Status, Lines: lines, Total: o.Total, Currency: o.Currency, CreatedAt: o.CreatedAt}
}

// respond records the outcome of an order in its current status.
func respond(o order.Order) Response {
	r := Response{Outcome: OutcomeCreated, Body: orderBody(o), OrderID: o.ID}
	switch o.Status {
	case order.Cancelled:
		r.Outcome = OutcomeDeclined
	case order.PendingPayment:
		r.Outcome = OutcomeAccepted
	}
	return r
}

func orderBody(o order.Order) []byte {
	b, _ := json.Marshal(struct {
		Order OrderJSON `json:"order"`
	}{ToJSON(o)})
	return b
}
