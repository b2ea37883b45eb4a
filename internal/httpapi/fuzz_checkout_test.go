package httpapi

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/surge-commerce/surge/internal/errcode"
)

// FuzzDecodeCheckout feeds arbitrary bodies to the checkout decoder: it must
// never panic, and every rejection must be a client error.
func FuzzDecodeCheckout(f *testing.F) {
	f.Add([]byte(`{"items":[{"sku":"TEE-1","quantity":2}]}`))
	f.Add([]byte(`{"cart_id":"cart_1"}`))
	f.Add([]byte(`{"items":[{"sku":"TEE-1","quantity":1.5}]}`))
	f.Add([]byte(`{"items":null,"extra":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req checkoutRequest
		err := decodeJSON(bytes.NewReader(body), &req)
		if err != nil && errcode.Code(err) != errcode.Invalid && errcode.Code(err) != errcode.TooLarge {
			t.Fatalf("decode error with code %q: %v", errcode.Code(err), err)
		}
	})
}

// FuzzIdempotencyKey checks the header parser keeps keys within bounds.
func FuzzIdempotencyKey(f *testing.F) {
	f.Add(`"abc"`)
	f.Add(`abc`)
	f.Add(`"`)
	f.Fuzz(func(t *testing.T, h string) {
		r := httptestRequest(h)
		k := idempotencyKey(r)
		if len(k) > len(h) {
			t.Fatalf("key %q longer than header %q", k, h)
		}
	})
}

func httptestRequest(idemKey string) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("Idempotency-Key", idemKey)
	return r
}
