package flashsale

import (
	"errors"
	"slices"
	"testing"

	"github.com/surge-commerce/surge/internal/errcode"
)

// TestAllocate checks the rules of a sale's stock: what is committed stays
// with its orders, the rest is spread as evenly as it can be, buckets left
// by an earlier configuration are emptied, and the ledger's delta takes
// the SKU's total received to the sale's stock.
func TestAllocate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sale    Sale
		stock   Stock
		shares  []int64
		delta   int64
		soldOut bool
	}{
		{"even", Sale{Stock: 12, Buckets: 4}, Stock{Received: 5}, []int64{3, 3, 3, 3}, 7, false},
		{"remainder to the first", Sale{Stock: 10, Buckets: 4}, Stock{Received: 10}, []int64{3, 3, 2, 2}, 0, false},
		{"committed stays out", Sale{Stock: 10, Buckets: 2}, Stock{Received: 20, Committed: 4}, []int64{3, 3}, -10, false},
		{"fewer buckets than before", Sale{Stock: 4, Buckets: 2}, Stock{Received: 8, Buckets: 4}, []int64{2, 2, 0, 0}, -4, false},
		{"more buckets than units", Sale{Stock: 2, Buckets: 4}, Stock{}, []int64{1, 1, 0, 0}, 2, false},
		{"all committed", Sale{Stock: 3, Buckets: 2}, Stock{Received: 3, Committed: 3}, []int64{0, 0}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := tc.sale.Allocate(tc.stock)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.Shares, tc.shares) || a.Delta != tc.delta || a.SoldOut != tc.soldOut {
				t.Fatalf("Allocate = %+v, want shares %v, delta %d, sold out %v", a, tc.shares, tc.delta, tc.soldOut)
			}
			var sum int64
			for _, s := range a.Shares {
				sum += s
			}
			if sum+tc.stock.Committed != tc.sale.Stock {
				t.Fatalf("shares %d + committed %d != stock %d", sum, tc.stock.Committed, tc.sale.Stock)
			}
		})
	}
}

// TestAllocateBelowCommitted: a sale cannot take back units that belong
// to orders.
func TestAllocateBelowCommitted(t *testing.T) {
	_, err := Sale{SKU: "S", Stock: 2, Buckets: 2}.Allocate(Stock{Received: 5, Committed: 3})
	var e *errcode.Error
	if !errors.As(err, &e) || e.Code != errcode.Conflict || e.Type != "stock_below_committed" {
		t.Fatalf("err = %v, want conflict stock_below_committed", err)
	}
}

// TestGather checks the units taken from each bucket: in bucket order,
// only what the main row lacks, and nothing when the SKU is short.
func TestGather(t *testing.T) {
	for _, tc := range []struct {
		name      string
		main      int64
		available []int64
		quantity  int64
		take      []int64
		ok        bool
	}{
		{"from the first buckets", 0, []int64{1, 1, 1}, 2, []int64{1, 1, 0}, true},
		{"the main row counts", 2, []int64{1, 5}, 4, []int64{1, 1}, true},
		{"empty buckets skipped", 0, []int64{0, 3, 3}, 4, []int64{0, 3, 1}, true},
		{"exactly all", 1, []int64{1, 1}, 3, []int64{1, 1}, true},
		{"short", 1, []int64{1, 1}, 4, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			take, ok := Gather(tc.main, tc.available, tc.quantity)
			if ok != tc.ok || !slices.Equal(take, tc.take) {
				t.Fatalf("Gather = %v, %v; want %v, %v", take, ok, tc.take, tc.ok)
			}
		})
	}
}

// TestFirstBucket: every bucket can be first, and none outside the sale.
func TestFirstBucket(t *testing.T) {
	seen := map[int]bool{}
	for range 1000 {
		b := FirstBucket(4)
		if b < 0 || b >= 4 {
			t.Fatalf("FirstBucket(4) = %d", b)
		}
		seen[b] = true
	}
	if len(seen) != 4 {
		t.Fatalf("buckets chosen first in 1000 tries: %v, want all 4", seen)
	}
}
