package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/worker"
)

// fakeDeadLetters holds one invoice dead letter until it is replayed.
type fakeDeadLetters struct{ left int }

func (f *fakeDeadLetters) List(context.Context) ([]event.DeadLetterGroup, error) {
	if f.left == 0 {
		return nil, nil
	}
	return []event.DeadLetterGroup{{Consumer: "invoice", Error: "order on hold", Count: f.left, FirstSeq: 1, LastSeq: 1}}, nil
}

func (f *fakeDeadLetters) Replay(ctx context.Context, consumer string) ([]event.ReplayReport, error) {
	if consumer != "" && consumer != "invoice" {
		return worker.DeadLetters{}.Replay(ctx, consumer) // its own refusal of a name it does not know
	}
	rep := event.ReplayReport{Consumer: "invoice", Applied: f.left, Failures: []string{}}
	f.left = 0
	return []event.ReplayReport{rep}, nil
}

func TestDeadLetterHandlers(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	shopKey := r.newShop("acme")
	const list = "GET /v1/admin/dead-letters"
	const replay = "POST /v1/admin/dead-letters/replay"
	A := r.adminKey
	// The rig runs without a broker, as a server may.
	r.run(t, []row{
		{name: "list without a broker", route: list, method: "GET", path: "/v1/admin/dead-letters", token: A,
			status: http.StatusServiceUnavailable, problem: "broker-unavailable"},
		{name: "replay without a broker", route: replay, method: "POST", path: "/v1/admin/dead-letters/replay", token: A,
			status: http.StatusServiceUnavailable, problem: "broker-unavailable"},
	})
	r.srv.deadLetters = &fakeDeadLetters{left: 1}
	r.run(t, []row{
		{name: "list", route: list, method: "GET", path: "/v1/admin/dead-letters", token: A, status: http.StatusOK,
			check: firstItem(map[string]any{"consumer": "invoice", "error": "order on hold", "count": 1.0, "first_seq": 1.0})},
		{name: "list with a shop key", route: list, method: "GET", path: "/v1/admin/dead-letters", token: shopKey,
			status: http.StatusUnauthorized, problem: "unauthorized"},
		{name: "replay an unknown consumer", route: replay, method: "POST", path: "/v1/admin/dead-letters/replay", token: A,
			body: `{"consumer":"nope"}`, status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("consumer")},
		{name: "replay with an unknown field", route: replay, method: "POST", path: "/v1/admin/dead-letters/replay", token: A,
			body: `{"consumers":"invoice"}`, status: http.StatusUnprocessableEntity, problem: "validation", check: fieldErrors("consumers")},
		{name: "replay malformed", route: replay, method: "POST", path: "/v1/admin/dead-letters/replay", token: A,
			body: `{"consumer":`, status: http.StatusBadRequest, problem: "malformed-json"},
		{name: "the refusals replayed nothing", route: list, method: "GET", path: "/v1/admin/dead-letters", token: A,
			status: http.StatusOK, check: firstItem(map[string]any{"count": 1.0})},
		{name: "replay with a shop key", route: replay, method: "POST", path: "/v1/admin/dead-letters/replay", token: shopKey,
			body: `{}`, status: http.StatusUnauthorized, problem: "unauthorized"},
		{name: "replay one consumer", route: replay, method: "POST", path: "/v1/admin/dead-letters/replay", token: A,
			body: `{"consumer":"invoice"}`, status: http.StatusOK,
			check: firstItem(map[string]any{"consumer": "invoice", "applied": 1.0, "failed": 0.0})},
		{name: "none left", route: list, method: "GET", path: "/v1/admin/dead-letters", token: A, status: http.StatusOK,
			want: map[string]any{"items": []any{}}},
	})
}

// firstItem checks fields of a list's first item, and that the list is
// not cached.
func firstItem(want map[string]any) func(t *testing.T, res *httptest.ResponseRecorder) {
	return func(t *testing.T, res *httptest.ResponseRecorder) {
		t.Helper()
		header("Cache-Control", "no-store")(t, res)
		items := decodeBody[struct{ Items []map[string]any }](t, res).Items
		if len(items) == 0 {
			t.Fatalf("no items: %s", res.Body)
		}
		for k, v := range want {
			if items[0][k] != v {
				t.Errorf("items[0].%s = %v, want %v; body %s", k, items[0][k], v, res.Body)
			}
		}
	}
}
