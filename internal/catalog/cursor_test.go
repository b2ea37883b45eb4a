package catalog

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/surge-commerce/surge/internal/errcode"
)

func TestCursorRoundTrip(t *testing.T) {
	for _, sku := range []string{"A", "TEE-1", "a.b_c-d", strings.Repeat("Z", 64)} {
		c := EncodeCursor(sku)
		got, err := DecodeCursor(c)
		if err != nil || got != sku {
			t.Errorf("DecodeCursor(EncodeCursor(%q)) = %q, %v", sku, got, err)
		}
		if strings.Contains(c, sku) {
			t.Errorf("cursor %q shows the SKU %q in clear; it should be opaque", c, sku)
		}
	}
	if got, err := DecodeCursor(""); err != nil || got != "" {
		t.Errorf(`DecodeCursor("") = %q, %v; want the first page`, got, err)
	}
}

func TestCursorRejects(t *testing.T) {
	bad := map[string]string{
		"not base64":         "!!!",
		"padded base64":      EncodeCursor("TEE-1") + "==",
		"no prefix":          b64("TEE-1"),
		"other version":      b64("v2:TEE-1"),
		"empty SKU":          b64("v1:"),
		"SKU with a slash":   b64("v1:a/b"),
		"SKU with a space":   b64("v1:a b"),
		"SKU too long":       b64("v1:" + strings.Repeat("A", 65)),
		"longer than 200":    strings.Repeat("A", 204),
		"SKU with a newline": b64("v1:A\n"),
	}
	for name, c := range bad {
		sku, err := DecodeCursor(c)
		if err == nil {
			t.Errorf("%s: DecodeCursor(%q) accepted, SKU %q", name, c, sku)
			continue
		}
		assertField(t, err, "cursor")
	}
}

// FuzzDecodeCursor feeds arbitrary cursors (a query parameter anybody can
// set): no panic, every rejection is a field error on "cursor", and every
// accepted cursor names a valid SKU whose own cursor decodes to it again.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(EncodeCursor("TEE-1"))
	f.Add(EncodeCursor(strings.Repeat("Z", 64)))
	f.Add("")
	f.Add("!!!")
	f.Add(b64("v1:"))
	f.Add(b64("v1:a/b"))
	f.Add(EncodeCursor("A") + "\n")
	f.Fuzz(func(t *testing.T, c string) {
		sku, err := DecodeCursor(c)
		if err != nil {
			assertField(t, err, "cursor")
			return
		}
		if c == "" {
			if sku != "" {
				t.Fatalf(`empty cursor decoded to %q`, sku)
			}
			return
		}
		if !ValidSKU(sku) {
			t.Fatalf("cursor %q accepted with invalid SKU %q", c, sku)
		}
		again, err := DecodeCursor(EncodeCursor(sku))
		if err != nil || again != sku {
			t.Fatalf("re-encoding %q: got %q, %v", sku, again, err)
		}
	})
}

// FuzzCursorRoundTrip checks encode→decode is the identity for every
// valid SKU and that no invalid SKU can be smuggled through a cursor.
func FuzzCursorRoundTrip(f *testing.F) {
	f.Add("TEE-1")
	f.Add("")
	f.Add("a/b")
	f.Add(strings.Repeat("Z", 65))
	f.Fuzz(func(t *testing.T, sku string) {
		got, err := DecodeCursor(EncodeCursor(sku))
		if ValidSKU(sku) {
			if err != nil || got != sku {
				t.Fatalf("round trip of %q: %q, %v", sku, got, err)
			}
			return
		}
		if err == nil {
			t.Fatalf("invalid SKU %q came back through a cursor as %q", sku, got)
		}
	})
}

// assertField checks err is a validation error naming field.
func assertField(t *testing.T, err error, field string) {
	t.Helper()
	e, ok := err.(*errcode.Error)
	if !ok || e.Code != errcode.Invalid || e.Type != "validation" {
		t.Fatalf("error %v (%T) is not an invalid/validation *errcode.Error", err, err)
	}
	for _, f := range e.Fields {
		if f.Field == field {
			return
		}
	}
	t.Fatalf("error fields %+v do not name %q", e.Fields, field)
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
