package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/flashsale"
)

func TestSaleAdminHandlers(t *testing.T) {
	t.Parallel()
	eachEngine(t, nil, func(t *testing.T, r *rig) {
		key := r.newShop("acme")
		otherKey := r.newShop("other")
		r.newProduct("acme", key, "TEE", 10)
		r.newProduct("other", otherKey, "THEIRS", 10)
		const put = "PUT /v1/shops/{shop}/admin/sales/{sku}"
		const get = "GET /v1/shops/{shop}/admin/sales/{sku}"
		const del = "DELETE /v1/shops/{shop}/admin/sales/{sku}"
		sale := "/v1/shops/acme/admin/sales/"
		r.run(t, []row{
			{name: "start", route: put, method: "PUT", path: sale + "TEE", token: key, body: `{"stock":5,"per_customer_limit":2,"buckets":4}`,
				status: http.StatusOK, want: map[string]any{"sku": "TEE", "stock": 5, "per_customer_limit": 2, "buckets": 4, "admission_rate": 0, "version": 1},
				check: header("ETag", `"v1"`)},
			{name: "restart with a stale If-Match", route: put, method: "PUT", path: sale + "TEE", token: key, body: `{"stock":9}`,
				header: map[string]string{"If-Match": `"v7"`}, status: http.StatusPreconditionFailed, problem: "precondition-failed"},
			{name: "start create-only while it runs", route: put, method: "PUT", path: sale + "TEE", token: key, body: `{"stock":9}`,
				header: map[string]string{"If-None-Match": "*"}, status: http.StatusPreconditionFailed, problem: "precondition-failed"},
			{name: "end with a stale If-Match", route: del, method: "DELETE", path: sale + "TEE", token: key,
				header: map[string]string{"If-Match": `"v7"`}, status: http.StatusPreconditionFailed, problem: "precondition-failed"},
			{name: "restart with the current If-Match", route: put, method: "PUT", path: sale + "TEE", token: key, body: `{"stock":5,"per_customer_limit":2,"buckets":4}`,
				header: map[string]string{"If-Match": `"v1"`}, status: http.StatusOK, want: map[string]any{"stock": 5, "version": 2}, check: header("ETag", `"v2"`)},
			{name: "start without stock", route: put, method: "PUT", path: sale + "TEE", token: key, body: `{}`,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("stock")},
			{name: "start with bad numbers", route: put, method: "PUT", path: sale + "TEE", token: key,
				body:   `{"stock":1,"buckets":257,"per_customer_limit":-1,"admission_rate":-1,"admission_burst":-1}`,
				status: http.StatusUnprocessableEntity, problem: "validation",
				check: fieldErrors("buckets", "per_customer_limit", "admission_rate", "admission_burst")},
			// A time that does not parse is a field error naming the field,
			// like a value of the wrong type.
			{name: "start with a bad time", route: put, method: "PUT", path: sale + "TEE", token: key, body: `{"stock":1,"starts_at":"soon"}`,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("starts_at")},
			{name: "start with an unknown field", route: put, method: "PUT", path: sale + "TEE", token: key, body: `{"stock":1,"price":1}`,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("price")},
			{name: "start malformed", route: put, method: "PUT", path: sale + "TEE", token: key, body: `{"stock":`,
				status: http.StatusBadRequest, problem: "malformed-json"},
			{name: "start on an unknown product", route: put, method: "PUT", path: sale + "NOPE", token: key, body: `{"stock":1}`,
				status: http.StatusNotFound, problem: "product-not-found"},
			{name: "start on another shop's product", route: put, method: "PUT", path: sale + "THEIRS", token: key, body: `{"stock":1}`,
				status: http.StatusNotFound, problem: "product-not-found"},
			{name: "start without a key", route: put, method: "PUT", path: sale + "TEE", body: `{"stock":1}`,
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "start with another shop's key", route: put, method: "PUT", path: sale + "TEE", token: otherKey, body: `{"stock":1}`,
				status: http.StatusForbidden, problem: "forbidden"},

			{name: "get", route: get, method: "GET", path: sale + "TEE", token: key,
				status: http.StatusOK, want: map[string]any{"sku": "TEE", "stock": 5, "units_left": 5, "queue_length": 0},
				check: header("Cache-Control", "no-store")},
			{name: "the public product carries the limit", route: "GET /v1/shops/{shop}/products/{sku}", method: "GET", path: "/v1/shops/acme/products/TEE",
				status: http.StatusOK, want: map[string]any{"purchase_limit": 2}},
			{name: "get without a key", route: get, method: "GET", path: sale + "TEE",
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "get a SKU not on sale", route: get, method: "GET", path: sale + "NOPE", token: key,
				status: http.StatusNotFound, problem: "sale-not-found"},
			{name: "get another shop's sale", route: get, method: "GET", path: "/v1/shops/other/admin/sales/TEE", token: otherKey,
				status: http.StatusNotFound, problem: "sale-not-found"},

			{name: "end without a key", route: del, method: "DELETE", path: sale + "TEE",
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "end another shop's sale", route: del, method: "DELETE", path: "/v1/shops/other/admin/sales/TEE", token: otherKey,
				status: http.StatusNotFound, problem: "sale-not-found"},
			{name: "end", route: del, method: "DELETE", path: sale + "TEE", token: key, status: http.StatusNoContent},
			{name: "end again", route: del, method: "DELETE", path: sale + "TEE", token: key,
				status: http.StatusNotFound, problem: "sale-not-found"},
			{name: "get after the end", route: get, method: "GET", path: sale + "TEE", token: key,
				status: http.StatusNotFound, problem: "sale-not-found"},
		})
	})
}

