package psp_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	psp "github.com/surge-commerce/surge/internal/payment/simulator"
)

func TestCreateIsIdempotentUnderConcurrency(t *testing.T) {
	t.Parallel()
	srv := setup(t, psp.Config{})
	const n = 64
	replies := make([]reply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			replies[i] = mustDo(t, http.MethodPost, srv.URL()+"/v1/payments", "order-1", chargeBody("order-1", 1250, true))
		})
	}
	wg.Wait()
	for i, r := range replies {
		if r.status != http.StatusCreated || !bytes.Equal(r.body, replies[0].body) {
			t.Fatalf("reply %d = %d %s, want 201 %s", i, r.status, r.body, replies[0].body)
		}
	}
	if got := byReference(t, srv, "order-1"); len(got) != 1 || got[0].Status != psp.StatusCaptured {
		t.Fatalf("payments for order-1 = %+v, want one captured", got)
	}
}

func TestCreateReplayIgnoresFormatting(t *testing.T) {
	t.Parallel()
	srv := setup(t, psp.Config{})
	first := create(t, srv, "k1", "order-1", false)
	body := `{ "capture": false, "currency": "EUR", "amount": 1250, "merchant_reference": "order-1" }`
	r := mustDo(t, http.MethodPost, srv.URL()+"/v1/payments", "k1", body)
	if got := decode[psp.Payment](t, r); r.status != http.StatusCreated || got.ID != first.ID {
		t.Fatalf("replay = %d %s, want 201 with payment %s", r.status, r.body, first.ID)
	}
}

func TestCreateKeyReusedWithDifferentBody(t *testing.T) {
	t.Parallel()
	srv := setup(t, psp.Config{})
	create(t, srv, "k1", "order-1", true)
	tests := []struct {
		name string
		body string
	}{
		{"amount", chargeBody("order-1", 999, true)},
		{"reference", chargeBody("order-2", 1250, true)},
		{"capture", chargeBody("order-1", 1250, false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustDo(t, http.MethodPost, srv.URL()+"/v1/payments", "k1", tt.body)
			wantProblem(t, r, http.StatusUnprocessableEntity, "idempotency-key-reused")
		})
	}
	if got := byReference(t, srv, "order-2"); len(got) != 0 {
		t.Fatalf("a rejected reuse created %+v", got)
	}
}

func TestCreateRejectsBadRequests(t *testing.T) {
	t.Parallel()
	srv := setup(t, psp.Config{})
	tests := []struct {
		name string
		key  string
		body string
		slug string
	}{
		{"no key", "", chargeBody("o", 1, true), "missing-idempotency-key"},
		{"not json", "k", `{"amount":`, "malformed-json"},
		{"unknown field", "k", `{"merchant_reference":"o","amount":1,"currency":"EUR","tip":5}`, "malformed-json"},
		{"trailing data", "k", chargeBody("o", 1, true) + `{}`, "malformed-json"},
		{"no reference", "k", `{"amount":1,"currency":"EUR"}`, "invalid-request"},
		{"zero amount", "k", chargeBody("o", 0, true), "invalid-request"},
		{"negative amount", "k", chargeBody("o", -5, true), "invalid-request"},
		{"bad currency", "k", `{"merchant_reference":"o","amount":1,"currency":"eur"}`, "invalid-request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := mustDo(t, http.MethodPost, srv.URL()+"/v1/payments", tt.key, tt.body)
			wantProblem(t, r, http.StatusBadRequest, tt.slug)
		})
	}
}

