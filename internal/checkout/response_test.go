package checkout

import (
	"encoding/json"
	"testing"

	"github.com/surge-commerce/surge/internal/order"
)

// respond decides what every replay of a key answers, so each status must
// map to exactly one outcome, stored with the order.
func TestRespond(t *testing.T) {
	cases := []struct {
		status  order.Status
		outcome Outcome
	}{
		{order.PendingPayment, OutcomeAccepted},
		{order.Paid, OutcomeCreated},
		{order.Fulfilled, OutcomeCreated},
		{order.Cancelled, OutcomeDeclined},
	}
	for _, c := range cases {
		o := order.Order{ID: "ord_1", Status: c.status, Total: 1999, Currency: "EUR"}
		r := respond(o)
		if r.Outcome != c.outcome || r.OrderID != "ord_1" || r.Replayed {
			t.Errorf("%s: %+v", c.status, r)
		}
		var body struct {
			Order OrderJSON `json:"order"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatalf("%s: body %s: %v", c.status, r.Body, err)
		}
		if body.Order.ID != "ord_1" || body.Order.Status != c.status || body.Order.Total != 1999 || body.Order.Lines == nil {
			t.Errorf("%s: order in body %+v", c.status, body.Order)
		}
	}
}

func TestPaymentOutcomeString(t *testing.T) {
	want := map[PaymentOutcome]string{PaymentUnknown: "unknown", PaymentPaid: "paid", PaymentDeclined: "declined", PaymentNone: "none"}
	for o, s := range want {
		if o.String() != s {
			t.Errorf("%d.String() = %q, want %q", o, o.String(), s)
		}
	}
}
