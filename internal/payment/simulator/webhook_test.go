package psp_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	psp "github.com/surge-commerce/surge/internal/payment/simulator"
)

const secret = "whsec_test"

// receiver is a webhook endpoint that verifies signatures and fails its
// first failFirst deliveries.
type receiver struct {
	mu        sync.Mutex
	failFirst int
	calls     int
	badSigs   int
	events    []psp.Event
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.calls++
	if err := psp.VerifySignature(secret, r.Header.Get(psp.SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
		rc.badSigs++
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if rc.calls <= rc.failFirst {
		http.Error(w, "not now", http.StatusInternalServerError)
		return
	}
	var ev psp.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		rc.badSigs++
		return
	}
	rc.events = append(rc.events, ev)
}

func (rc *receiver) types() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var ts []string
	for _, ev := range rc.events {
		ts = append(ts, ev.Type)
	}
	return ts
}

func TestWebhooksAreSignedAndRetried(t *testing.T) {
	t.Parallel()
	rc := &receiver{failFirst: 2}
	hook := httptest.NewServer(rc)
	t.Cleanup(hook.Close)
	srv := setup(t, psp.Config{
		WebhookURL:        hook.URL,
		WebhookSecret:     secret,
		WebhookBackoff:    5 * time.Millisecond,
		WebhookMaxBackoff: 20 * time.Millisecond,
	})
	p := create(t, srv, "k1", "order-1", false)
	mustDo(t, http.MethodPost, srv.URL()+"/v1/payments/"+p.ID+"/capture", "", "")
	mustDo(t, http.MethodPost, srv.URL()+"/v1/payments/"+p.ID+"/capture", "", "") // no change, no event

	eventually(t, "two events", func() bool { return len(rc.types()) >= 2 })
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.badSigs != 0 {
		t.Fatalf("%d deliveries had a bad signature", rc.badSigs)
	}
	got := map[string]string{}
	for _, ev := range rc.events {
		got[ev.Type] = ev.Payment.ID
	}
	if len(got) != 2 || got["payment.authorized"] != p.ID || got["payment.captured"] != p.ID {
		t.Fatalf("events = %+v, want authorized and captured for %s", rc.events, p.ID)
	}
}

func TestWebhookSecretRequired(t *testing.T) {
	t.Parallel()
	if _, err := psp.NewServer(psp.Config{WebhookURL: "http://127.0.0.1:1/hook"}); err == nil {
		t.Fatal("NewServer accepted a webhook URL without a secret")
	}
}

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"evt_1","type":"payment.captured"}`)
	now := time.Unix(1_700_000_000, 0)
	valid := psp.Sign(secret, body, now)
	sig := func(header string) string { return header[strings.Index(header, "v1=")+len("v1="):] }
	ts := "t=1700000000"
	tests := []struct {
		name   string
		header string
		body   []byte
		want   error
	}{
		{"valid", valid, body, nil},
		{"valid among rotated", ts + ",v1=" + sig(psp.Sign("old", body, now)) + ",v1=" + sig(valid), body, nil},
		{"unknown scheme ignored", valid + ",v0=abc", body, nil},
		{"wrong secret", psp.Sign("other", body, now), body, psp.ErrSignatureMismatch},
		{"tampered body", valid, []byte(`{"id":"evt_1","type":"payment.refunded"}`), psp.ErrSignatureMismatch},
		{"too old", psp.Sign(secret, body, now.Add(-10*time.Minute)), body, psp.ErrSignatureExpired},
		{"from the future", psp.Sign(secret, body, now.Add(10*time.Minute)), body, psp.ErrSignatureExpired},
		{"empty", "", body, psp.ErrSignatureMalformed},
		{"no timestamp", "v1=" + sig(valid), body, psp.ErrSignatureMalformed},
		{"no signature", ts, body, psp.ErrSignatureMalformed},
		{"bad hex", ts + ",v1=zz", body, psp.ErrSignatureMalformed},
		{"two timestamps", "t=1," + valid, body, psp.ErrSignatureMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := psp.VerifySignature(secret, tt.header, tt.body, now, 5*time.Minute)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("VerifySignature = %v, want %v", err, tt.want)
			}
		})
	}
}
