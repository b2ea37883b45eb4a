package httpapi

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/shop"
)

// FuzzDecodeProduct feeds arbitrary bodies and SKUs to the product
// decoder: it must never panic, every rejection must be a client error,
// and what it accepts must pass validation again unchanged.
func FuzzDecodeProduct(f *testing.F) {
	f.Add("TEE-1", []byte(`{"title":"Tee","price":1999,"currency":"EUR","stock":5}`))
	f.Add("TEE-1", []byte(`{"title":"Tee","description":"d","price":0,"currency":"USD","stock":0,"attributes":{"size":"M"},"images":["https://img.example/a.png"],"purchase_limit":1}`))
	f.Add("bad sku", []byte(`{"title":"Tee","price":1,"currency":"EUR","stock":1}`))
	f.Add("A", []byte(`{"title":"a\u0000b","price":1.5,"currency":"XQZ","stock":-1,"x":1}`))
	f.Add("A", []byte(`[]`))
	f.Fuzz(func(t *testing.T, sku string, body []byte) {
		r, err := http.NewRequest(http.MethodPut, "/", bytes.NewReader(body))
		if err != nil {
			t.Skip()
		}
		r.Header.Set("Content-Type", "application/json")
		in, err := decodeProduct(r, sku)
		if err != nil {
			if c := errcode.Code(err); c != errcode.Invalid && c != errcode.TooLarge {
				t.Fatalf("rejection with code %q: %v", c, err)
			}
			return
		}
		if err := in.Validate(sku); err != nil {
			t.Fatalf("accepted input fails validation: %v", err)
		}
	})
}

// FuzzDecodeShop does the same for the shop creation body and its rules.
func FuzzDecodeShop(f *testing.F) {
	f.Add([]byte(`{"slug":"acme","name":"Acme"}`))
	f.Add([]byte(`{"slug":"Bad Slug","name":""}`))
	f.Add([]byte(`{"slug":"a","name":"x","extra":true}`))
	f.Add([]byte(`{"slug":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req createShopRequest
		if err := decodeJSON(bytes.NewReader(body), &req); err != nil {
			if c := errcode.Code(err); c != errcode.Invalid && c != errcode.TooLarge {
				t.Fatalf("rejection with code %q: %v", c, err)
			}
			return
		}
		if err := shop.ValidateNew(req.Slug, req.Name); err != nil {
			if errcode.Code(err) != errcode.Invalid {
				t.Fatalf("validation error with code %q: %v", errcode.Code(err), err)
			}
			return
		}
		if req.Slug == "" || len(req.Slug) > 40 || strings.ContainsAny(req.Slug, " /?#%") || strings.ContainsRune(req.Name, 0) {
			t.Fatalf("accepted slug %q name %q", req.Slug, req.Name)
		}
	})
}

// FuzzBearer checks the Authorization parser never returns more than it
// was given, nor anything with surrounding space.
func FuzzBearer(f *testing.F) {
	f.Add("Bearer sk_abc")
	f.Add("bearer   ")
	f.Add("Basic dXNlcjpwYXNz")
	f.Add("Bearer")
	f.Fuzz(func(t *testing.T, h string) {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", h)
		k := bearer(r)
		if len(k) > len(h) || k != strings.TrimSpace(k) {
			t.Fatalf("bearer(%q) = %q", h, k)
		}
		if k != "" && !strings.HasPrefix(strings.ToLower(r.Header.Get("Authorization")), "bearer ") {
			t.Fatalf("a key from a non-bearer header %q", h)
		}
	})
}
