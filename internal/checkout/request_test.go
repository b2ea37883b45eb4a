package checkout

import (
	"strconv"
	"strings"
	"testing"

	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/errcode"
)

func TestValidKey(t *testing.T) {
	for _, k := range []string{"a", "3f0c-1d2e", strings.Repeat("k", MaxKeyLen), "!~", `"quoted"`} {
		if !ValidKey(k) {
			t.Errorf("ValidKey(%q) = false", k)
		}
	}
	for _, k := range []string{"", strings.Repeat("k", MaxKeyLen+1), "a b", "a\tb", "a\x7f", "é", "a\x00"} {
		if ValidKey(k) {
			t.Errorf("ValidKey(%q) = true", k)
		}
	}
}

// FuzzValidKey checks the Idempotency-Key rule: accepted keys are exactly
// the 1-255 byte strings of visible ASCII.
func FuzzValidKey(f *testing.F) {
	f.Add("3f0c")
	f.Add("")
	f.Add("a b")
	f.Add("é")
	f.Add(strings.Repeat("k", 256))
	f.Fuzz(func(t *testing.T, key string) {
		want := len(key) >= 1 && len(key) <= MaxKeyLen
		for _, c := range []byte(key) {
			if c <= ' ' || c > '~' {
				want = false
			}
		}
		if got := ValidKey(key); got != want {
			t.Fatalf("ValidKey(%q) = %v, want %v", key, got, want)
		}
	})
}

func TestValidateRequest(t *testing.T) {
	one := []Item{{SKU: "TEE-1", Quantity: 1}}
	good := []Request{
		{Items: one},
		{CartID: "cart_1"},
		{Items: []Item{{SKU: "A", Quantity: MaxQuantity}}},
		{Items: items(MaxItems)},
		// Repeated SKUs are valid here; merge sums them.
		{Items: []Item{{SKU: "A", Quantity: 1}, {SKU: "A", Quantity: 2}}},
	}
	for _, r := range good {
		if err := r.validate(); err != nil {
			t.Errorf("validate(%+v): %v", r, err)
		}
	}
	bad := []struct {
		name  string
		req   Request
		field string
	}{
		{"nothing", Request{}, "items"},
		{"items and cart", Request{Items: one, CartID: "cart_1"}, "items"},
		{"too many items", Request{Items: items(MaxItems + 1)}, "items"},
		{"zero quantity", Request{Items: []Item{{SKU: "A", Quantity: 0}}}, "items[0].quantity"},
		{"negative quantity", Request{Items: []Item{{SKU: "A", Quantity: -1}}}, "items[0].quantity"},
		{"quantity over max", Request{Items: []Item{{SKU: "A", Quantity: MaxQuantity + 1}}}, "items[0].quantity"},
		{"bad SKU", Request{Items: []Item{{SKU: "a/b", Quantity: 1}}}, "items[0].sku"},
		{"empty SKU second", Request{Items: []Item{{SKU: "A", Quantity: 1}, {SKU: "", Quantity: 1}}}, "items[1].sku"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) { assertField(t, c.req.validate(), c.field) })
	}
}

func TestMerge(t *testing.T) {
	got, err := merge([]Item{{SKU: "B", Quantity: 2}, {SKU: "A", Quantity: 1}, {SKU: "B", Quantity: 3}})
	if err != nil || len(got) != 2 || got[0] != (Item{SKU: "A", Quantity: 1}) || got[1] != (Item{SKU: "B", Quantity: 5}) {
		t.Fatalf("merge: %+v, %v; want A×1, B×5 sorted by SKU", got, err)
	}
	// Each line within bounds, but together past the per-SKU limit.
	_, err = merge([]Item{{SKU: "A", Quantity: MaxQuantity}, {SKU: "A", Quantity: 1}})
	assertField(t, err, "items")
	if got, err := merge([]Item{{SKU: "A", Quantity: MaxQuantity / 2}, {SKU: "A", Quantity: MaxQuantity / 2}}); err != nil || got[0].Quantity != MaxQuantity {
		t.Fatalf("merge up to the limit: %+v, %v", got, err)
	}
}

