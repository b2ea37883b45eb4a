package psp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	psp "github.com/surge-commerce/surge/internal/payment/simulator"
)

// setup starts a simulator on a free port with its data in a fresh temp dir.
func setup(t *testing.T, cfg psp.Config) *psp.Server {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	srv, err := psp.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// fixedRand makes every fault decision see v.
func fixedRand(v float64) func() float64 { return func() float64 { return v } }

// scriptedRand returns vals in order, then rest forever.
func scriptedRand(rest float64, vals ...float64) func() float64 {
	var mu sync.Mutex
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		if len(vals) == 0 {
			return rest
		}
		v := vals[0]
		vals = vals[1:]
		return v
	}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request on a fresh connection, so that no test shares a
// pooled connection that a fault closed.
func do(t *testing.T, ctx context.Context, method, url, key, body string) (reply, error) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: data}, err
}

// mustDo is do for requests that must get an answer.
func mustDo(t *testing.T, method, url, key, body string) reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := do(t, ctx, method, url, key, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return r
}

func decode[T any](t *testing.T, r reply) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
	return v
}

func wantProblem(t *testing.T, r reply, status int, slug string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d (body %s)", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type = %q, want application/problem+json", ct)
	}
	if p := decode[psp.Problem](t, r); p.Slug() != slug || p.Status != status {
		t.Fatalf("problem = %+v, want type %s", p, slug)
	}
}

func chargeBody(ref string, amount int64, capture bool) string {
	b, _ := json.Marshal(map[string]any{"merchant_reference": ref, "amount": amount, "currency": "EUR", "capture": capture})
	return string(b)
}

func create(t *testing.T, srv *psp.Server, key, ref string, capture bool) psp.Payment {
	t.Helper()
	r := mustDo(t, http.MethodPost, srv.URL()+"/v1/payments", key, chargeBody(ref, 1250, capture))
	if r.status != http.StatusCreated {
		t.Fatalf("create: status %d: %s", r.status, r.body)
	}
	return decode[psp.Payment](t, r)
}

type list struct {
	Data []psp.Payment `json:"data"`
	Next string        `json:"next"`
}

func byReference(t *testing.T, srv *psp.Server, ref string) []psp.Payment {
	t.Helper()
	r := mustDo(t, http.MethodGet, srv.URL()+"/v1/payments?merchant_reference="+ref, "", "")
	if r.status != http.StatusOK {
		t.Fatalf("list: status %d: %s", r.status, r.body)
	}
	return decode[list](t, r).Data
}

func putFaults(t *testing.T, srv *psp.Server, f psp.Faults) {
	t.Helper()
	b, _ := json.Marshal(f)
	r := mustDo(t, http.MethodPut, srv.URL()+"/v1/faults", "", string(b))
	if r.status != http.StatusOK {
		t.Fatalf("put faults: status %d: %s", r.status, r.body)
	}
}

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