// Anyone may read when a sale starts, what joining asks and whether it is
// sold out, with the server's clock, but not the shop's stock figures.
func TestPublicSaleHandlers(t *testing.T) {
	t.Parallel()
	eachEngine(t, nil, func(t *testing.T, r *rig) {
		key := r.newShop("acme")
		r.newShop("other")
		r.newProduct("acme", key, "TEE", 10)
		r.newProduct("acme", key, "CAP", 10)
		const info = "GET /v1/shops/{shop}/sales/{sku}"
		const put = "PUT /v1/shops/{shop}/admin/sales/{sku}"
		later := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		noStock := func(t *testing.T, res *httptest.ResponseRecorder) {
			t.Helper()
			header("Cache-Control", "public, max-age=1")(t, res)
			body := decodeBody[map[string]any](t, res)
			for _, secret := range []string{"stock", "units_left", "queue_length", "admission_rate", "version"} {
				if _, ok := body[secret]; ok {
					t.Errorf("the public sale shows %s: %v", secret, body)
				}
			}
			if now, err := time.Parse(time.RFC3339Nano, body["now"].(string)); err != nil || time.Since(now).Abs() > time.Hour {
				t.Errorf("now = %v (%v), want the server's clock", body["now"], err)
			}
		}
		r.run(t, []row{
			{name: "a sale that opens later", route: put, method: "PUT", path: "/v1/shops/acme/admin/sales/TEE", token: key,
				body: `{"stock":5,"admission_rate":2,"pow_difficulty":4,"starts_at":"` + later.Format(time.RFC3339) + `"}`, status: http.StatusOK},
			{name: "a sale with nothing left", route: put, method: "PUT", path: "/v1/shops/acme/admin/sales/CAP", token: key,
				body: `{"stock":0}`, status: http.StatusOK},
			{name: "read it", route: info, method: "GET", path: "/v1/shops/acme/sales/TEE", status: http.StatusOK,
				want:  map[string]any{"sku": "TEE", "starts_at": later.Format(time.RFC3339), "waiting_room": true, "pow_difficulty": 4, "sold_out": false},
				check: noStock},
			{name: "read a sold-out one", route: info, method: "GET", path: "/v1/shops/acme/sales/CAP", status: http.StatusOK,
				want: map[string]any{"waiting_room": false, "pow_difficulty": 0, "sold_out": true}, check: noStock},
			{name: "a SKU not on sale", route: info, method: "GET", path: "/v1/shops/acme/sales/NOPE",
				status: http.StatusNotFound, problem: "sale-not-found"},
			{name: "another shop's sale", route: info, method: "GET", path: "/v1/shops/other/sales/TEE",
				status: http.StatusNotFound, problem: "sale-not-found"},
			{name: "an unknown shop", route: info, method: "GET", path: "/v1/shops/nope/sales/TEE",
				status: http.StatusNotFound, problem: "shop-not-found"},
		})
	})
}

