package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/order"
	"github.com/surge-commerce/surge/internal/store"
)

// A sale's figures (units left, buyers waiting, units available and
// reserved) follow its queue and its orders across every bucket, and each
// sale's stay its own.
func testSaleFigures(t *testing.T, s *store.Store) {
	c := ctx(t)
	ss := newSaleShop(t, s, "figures", 10, 4)
	sale := ss.sale(10, 4)
	sale.AdmissionRate = 50
	if err := s.StartSale(c, ss.shop.ID, sale, time.Now()); err != nil {
		t.Fatal(err)
	}
	other := newSaleShop(t, s, "figures-b", 5, 1)
	wantFigures(t, ss, 10, 0, 0)

	for i := range 3 {
		if _, err := s.JoinQueue(c, ss.shop.ID, ss.sku, fmt.Sprint("waiting-", i), time.Now(), 0); err != nil {
			t.Fatal(err)
		}
	}
	must[order.Order](t)(ss.buy(c, 2)) // stays pending
	paid := must[order.Order](t)(ss.buy(c, 1))
	if err := ss.settle(c, paid, 0); err != nil {
		t.Fatal(err)
	}
	wantFigures(t, ss, 7, 3, 2)
	wantFigures(t, other, 5, 0, 0)

	stats := map[string]store.SaleStats{}
	all := must[[]store.SaleStats](t)(s.SaleStats(c))
	for i, st := range all {
		stats[st.Shop] = st
		if i > 0 && all[i-1].Shop+"\x00"+all[i-1].SKU >= st.Shop+"\x00"+st.SKU {
			t.Fatalf("SaleStats not in (shop, SKU) order: %+v", all)
		}
	}
	want := map[string]store.SaleStats{
		"figures":   {Shop: "figures", SKU: ss.sku, UnitsLeft: 7, Queue: 3, AdmissionRate: 50},
		"figures-b": {Shop: "figures-b", SKU: other.sku, UnitsLeft: 5, Queue: 0, AdmissionRate: 0},
	}
	if len(stats) != len(want) || stats["figures"] != want["figures"] || stats["figures-b"] != want["figures-b"] {
		t.Fatalf("SaleStats = %+v, want %+v", stats, want)
	}
}

func wantFigures(t *testing.T, ss *saleShop, left, queue, reserved int64) {
	t.Helper()
	c := ctx(t)
	l, q := must2(t)(ss.s.SaleFigures(c, ss.shop.ID, ss.sku))
	if l != left || q != queue {
		t.Fatalf("%s: SaleFigures = %d left, %d waiting; want %d, %d", ss.shop.Slug, l, q, left, queue)
	}
	a, r := must2(t)(ss.s.SaleStock(c, ss.shop.ID, ss.sku))
	if a != left || r != reserved {
		t.Fatalf("%s: SaleStock = %d available, %d reserved; want %d, %d", ss.shop.Slug, a, r, left, reserved)
	}
}

func must2(t *testing.T) func(a, b int64, err error) (int64, int64) {
	return func(a, b int64, err error) (int64, int64) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}
