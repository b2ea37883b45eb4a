package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	psp "github.com/surge-commerce/surge/internal/payment/simulator"
	"github.com/surge-commerce/surge/internal/store"
)

// Versions before checkout stored outcomes stored a declined answer's
// whole problem under its key; such a key must replay the same bytes, and
// a key stored now must answer exactly what those versions answered
// (docs/INVARIANTS.md, I4).
func TestCheckoutReplaysKeysStoredByOlderVersions(t *testing.T) {
	t.Parallel()
	eachEngine(t, nil, func(t *testing.T, r *rig) {
		key := r.newShop("acme")
		r.newProduct("acme", key, "MUG", 1)
		_, token := r.newCustomer("acme")
		if err := r.sim.SetFaults(psp.Faults{DeclineRate: 1}); err != nil {
			t.Fatal(err)
		}
		declined := row{route: "POST /v1/shops/{shop}/checkout", method: "POST", path: "/v1/shops/acme/checkout", token: token,
			header: map[string]string{"Idempotency-Key": "k1"}, body: `{"items":[{"sku":"MUG","quantity":1}]}`,
			status: http.StatusPaymentRequired, problem: "payment-declined"}
		first := r.serve(t, declined).Body.String()

		db := r.st.Pools()["write"]
		if r.st.Engine() == store.Postgres {
			db = r.st.Pools()["primary"]
		}
		var status int
		var stored string
		if err := db.QueryRowContext(t.Context(), `SELECT response_status, response_body FROM idempotency_keys WHERE idem_key = 'k1'`).
			Scan(&status, &stored); err != nil {
			t.Fatal(err)
		}
		orderJSON, ok := strings.CutPrefix(stored, `{"order":`)
		if status != 402 || !ok {
			t.Fatalf("stored %d %s, want 402 and the order", status, stored)
		}
		// What those versions stored and answered, spelt out.
		legacy := `{"type":"https://surge.dev/problems/payment-declined","title":"Payment declined","status":402,` +
			`"detail":"the payment was not accepted; the order is cancelled and its stock released","order":` + orderJSON
		if first != legacy {
			t.Fatalf("declined answer\n%s\nwant what older versions answered\n%s", first, legacy)
		}

		if _, err := db.ExecContext(t.Context(), `UPDATE idempotency_keys SET response_body = '`+
			strings.ReplaceAll(legacy, "'", "''")+`' WHERE idem_key = 'k1'`); err != nil {
			t.Fatal(err)
		}
		declined.check = func(t *testing.T, res *httptest.ResponseRecorder) {
			header("Idempotent-Replayed", "true")(t, res)
			if res.Body.String() != legacy {
				t.Errorf("replay of a key stored by an older version\n%s\nwant\n%s", res.Body, legacy)
			}
		}
		r.run(t, []row{declined})
	})
}