func TestWaitingRoomHandlers(t *testing.T) {
	t.Parallel()
	eachEngine(t, nil, func(t *testing.T, r *rig) {
		key := r.newShop("acme")
		r.newShop("other")
		r.newProduct("acme", key, "TEE", 10)
		r.newProduct("acme", key, "MUG", 10)
		r.newProduct("acme", key, "CAP", 10)
		_, ada := r.newCustomer("acme")
		_, bob := r.newCustomer("acme")
		_, otherToken := r.newCustomer("other")
		const join = "POST /v1/shops/{shop}/sales/{sku}/queue"
		const status = "GET /v1/shops/{shop}/sales/{sku}/queue"
		const co = "POST /v1/shops/{shop}/checkout"
		// TEE's waiting room admits its first buyer at once; MUG's opens in an
		// hour, so whoever joins it waits whatever the clock does meanwhile.
		later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		var adaTicket, mugTicket string
		r.run(t, []row{
			{name: "a sale with a waiting room", route: "PUT /v1/shops/{shop}/admin/sales/{sku}", method: "PUT", path: "/v1/shops/acme/admin/sales/TEE",
				token: key, body: `{"stock":5,"admission_rate":1,"admission_burst":1}`, status: http.StatusOK},
			{name: "one that opens later", route: "PUT /v1/shops/{shop}/admin/sales/{sku}", method: "PUT", path: "/v1/shops/acme/admin/sales/MUG",
				token: key, body: `{"stock":5,"admission_rate":1,"starts_at":"` + later + `"}`, status: http.StatusOK},
			{name: "one without", route: "PUT /v1/shops/{shop}/admin/sales/{sku}", method: "PUT", path: "/v1/shops/acme/admin/sales/CAP",
				token: key, body: `{"stock":5}`, status: http.StatusOK},

			{name: "join", route: join, method: "POST", path: "/v1/shops/acme/sales/TEE/queue", token: ada,
				status: http.StatusOK, want: map[string]any{"sku": "TEE", "position": 1, "status": "admitted"},
				check: func(t *testing.T, res *httptest.ResponseRecorder) {
					header("Cache-Control", "no-store")(t, res)
					header("Retry-After", "")(t, res)
					adaTicket = decodeBody[map[string]any](t, res)["token"].(string)
				}},
			{name: "join again", route: join, method: "POST", path: "/v1/shops/acme/sales/TEE/queue", token: ada,
				status: http.StatusOK, want: map[string]any{"position": 1}},
			// Before the start a buyer is in the pre-queue: no place yet.
			{name: "join one that opens later", route: join, method: "POST", path: "/v1/shops/acme/sales/MUG/queue", token: bob,
				status: http.StatusOK, want: map[string]any{"position": 0, "pre_queue": true, "status": "waiting"},
				check: func(t *testing.T, res *httptest.ResponseRecorder) {
					header("Retry-After", "30")(t, res)
					mugTicket = decodeBody[map[string]any](t, res)["token"].(string)
				}},
			{name: "join without a token", route: join, method: "POST", path: "/v1/shops/acme/sales/TEE/queue",
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "join with another shop's token", route: join, method: "POST", path: "/v1/shops/acme/sales/TEE/queue", token: otherToken,
				status: http.StatusForbidden, problem: "forbidden"},
			{name: "join a sale without a waiting room", route: join, method: "POST", path: "/v1/shops/acme/sales/CAP/queue", token: ada,
				status: http.StatusNotFound, problem: "no-waiting-room"},
			{name: "join a SKU not on sale", route: join, method: "POST", path: "/v1/shops/acme/sales/NOPE/queue", token: ada,
				status: http.StatusNotFound, problem: "sale-not-found"},
		})
		ticket := func(tk string) map[string]string { return map[string]string{"Surge-Queue-Ticket": tk} }
		withKey := func(k, tk string) map[string]string {
			return map[string]string{"Surge-Queue-Ticket": tk, "Idempotency-Key": k}
		}
		tee := `{"items":[{"sku":"TEE","quantity":1}]}`
		r.run(t, []row{
			{name: "status", route: status, method: "GET", path: "/v1/shops/acme/sales/TEE/queue", token: ada, header: ticket(adaTicket),
				status: http.StatusOK, want: map[string]any{"position": 1, "status": "admitted"}},
			{name: "status of a waiting ticket", route: status, method: "GET", path: "/v1/shops/acme/sales/MUG/queue", token: bob, header: ticket(mugTicket),
				status: http.StatusOK, want: map[string]any{"status": "waiting"}, check: header("Retry-After", "30")},
			{name: "status without a ticket", route: status, method: "GET", path: "/v1/shops/acme/sales/TEE/queue", token: ada,
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "status of a forged ticket", route: status, method: "GET", path: "/v1/shops/acme/sales/TEE/queue", token: ada,
				header: ticket(adaTicket[:len(adaTicket)-2] + "xx"), status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "status of another customer's ticket", route: status, method: "GET", path: "/v1/shops/acme/sales/TEE/queue", token: bob,
				header: ticket(adaTicket), status: http.StatusForbidden, problem: "forbidden"},
			{name: "status of another sale's ticket", route: status, method: "GET", path: "/v1/shops/acme/sales/TEE/queue", token: bob,
				header: ticket(mugTicket), status: http.StatusForbidden, problem: "forbidden"},
			{name: "status without a token", route: status, method: "GET", path: "/v1/shops/acme/sales/TEE/queue", header: ticket(adaTicket),
				status: http.StatusUnauthorized, problem: "unauthorized"},

			{name: "checkout without a ticket", route: co, method: "POST", path: "/v1/shops/acme/checkout", token: bob,
				header: withKey("q1", ""), body: tee, status: http.StatusForbidden, problem: "queue-ticket-required", want: map[string]any{"sku": "TEE"}},
			{name: "checkout with another customer's ticket", route: co, method: "POST", path: "/v1/shops/acme/checkout", token: bob,
				header: withKey("q2", adaTicket), body: tee, status: http.StatusForbidden, problem: "queue-ticket-required"},
			{name: "checkout admitted", route: co, method: "POST", path: "/v1/shops/acme/checkout", token: ada,
				header: withKey("q3", adaTicket), body: tee, status: http.StatusCreated, want: map[string]any{"order.status": "paid"}},
			{name: "checkout a sale not yet open", route: co, method: "POST", path: "/v1/shops/acme/checkout", token: bob,
				header: withKey("q4", mugTicket), body: `{"items":[{"sku":"MUG","quantity":1}]}`,
				status: http.StatusConflict, problem: "sale-not-started", check: func(t *testing.T, res *httptest.ResponseRecorder) {
					if !strings.Contains(res.Body.String(), `"starts_at"`) {
						t.Errorf("body %s: want the start", res.Body)
					}
				}},
			{name: "the sale's figures", route: "GET /v1/shops/{shop}/admin/sales/{sku}", method: "GET", path: "/v1/shops/acme/admin/sales/TEE",
				token: key, status: http.StatusOK, want: map[string]any{"units_left": 4, "queue_length": 1}},
		})
	})
}