func TestFingerprint(t *testing.T) {
	base := Request{ShopID: 1, CustomerID: "cus_1", Key: "k1", Items: []Item{{SKU: "A", Quantity: 1}, {SKU: "B", Quantity: 2}}}
	fp := base.fingerprint()
	if len(fp) != 64 || fp != base.fingerprint() {
		t.Fatalf("fingerprint %q not a stable hex SHA-256", fp)
	}
	// The key, shop and customer scope the stored key; they are not the
	// request's content, so a retry with the same content must match.
	same := base
	same.Key, same.QueueTicket = "k2", "qt1.x"
	same.Items = append([]Item(nil), base.Items...)
	if same.fingerprint() != fp {
		t.Fatal("fingerprint changed with only the key or ticket")
	}
	changes := map[string]func(*Request){
		"quantity":   func(r *Request) { r.Items[1].Quantity = 3 },
		"sku":        func(r *Request) { r.Items[0].SKU = "C" },
		"extra item": func(r *Request) { r.Items = append(r.Items, Item{SKU: "C", Quantity: 1}) },
		"fewer":      func(r *Request) { r.Items = r.Items[:1] },
		"cart":       func(r *Request) { r.Items, r.CartID = nil, "cart_1" },
	}
	for name, change := range changes {
		r := base
		r.Items = append([]Item(nil), base.Items...)
		change(&r)
		if r.fingerprint() == fp {
			t.Errorf("fingerprint unchanged after changing %s", name)
		}
	}
	if (Request{CartID: "cart_1"}).fingerprint() == (Request{CartID: "cart_2"}).fingerprint() {
		t.Error("two carts share a fingerprint")
	}
}

// FuzzValidateRequest feeds arbitrary item lists (as the checkout body
// decodes them): no panic, rejections are field errors, and an accepted
// request has 1-100 valid lines and merges into lines of at most 1000
// units each or is refused by merge with a field error.
func FuzzValidateRequest(f *testing.F) {
	f.Add("TEE-1", int64(1), "TEE-1", int64(2), "", uint8(2))
	f.Add("", int64(0), "a/b", int64(-1), "", uint8(2))
	f.Add("A", int64(1000), "A", int64(1000), "", uint8(2))
	f.Add("A", int64(1), "B", int64(1), "cart_1", uint8(1))
	f.Add("A", int64(1), "B", int64(1), "", uint8(150))
	f.Fuzz(func(t *testing.T, sku1 string, q1 int64, sku2 string, q2 int64, cartID string, n uint8) {
		r := Request{CartID: cartID}
		for i := range int(n) {
			if i%2 == 0 {
				r.Items = append(r.Items, Item{SKU: sku1, Quantity: q1})
			} else {
				r.Items = append(r.Items, Item{SKU: sku2, Quantity: q2})
			}
		}
		err := r.validate()
		if err != nil {
			if e, ok := err.(*errcode.Error); !ok || e.Code != errcode.Invalid || len(e.Fields) == 0 {
				t.Fatalf("rejection is not a field validation error: %#v", err)
			}
			return
		}
		if (cartID == "") == (len(r.Items) == 0) || len(r.Items) > MaxItems {
			t.Fatalf("accepted cart %q with %d items", cartID, len(r.Items))
		}
		for _, it := range r.Items {
			if !catalog.ValidSKU(it.SKU) || it.Quantity < 1 || it.Quantity > MaxQuantity {
				t.Fatalf("accepted item %+v", it)
			}
		}
		merged, err := merge(r.Items)
		if err != nil {
			assertField(t, err, "items")
			return
		}
		var total int64
		for i, it := range merged {
			if it.Quantity < 1 || it.Quantity > MaxQuantity || (i > 0 && merged[i-1].SKU >= it.SKU) {
				t.Fatalf("merged lines %+v out of bounds or order", merged)
			}
			total += it.Quantity
		}
		var want int64
		for _, it := range r.Items {
			want += it.Quantity
		}
		if total != want {
			t.Fatalf("merge lost units: %d of %d", total, want)
		}
	})
}

func items(n int) []Item {
	out := make([]Item, n)
	for i := range out {
		out[i] = Item{SKU: "SKU-" + strconv.Itoa(i), Quantity: 1}
	}
	return out
}

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
