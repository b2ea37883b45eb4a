package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/analytics"
	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/invoice"
	"github.com/surge-commerce/surge/internal/notify"
	"github.com/surge-commerce/surge/internal/recommend"
	"github.com/surge-commerce/surge/internal/worker"
)

// deliver hands every committed event to the consumers that build the
// read models, in this process and at once: what the relay, the broker
// and the workers do in `surge serve`, without them.
func (r *rig) deliver() {
	r.t.Helper()
	now := time.Now
	handlers := []worker.Handler{
		notify.NewHandler(r.st, now), invoice.NewHandler(r.st, now),
		analytics.NewHandler(r.st, now), recommend.NewHandler(r.st, now),
	}
	for {
		n, err := r.st.RelayOutbox(context.Background(), 100, now(), func(ctx context.Context, batch []event.Envelope) ([]string, error) {
			var acked []string
			for _, e := range batch {
				for _, h := range handlers {
					if !subscribed(h, e.Type) {
						continue
					}
					if err := h.Handle(ctx, e); err != nil {
						return acked, err
					}
				}
				acked = append(acked, e.ID)
			}
			return acked, nil
		})
		if err != nil {
			r.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// subscribed reports whether one of h's subjects (surge.*.<type>) names
// the event type.
func subscribed(h worker.Handler, typ string) bool {
	for _, s := range h.Subjects() {
		if strings.TrimPrefix(s, "surge.*.") == typ {
			return true
		}
	}
	return false
}

func TestReadModelHandlers(t *testing.T) {
	t.Parallel()
	eachEngine(t, nil, func(t *testing.T, r *rig) {
		key := r.newShop("acme")
		otherKey := r.newShop("other")
		r.newProduct("acme", key, "TEE", 5)
		_, token := r.newCustomer("acme")
		order := r.newOrder("acme", token, "TEE", 2)
		r.deliver()
		const notes = "GET /v1/shops/{shop}/admin/notifications"
		const retry = "POST /v1/shops/{shop}/admin/notifications/{notification}/retry"
		const invoices = "GET /v1/shops/{shop}/admin/invoices"
		const best = "GET /v1/shops/{shop}/admin/bestsellers"
		items := func(n int) func(t *testing.T, res *httptest.ResponseRecorder) {
			return func(t *testing.T, res *httptest.ResponseRecorder) {
				t.Helper()
				header("Cache-Control", "no-store")(t, res)
				got := decodeBody[struct {
					Items []map[string]any `json:"items"`
				}](t, res).Items
				if got == nil || len(got) != n {
					t.Errorf("%d items, want %d: %s", len(got), n, res.Body)
				}
			}
		}
		var note string
		r.run(t, []row{
			{name: "notifications", route: notes, method: "GET", path: "/v1/shops/acme/admin/notifications", token: key,
				status: http.StatusOK, check: func(t *testing.T, res *httptest.ResponseRecorder) {
					items(1)(t, res)
					n := decodeBody[struct {
						Items []map[string]any `json:"items"`
					}](t, res).Items[0]
					if n["order_id"] != order {
						t.Errorf("notification %v, want one for %s", n, order)
					}
					note, _ = n["id"].(string)
				}},
			{name: "notifications of the order", route: notes, method: "GET", path: "/v1/shops/acme/admin/notifications?order_id=" + order, token: key,
				status: http.StatusOK, check: items(1)},
			{name: "notifications of another order", route: notes, method: "GET", path: "/v1/shops/acme/admin/notifications?order_id=ord_nope", token: key,
				status: http.StatusOK, check: items(0)},
			{name: "another shop's notifications", route: notes, method: "GET", path: "/v1/shops/other/admin/notifications", token: otherKey,
				status: http.StatusOK, check: items(0)},
			{name: "notifications with a bad limit", route: notes, method: "GET", path: "/v1/shops/acme/admin/notifications?limit=x", token: key,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("limit")},
			{name: "notifications without a key", route: notes, method: "GET", path: "/v1/shops/acme/admin/notifications",
				status: http.StatusUnauthorized, problem: "unauthorized"},

			{name: "invoices", route: invoices, method: "GET", path: "/v1/shops/acme/admin/invoices", token: key,
				status: http.StatusOK, check: items(1)},
			{name: "invoices after the first", route: invoices, method: "GET", path: "/v1/shops/acme/admin/invoices?after=1", token: key,
				status: http.StatusOK, check: items(0)},
			{name: "invoices after a bad number", route: invoices, method: "GET", path: "/v1/shops/acme/admin/invoices?after=-1", token: key,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("after")},
			{name: "invoices with a bad limit", route: invoices, method: "GET", path: "/v1/shops/acme/admin/invoices?limit=1000", token: key,
				status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("limit")},
			{name: "another shop's invoices", route: invoices, method: "GET", path: "/v1/shops/other/admin/invoices", token: otherKey,
				status: http.StatusOK, check: items(0)},
			{name: "invoices with another shop's key", route: invoices, method: "GET", path: "/v1/shops/acme/admin/invoices", token: otherKey,
				status: http.StatusForbidden, problem: "forbidden"},

			{name: "best sellers", route: best, method: "GET", path: "/v1/shops/acme/admin/bestsellers", token: key,
				status: http.StatusOK, check: items(1)},
			{name: "another shop's best sellers", route: best, method: "GET", path: "/v1/shops/other/admin/bestsellers", token: otherKey,
				status: http.StatusOK, check: items(0)},
			{name: "best sellers without a key", route: best, method: "GET", path: "/v1/shops/acme/admin/bestsellers",
				status: http.StatusUnauthorized, problem: "unauthorized"},
		})
		r.run(t, []row{
			{name: "retry a notification that did not fail", route: retry, method: "POST", path: "/v1/shops/acme/admin/notifications/" + note + "/retry", token: key,
				status: http.StatusNotFound, problem: "notification-not-failed"},
			{name: "retry another shop's notification", route: retry, method: "POST", path: "/v1/shops/other/admin/notifications/" + note + "/retry", token: otherKey,
				status: http.StatusNotFound, problem: "notification-not-failed"},
			{name: "retry without a key", route: retry, method: "POST", path: "/v1/shops/acme/admin/notifications/" + note + "/retry",
				status: http.StatusUnauthorized, problem: "unauthorized"},
		})
		// The mail sender gives up on it, as after its last attempt.
		sh, err := r.srv.shops.Resolve(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		if err := r.st.NotificationFailed(context.Background(), sh.ID, note, "mailbox unavailable", time.Now(), true, time.Now()); err != nil {
			t.Fatal(err)
		}
		r.run(t, []row{
			{name: "retry another shop's failed notification", route: retry, method: "POST", path: "/v1/shops/other/admin/notifications/" + note + "/retry", token: otherKey,
				status: http.StatusNotFound, problem: "notification-not-failed"},
			{name: "retry with a stale If-Match", route: retry, method: "POST", path: "/v1/shops/acme/admin/notifications/" + note + "/retry", token: key,
				header: map[string]string{"If-Match": `"v1"`}, status: http.StatusPreconditionFailed, problem: "precondition-failed"},
			{name: "retry a failed notification", route: retry, method: "POST", path: "/v1/shops/acme/admin/notifications/" + note + "/retry", token: key,
				status: http.StatusNoContent},
			{name: "retry it again", route: retry, method: "POST", path: "/v1/shops/acme/admin/notifications/" + note + "/retry", token: key,
				status: http.StatusNotFound, problem: "notification-not-failed"},
		})
	})
}