// A sale may ask a proof of work to join its waiting room: a buyer asks a
// challenge, solves it and joins with it; without one, or with a wrong
// one, nothing changes.
func TestProofOfWorkHandlers(t *testing.T) {
	t.Parallel()
	eachEngine(t, nil, func(t *testing.T, r *rig) {
		key := r.newShop("pow")
		r.newProduct("pow", key, "DROP", 10)
		_, ada := r.newCustomer("pow")
		_, bob := r.newCustomer("pow")
		const challenge = "GET /v1/shops/{shop}/sales/{sku}/queue/challenge"
		const join = "POST /v1/shops/{shop}/sales/{sku}/queue"
		var c flashsale.Challenge
		r.run(t, []row{
			{name: "a sale asking 8 bits", route: "PUT /v1/shops/{shop}/admin/sales/{sku}", method: "PUT", path: "/v1/shops/pow/admin/sales/DROP",
				token: key, body: `{"stock":5,"admission_rate":10,"admission_burst":10,"pow_difficulty":8}`, status: http.StatusOK,
				want: map[string]any{"pow_difficulty": 8}},
			{name: "too hard a proof", route: "PUT /v1/shops/{shop}/admin/sales/{sku}", method: "PUT", path: "/v1/shops/pow/admin/sales/DROP",
				token: key, body: `{"stock":5,"admission_rate":10,"pow_difficulty":29}`, status: http.StatusUnprocessableEntity,
				problem: "validation", check: fieldErrors("pow_difficulty")},
			{name: "a challenge", route: challenge, method: "GET", path: "/v1/shops/pow/sales/DROP/queue/challenge", token: ada,
				status: http.StatusOK, want: map[string]any{"difficulty": 8},
				check: func(t *testing.T, res *httptest.ResponseRecorder) { c = decodeBody[flashsale.Challenge](t, res) }},
			{name: "a challenge without a token", route: challenge, method: "GET", path: "/v1/shops/pow/sales/DROP/queue/challenge",
				status: http.StatusUnauthorized, problem: "unauthorized"},
			{name: "a challenge for a SKU not on sale", route: challenge, method: "GET", path: "/v1/shops/pow/sales/NOPE/queue/challenge", token: ada,
				status: http.StatusNotFound, problem: "sale-not-found"},
			{name: "join without a proof", route: join, method: "POST", path: "/v1/shops/pow/sales/DROP/queue", token: ada,
				status: http.StatusForbidden, problem: "pow-required"},
		})
		solved := `{"challenge":"` + c.Challenge + `","nonce":"` + flashsale.SolvePoW(c.Challenge, 8) + `"}`
		r.run(t, []row{
			{name: "join with another buyer's proof", route: join, method: "POST", path: "/v1/shops/pow/sales/DROP/queue", token: bob,
				body: solved, status: http.StatusForbidden, problem: "pow-invalid"},
			{name: "join with a nonce that misses", route: join, method: "POST", path: "/v1/shops/pow/sales/DROP/queue", token: ada,
				body: `{"challenge":"` + c.Challenge + `","nonce":"` + wrongNonce(c.Challenge, 8) + `"}`, status: http.StatusForbidden, problem: "pow-invalid"},
			{name: "join with the proof", route: join, method: "POST", path: "/v1/shops/pow/sales/DROP/queue", token: ada,
				body: solved, status: http.StatusOK, want: map[string]any{"position": 1, "status": "admitted"}},
			{name: "join again: no new proof needed", route: join, method: "POST", path: "/v1/shops/pow/sales/DROP/queue", token: ada,
				status: http.StatusOK, want: map[string]any{"position": 1}},
		})
	})
}

// wrongNonce finds a nonce that does not reach the difficulty.
func wrongNonce(challenge string, bits int) string {
	for n := 0; ; n++ {
		if nonce := strconv.Itoa(n); flashsale.LeadingZeroBits(challenge, nonce) < bits {
			return nonce
		}
	}
}
