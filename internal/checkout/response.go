package checkout

import (
	"encoding/json"
	"time"

	"github.com/surge-commerce/surge/internal/order"
)

// The API statuses of checkout outcomes. They are stored with the response
// under the idempotency key, so a replay answers exactly the same.
const (
	StatusPaid     = 201 // paid synchronously
	StatusPending  = 202 // payment outcome not known yet
	StatusDeclined = 402 // the provider declined; the order is cancelled
)

// Response is what the client is told, stored under its Idempotency-Key
// and replayed byte for byte.
type Response struct {
	Status   int
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

// ProblemTypeBase matches the HTTP API's problem type URIs.
const ProblemTypeBase = "https://surge.dev/problems/"

// respond renders the response for an order in its current status.
func respond(o order.Order) Response {
	switch o.Status {
	case order.Cancelled:
		body, _ := json.Marshal(struct {
			Type   string    `json:"type"`
			Title  string    `json:"title"`
			Status int       `json:"status"`
			Detail string    `json:"detail"`
			Order  OrderJSON `json:"order"`
		}{ProblemTypeBase + "payment-declined", "Payment declined", StatusDeclined,
			"the payment was not accepted; the order is cancelled and its stock released", ToJSON(o)})
		return Response{Status: StatusDeclined, Body: body, OrderID: o.ID}
	case order.PendingPayment:
		return Response{Status: StatusPending, Body: orderBody(o), OrderID: o.ID}
	}
	return Response{Status: StatusPaid, Body: orderBody(o), OrderID: o.ID}
}

func orderBody(o order.Order) []byte {
	b, _ := json.Marshal(struct {
		Order OrderJSON `json:"order"`
	}{ToJSON(o)})
	return b
}
