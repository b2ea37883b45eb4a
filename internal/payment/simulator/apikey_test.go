package psp_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	pspclient "github.com/surge-commerce/surge/internal/payment/client"
	psp "github.com/surge-commerce/surge/internal/payment/simulator"
)

// With an API key set, every call but /healthz needs it: no local process
// can read the ledger, set faults or create payments without it; the
// client that has it works.
func TestAPIKeyRequired(t *testing.T) {
	srv := setup(t, psp.Config{APIKey: "psp-key-0123456789abcdef0123456789"})
	for _, c := range []struct {
		method, path, key string
		want              int
	}{
		{"GET", "/healthz", "", 200},
		{"GET", "/v1/ledger", "", 401},
		{"GET", "/v1/faults", "", 401},
		{"PUT", "/v1/faults", "wrong", 401},
		{"POST", "/v1/payments", "", 401},
		{"GET", "/v1/ledger", "psp-key-0123456789abcdef0123456789", 200},
	} {
		req, _ := http.NewRequest(c.method, srv.URL()+c.path, nil)
		if c.key != "" {
			req.Header.Set("Authorization", "Bearer "+c.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s with key %q: %d, want %d", c.method, c.path, c.key, resp.StatusCode, c.want)
		}
		if c.want == 401 && resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s %s: 401 without WWW-Authenticate", c.method, c.path)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	keyed := pspclient.New(pspclient.Config{BaseURL: srv.URL(), APIKey: "psp-key-0123456789abcdef0123456789"})
	if r, err := keyed.Charge(ctx, "ord_1", 100, "EUR"); err != nil || r.Outcome != pspclient.Paid {
		t.Fatalf("charge with the key: %+v, %v", r, err)
	}
	bare := pspclient.New(pspclient.Config{BaseURL: srv.URL()})
	if r, err := bare.Charge(ctx, "ord_2", 100, "EUR"); err == nil || r.Outcome == pspclient.Paid {
		t.Fatalf("charge without the key: %+v, %v", r, err)
	}
}
