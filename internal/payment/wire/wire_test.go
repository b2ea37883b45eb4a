package wire

import (
	"encoding/json"
	"testing"
	"time"
)

// The bodies are a contract with the provider: their JSON must not change
// byte for byte, whichever side encodes it.
func TestWireJSONIsTheContract(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := Payment{ID: "pay_1", MerchantReference: "ord_1", Amount: 1250, Currency: "EUR", Status: StatusCaptured, CreatedAt: at, UpdatedAt: at}
	cases := []struct {
		name string
		v    any
		want string
	}{
		{"payment", p, `{"id":"pay_1","merchant_reference":"ord_1","amount":1250,"currency":"EUR","status":"captured","created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05Z"}`},
		{"event", Event{ID: "evt_1", Type: EventType(StatusCaptured), Payment: p},
			`{"id":"evt_1","type":"payment.captured","payment":{"id":"pay_1","merchant_reference":"ord_1","amount":1250,"currency":"EUR","status":"captured","created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05Z"}}`},
		{"charge", ChargeRequest{MerchantReference: "ord_1", Amount: 1250, Currency: "EUR", Capture: true},
			`{"merchant_reference":"ord_1","amount":1250,"currency":"EUR","capture":true}`},
		{"charge with a card", ChargeRequest{MerchantReference: "ord_1", Amount: 1, Currency: "EUR", PaymentMethod: "pm_card_a"},
			`{"merchant_reference":"ord_1","amount":1,"currency":"EUR","capture":false,"payment_method":"pm_card_a"}`},
		{"last ledger page", PaymentList{Data: []Payment{}}, `{"data":[]}`},
		{"payment method", PaymentMethod{ID: "pm_card_a", CardFingerprint: "fp_1"}, `{"id":"pm_card_a","card_fingerprint":"fp_1"}`},
		{"problem", Problem{Type: ProblemTypeBase + "not-found", Title: "Not Found", Status: 404},
			`{"type":"https://psp.surge.dev/problems/not-found","title":"Not Found","status":404}`},
	}
	for _, c := range cases {
		got, err := json.Marshal(c.v)
		if err != nil || string(got) != c.want {
			t.Errorf("%s: %s, %v; want %s", c.name, got, err, c.want)
		}
	}
}
