package explore

import (
	"time"

	"testing"

	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/errcode"
)

// TestFalseOutOfStock checks the model's bound on out_of_stock answers:
// it judges only when the units were surely there.
func TestFalseOutOfStock(t *testing.T) {
	t.Parallel()
	item := func(q int64) []checkout.Item { return []checkout.Item{{SKU: "S0", Quantity: q}} }
	refused := attempt{items: item(3), start: 10, end: 11, code: errcode.Conflict, typ: "out_of_stock", sku: "S0"}
	tests := []struct {
		name   string
		others []attempt
		writes []adminWrite
		breach bool
	}{
		{"nothing else happened", nil, nil, true},
		{"an earlier order holds the units", []attempt{{items: item(3), start: 1, end: 2, result: checkout.OutcomeCreated}}, nil, false},
		{"a checkout in flight may hold them", []attempt{{items: item(3), start: 9, end: 12}}, nil, false},
		{"an earlier decline holds nothing", []attempt{{items: item(3), start: 1, end: 2, result: checkout.OutcomeDeclined}}, nil, true},
		{"an earlier error that may have committed", []attempt{{items: item(3), start: 1, end: 2, code: errcode.Unavailable}}, nil, false},
		{"an admin write of the SKU ran beside it", nil, []adminWrite{{sku: "S0", op: OpPutSale, start: 9, end: 12, ok: true, asked: 5}}, false},
		{"the shop lowered the stock before", nil, []adminWrite{{sku: "S0", op: OpPutProduct, start: 1, end: 2, ok: true, asked: 2}}, false},
		{"the shop raised the stock before", nil, []adminWrite{{sku: "S0", op: OpRestock, start: 1, end: 2, ok: true, asked: 9}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRecorder(Schedule{Products: []Product{{SKU: "S0", Stock: 4}}})
			r.attempts = append([]attempt{refused}, tc.others...)
			r.writes = tc.writes
			if _, got := r.falseOutOfStock(refused); got != tc.breach {
				t.Fatalf("breach = %v, want %v", got, tc.breach)
			}
		})
	}
}

// TestKeyBreaches: a second order under a live key is a breach; under a
// key whose TTL has passed it is not.
func TestKeyBreaches(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		later  time.Duration
		breach bool
	}{
		{"live key", time.Minute, true},
		{"expired key", time.Hour + time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRecorder(Schedule{KeyTTL: time.Hour})
			first := attempt{key: "k1", fingerprint: "f", start: 1, end: 2, at: epoch, endAt: epoch, result: checkout.OutcomeCreated, orderID: "o1"}
			second := attempt{key: "k1", fingerprint: "f", start: 3, end: 4, at: epoch.Add(tc.later), endAt: epoch.Add(tc.later), result: checkout.OutcomeCreated, orderID: "o2"}
			r.attempts = []attempt{first, second}
			if got := len(r.keyBreaches()) > 0; got != tc.breach {
				t.Fatalf("breach = %v, want %v", got, tc.breach)
			}
		})
	}
}
