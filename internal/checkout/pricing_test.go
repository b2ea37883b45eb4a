package checkout

import (
	"errors"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
)

func TestPrice(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 4, 12, 0, 0, 1500, time.UTC) // 1.5 µs past the second
	tee := Product{Found: true, Title: "Tee", Currency: "EUR", Price: 1999}
	mug := Product{Found: true, Title: "Mug", Currency: "EUR", Price: 850, Limit: 2}
	place := func(items ...Item) Placement {
		return Placement{ShopID: 7, CustomerID: "cus_1", OrderID: "ord_1", Items: items, Now: now}
	}
	o, err := Price(place(Item{SKU: "MUG", Quantity: 2}, Item{SKU: "TEE", Quantity: 3}), []Product{mug, tee})
	if err != nil {
		t.Fatal(err)
	}
	if o.Total != 2*850+3*1999 || o.Currency != "EUR" || len(o.Lines) != 2 || o.Lines[1].Title != "Tee" || o.Status != "pending_payment" {
		t.Fatalf("priced %+v", o)
	}
	if !o.CreatedAt.Equal(now.Truncate(time.Microsecond)) || o.CreatedAt.Location() != time.UTC {
		t.Fatalf("created at %v, want %v as stored (µs, UTC)", o.CreatedAt, now.Truncate(time.Microsecond))
	}

	for _, c := range []struct {
		name     string
		items    []Item
		products []Product
		code     string
		typ      string
	}{
		{"unknown SKU", []Item{{SKU: "NOPE", Quantity: 1}}, []Product{{}}, errcode.Invalid, ""},
		{"sale not started", []Item{{SKU: "TEE", Quantity: 1}},
			[]Product{{Found: true, Currency: "EUR", Price: 1, SaleStart: now.Add(time.Microsecond)}}, errcode.Conflict, "sale_not_started"},
		{"two currencies", []Item{{SKU: "MUG", Quantity: 1}, {SKU: "TEE", Quantity: 1}},
			[]Product{mug, {Found: true, Currency: "USD", Price: 1}}, errcode.Invalid, ""},
		{"over the limit", []Item{{SKU: "MUG", Quantity: 3}}, []Product{mug}, errcode.Conflict, "purchase_limit"},
		// An unknown SKU is reported before a line over its limit.
		{"unknown before limit", []Item{{SKU: "MUG", Quantity: 3}, {SKU: "NOPE", Quantity: 1}}, []Product{mug, {}}, errcode.Invalid, ""},
	} {
		_, err := Price(place(c.items...), c.products)
		var e *errcode.Error
		if errcode.Code(err) != c.code || (c.typ != "" && (!errors.As(err, &e) || e.Type != c.typ)) {
			t.Errorf("%s: %v, want %s %s", c.name, err, c.code, c.typ)
		}
	}
	// A sale that started this very microsecond is open.
	if _, err := Price(place(Item{SKU: "TEE", Quantity: 1}), []Product{{Found: true, Currency: "EUR", Price: 1, SaleStart: now.Truncate(time.Microsecond)}}); err != nil {
		t.Fatalf("a sale starting now: %v", err)
	}
}
