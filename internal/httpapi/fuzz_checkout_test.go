package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/surge-commerce/surge/internal/errcode"
)

// FuzzDecodeCheckout feeds arbitrary bodies to the checkout decoder. A
// refusal is a client error with a stable problem type. What it accepts
// names only fields it knows, spelled exactly (a proxy and Surge must
// agree on what a body says), and reads back the same when written out.
func FuzzDecodeCheckout(f *testing.F) {
	f.Add([]byte(`{"items":[{"sku":"TEE-1","quantity":2}]}`))
	f.Add([]byte(`{"cart_id":"cart_1"}`))
	f.Add([]byte(`{"items":[{"sku":"TEE-1","quantity":1.5}]}`))
	f.Add([]byte(`{"items":null,"extra":1}`))
	f.Add([]byte(`{"Items":[],"items":[]}`))
	f.Add([]byte(`{"cart_id":"a","cart_id":"b"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req checkoutRequest
		err := decodeJSON(bytes.NewReader(body), &req)
		if err != nil {
			code, typ := errcode.Code(err), errcode.Code(err)
			var e *errcode.Error
			if errors.As(err, &e) && e.Type != "" {
				typ = e.Type
			}
			if status := statusOf(code, typ); status != http.StatusBadRequest && status != http.StatusUnprocessableEntity && status != http.StatusRequestEntityTooLarge {
				t.Fatalf("refused with status %d (code %q, type %q): %v", status, code, typ, err)
			}
			return
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(body, &fields) == nil {
			for k := range fields {
				if k != "items" && k != "cart_id" {
					t.Fatalf("accepted field %q in %s", k, body)
				}
			}
		}
		out, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		var again checkoutRequest
		if err := decodeJSON(bytes.NewReader(out), &again); err != nil || !reflect.DeepEqual(again, req) {
			t.Fatalf("%s did not read back: %+v, %v", out, again, err)
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