func TestTransitions(t *testing.T) {
	t.Parallel()
	srv := setup(t, psp.Config{})
	tests := []struct {
		name    string
		capture bool
		ops     []string // applied in order; the last one is checked
		status  int
		want    string // resulting status, or problem slug on error
	}{
		{"capture authorized", false, []string{"capture"}, 200, psp.StatusCaptured},
		{"capture twice", false, []string{"capture", "capture"}, 200, psp.StatusCaptured},
		{"void authorized", false, []string{"void"}, 200, psp.StatusVoided},
		{"void twice", false, []string{"void", "void"}, 200, psp.StatusVoided},
		{"capture voided", false, []string{"void", "capture"}, 409, "invalid-transition"},
		{"refund authorized", false, []string{"refund"}, 409, "invalid-transition"},
		{"refund captured", true, []string{"refund"}, 200, psp.StatusRefunded},
		{"refund twice", true, []string{"refund", "refund"}, 200, psp.StatusRefunded},
		{"capture after refund", true, []string{"refund", "capture"}, 200, psp.StatusRefunded},
		{"void captured", true, []string{"void"}, 409, "invalid-transition"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := create(t, srv, fmt.Sprint("k", i), fmt.Sprint("order-", i), tt.capture)
			var r reply
			for _, op := range tt.ops {
				r = mustDo(t, http.MethodPost, srv.URL()+"/v1/payments/"+p.ID+"/"+op, "", "")
			}
			if tt.status != http.StatusOK {
				wantProblem(t, r, tt.status, tt.want)
				return
			}
			if got := decode[psp.Payment](t, r); r.status != tt.status || got.Status != tt.want {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, tt.status, tt.want)
			}
		})
	}
}

func TestGetPayment(t *testing.T) {
	t.Parallel()
	srv := setup(t, psp.Config{})
	p := create(t, srv, "k1", "order-1", true)
	tests := []struct {
		name   string
		id     string
		status int
	}{
		{"existing", p.ID, http.StatusOK},
		{"missing", "pay_nope", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := mustDo(t, http.MethodGet, srv.URL()+"/v1/payments/"+tt.id, "", "")
			if tt.status == http.StatusNotFound {
				wantProblem(t, r, tt.status, "not-found")
				return
			}
			if got := decode[psp.Payment](t, r); got.ID != p.ID || got.Amount != 1250 || got.Currency != "EUR" {
				t.Fatalf("got %+v, want %+v", got, p)
			}
		})
	}
}

func TestLedgerPages(t *testing.T) {
	t.Parallel()
	srv := setup(t, psp.Config{})
	const n = 25
	for i := range n {
		create(t, srv, fmt.Sprint("k", i), fmt.Sprint("order-", i), true)
	}
	seen := map[string]bool{}
	url := srv.URL() + "/v1/ledger?limit=10"
	for pages := 0; ; pages++ {
		if pages > n {
			t.Fatal("ledger does not end")
		}
		page := decode[list](t, mustDo(t, http.MethodGet, url, "", ""))
		for _, p := range page.Data {
			seen[p.ID] = true
		}
		if page.Next == "" {
			break
		}
		url = srv.URL() + "/v1/ledger?limit=10&after=" + page.Next
	}
	if len(seen) != n {
		t.Fatalf("ledger listed %d payments, want %d", len(seen), n)
	}
}

func TestPersistsAcrossRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := setup(t, psp.Config{DataDir: dir})
	r1 := mustDo(t, http.MethodPost, first.URL()+"/v1/payments", "k1", chargeBody("order-1", 1250, true))
	p := decode[psp.Payment](t, r1)
	first.Stop()

	second := setup(t, psp.Config{DataDir: dir})
	if got := decode[psp.Payment](t, mustDo(t, http.MethodGet, second.URL()+"/v1/payments/"+p.ID, "", "")); got.Status != psp.StatusCaptured {
		t.Fatalf("after restart: %+v", got)
	}
	r2 := mustDo(t, http.MethodPost, second.URL()+"/v1/payments", "k1", chargeBody("order-1", 1250, true))
	if !bytes.Equal(r1.body, r2.body) {
		t.Fatalf("replay after restart = %s, want %s", r2.body, r1.body)
	}
}

func TestRunsWithoutDataDir(t *testing.T) {
	t.Parallel()
	srv, err := psp.NewServer(psp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	if r := mustDo(t, http.MethodGet, srv.URL()+"/healthz", "", ""); r.status != http.StatusOK {
		t.Fatalf("healthz = %d", r.status)
	}
}

func TestUnknownEndpoint(t *testing.T) {
	t.Parallel()
	srv := setup(t, psp.Config{})
	wantProblem(t, mustDo(t, http.MethodGet, srv.URL()+"/v2/nothing", "", ""), http.StatusNotFound, "not-found")
}
