// Package storetest is the conformance suite every SQL engine must pass:
// one set of behaviours, run against SQLite and PostgreSQL alike.
//
// It must never be imported by non-test code.
package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/customer"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/shop"
	"github.com/surge-commerce/surge/internal/store"
)

// Open returns a migrated, empty store that the test owns.
type Open func(t *testing.T) *store.Store

// Run runs the whole suite against stores made by open.
func Run(t *testing.T, open Open) {
	t.Run("AdminKeys", func(t *testing.T) { t.Parallel(); testAdminKeys(t, open(t)) })
	t.Run("Shops", func(t *testing.T) { t.Parallel(); testShops(t, open(t)) })
	t.Run("KeyRotation", func(t *testing.T) { t.Parallel(); testKeyRotation(t, open(t)) })
	t.Run("TokenRevocation", func(t *testing.T) { t.Parallel(); testTokenRevocation(t, open(t)) })
	t.Run("PlaceOrderChecksToken", func(t *testing.T) { t.Parallel(); testPlaceOrderChecksToken(t, open(t)) })
	t.Run("ProductLifecycle", func(t *testing.T) { t.Parallel(); testProductLifecycle(t, open(t)) })
	t.Run("ProductPreconditions", func(t *testing.T) { t.Parallel(); testProductPreconditions(t, open(t)) })
	t.Run("AdminPreconditions", func(t *testing.T) { t.Parallel(); testAdminPreconditions(t, open(t)) })
	t.Run("ProductIsolation", func(t *testing.T) { t.Parallel(); testProductIsolation(t, open(t)) })
	t.Run("Pagination", func(t *testing.T) { t.Parallel(); testPagination(t, open(t)) })
	t.Run("Search", func(t *testing.T) { t.Parallel(); testSearch(t, open(t)) })
	t.Run("Migrations", func(t *testing.T) { t.Parallel(); testMigrations(t, open(t)) })
	t.Run("Events", func(t *testing.T) { t.Parallel(); testEvents(t, open) })
	t.Run("Queue", func(t *testing.T) { t.Parallel(); testQueue(t, open(t)) })
	t.Run("PreQueue", func(t *testing.T) { t.Parallel(); testPreQueue(t, open(t)) })
	t.Run("IdempotencyKeys", func(t *testing.T) { t.Parallel(); testIdempotencyKeys(t, open(t)) })
	t.Run("Carts", func(t *testing.T) { t.Parallel(); testCarts(t, open(t)) })
	t.Run("FlashSales", func(t *testing.T) { t.Parallel(); testFlashSales(t, open) })
	t.Run("Flags", func(t *testing.T) { t.Parallel(); testFlags(t, open(t)) })
	t.Run("ShopTiers", func(t *testing.T) { t.Parallel(); testShopTiers(t, open(t)) })
	t.Run("Ping", func(t *testing.T) { t.Parallel(); testPing(t, open(t)) })
	t.Run("OutboxWake", func(t *testing.T) { t.Parallel(); testOutboxWake(t, open(t)) })
	t.Run("TokenSecrets", func(t *testing.T) { t.Parallel(); testTokenSecrets(t, open(t)) })
	t.Run("Webhooks", func(t *testing.T) { t.Parallel(); testWebhooks(t, open(t)) })
	t.Run("Refunds", func(t *testing.T) { t.Parallel(); testRefunds(t, open(t)) })
	t.Run("RefundTies", func(t *testing.T) { t.Parallel(); testRefundTies(t, open(t)) })
	t.Run("RefundOrder", func(t *testing.T) { t.Parallel(); testRefundOrder(t, open(t)) })
	t.Run("OrderListing", func(t *testing.T) { t.Parallel(); testOrderListing(t, open(t)) })
	t.Run("CancelReasons", func(t *testing.T) { t.Parallel(); testCancelReasons(t, open(t)) })
	t.Run("NotificationDelivery", func(t *testing.T) { t.Parallel(); testNotificationDelivery(t, open(t)) })
	t.Run("CustomerEmail", func(t *testing.T) { t.Parallel(); testCustomerEmail(t, open(t)) })
	t.Run("Inventory", func(t *testing.T) { t.Parallel(); testInventory(t, open(t)) })
	t.Run("RestockDeleted", func(t *testing.T) { t.Parallel(); testRestockDeleted(t, open(t)) })
	t.Run("SaleFigures", func(t *testing.T) { t.Parallel(); testSaleFigures(t, open(t)) })
	t.Run("AuditInFlight", func(t *testing.T) { t.Parallel(); testAuditInFlight(t, open(t)) })
	t.Run("AuditOrders", func(t *testing.T) { t.Parallel(); testAuditOrders(t, open(t)) })
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := errcode.Code(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func testAdminKeys(t *testing.T, s *store.Store) {
	c := ctx(t)
	if n := must[int](t)(s.AdminKeyCount(c)); n != 0 {
		t.Fatalf("fresh store has %d admin keys", n)
	}
	if err := s.AddAdminKey(c, "h1", t0); err != nil {
		t.Fatal(err)
	}
	if ok := must[bool](t)(s.AdminKeyExists(c, "h1")); !ok {
		t.Fatal("stored admin key not found")
	}
	if ok := must[bool](t)(s.AdminKeyExists(c, "h2")); ok {
		t.Fatal("unknown admin key found")
	}
}

func testShops(t *testing.T, s *store.Store) {
	c := ctx(t)
	sh, err := s.CreateShop(c, "acme", "Acme", "k1", t0)
	if err != nil {
		t.Fatal(err)
	}
	if sh.ID == 0 || sh.Slug != "acme" || !sh.CreatedAt.Equal(t0) {
		t.Fatalf("created shop = %+v", sh)
	}
	_, err = s.CreateShop(c, "acme", "Other", "k2", t0)
	wantCode(t, err, errcode.Conflict)
	// The failed create must not have left its key behind.
	_, err = s.ShopKey(c, "k2", t0)
	wantCode(t, err, errcode.Unauthorized)

	got, err := s.ShopBySlug(c, "acme")
	if err != nil || got != sh {
		t.Fatalf("ShopBySlug = %+v, %v; want %+v", got, err, sh)
	}
	_, err = s.ShopBySlug(c, "nope")
	wantCode(t, err, errcode.NotFound)
	if k := must[shop.Key](t)(s.ShopKey(c, "k1", t0)); k.ShopID != sh.ID || !k.ExpiresAt.IsZero() {
		t.Fatalf("ShopKey = %+v, want shop %d and no expiry", k, sh.ID)
	}
}

func testKeyRotation(t *testing.T, s *store.Store) {
	c := ctx(t)
	sh := must[shop.Shop](t)(createShop(c, s, "rot"))
	grace := t0.Add(time.Hour)
	if err := s.RotateShopKey(c, sh.ID, "rot-key", "new", t0, grace); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, key string
		at        time.Time
		ok        bool
	}{
		{"old key within grace", "rot-key", t0.Add(time.Minute), true},
		{"old key after grace", "rot-key", grace.Add(time.Second), false},
		{"new key after grace", "new", grace.Add(time.Hour), true},
	}
	for _, tc := range tests {
		_, err := s.ShopKey(c, tc.key, tc.at)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	if k := must[shop.Key](t)(s.ShopKey(c, "rot-key", t0)); !k.ExpiresAt.Equal(grace) {
		t.Fatalf("old key expires %v, want %v", k.ExpiresAt, grace)
	}
	// A key in grace (perhaps the leaked one) can neither rotate nor
	// revoke: it would revoke the owner's new key.
	err := s.RotateShopKey(c, sh.ID, "rot-key", "attacker", t0.Add(time.Minute), t0.Add(time.Minute))
	wantCode(t, err, errcode.Forbidden)
	_, err = s.EndGrace(c, sh.ID, "rot-key", t0.Add(time.Minute))
	wantCode(t, err, errcode.Forbidden)
	if _, err := s.ShopKey(c, "attacker", t0.Add(time.Minute)); err == nil {
		t.Fatal("a key in grace issued a new key")
	}
	// The current key ends the old key's grace at once.
	if n := must[int](t)(s.EndGrace(c, sh.ID, "new", t0.Add(time.Minute))); n != 1 {
		t.Fatalf("EndGrace ended %d keys, want 1", n)
	}
	_, err = s.ShopKey(c, "rot-key", t0.Add(2*time.Minute))
	wantCode(t, err, errcode.Unauthorized)
	if _, err := s.ShopKey(c, "new", t0.Add(2*time.Minute)); err != nil {
		t.Fatalf("current key after revoke: %v", err)
	}
}

func testTokenRevocation(t *testing.T, s *store.Store) {
	c := ctx(t)
	sh := must[shop.Shop](t)(createShop(c, s, "tok"))
	if err := s.CreateCustomer(c, customer.Customer{ShopID: sh.ID, ID: "cus_1", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	exp := t0.Add(time.Hour)
	if revoked := must[bool](t)(s.TokenRevoked(c, sh.ID, "cus_1", "h1", exp)); revoked {
		t.Fatal("a fresh token is revoked")
	}
	if err := s.RevokeToken(c, sh.ID, "cus_1", "h1", exp); err != nil {
		t.Fatal(err)
	}
	if revoked := must[bool](t)(s.TokenRevoked(c, sh.ID, "cus_1", "h1", exp)); !revoked {
		t.Fatal("a signed-out token is not revoked")
	}
	if revoked := must[bool](t)(s.TokenRevoked(c, sh.ID, "cus_1", "h2", exp)); revoked {
		t.Fatal("signing one token out revoked another")
	}
	if err := s.RevokeTokens(c, sh.ID, "cus_1", exp); err != nil {
		t.Fatal(err)
	}
	if revoked := must[bool](t)(s.TokenRevoked(c, sh.ID, "cus_1", "h2", exp)); !revoked {
		t.Fatal("a token expiring at the revocation bound is not revoked")
	}
	if revoked := must[bool](t)(s.TokenRevoked(c, sh.ID, "cus_1", "h3", exp.Add(time.Second))); revoked {
		t.Fatal("a token issued after the revocation is revoked")
	}
	wantCode(t, s.RevokeTokens(c, sh.ID, "cus_nope", exp), errcode.NotFound)
	if revoked := must[bool](t)(s.TokenRevoked(c, sh.ID, "cus_nope", "h4", exp)); !revoked {
		t.Fatal("a token of an unknown customer passes")
	}
}

// PlaceOrder refuses a revoked customer token in its own transaction and
// changes nothing: no order, no reserved stock, the key still free.
func testPlaceOrderChecksToken(t *testing.T, s *store.Store) {
	c := ctx(t)
	sh := must[shop.Shop](t)(createShop(c, s, "tokpo"))
	if _, _, err := s.PutProduct(c, product(sh.ID, "TEE-1", 5), t0); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"cus_1", "cus_2"} {
		if err := s.CreateCustomer(c, customer.Customer{ShopID: sh.ID, ID: id, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	place := func(cus, hash, key string) error {
		now := time.Now()
		_, _, err := s.PlaceOrder(c, checkout.Placement{
			ShopID: sh.ID, CustomerID: cus, Key: key, Fingerprint: "fp-" + key,
			OrderID: "ord_" + key, Items: []checkout.Item{{SKU: "TEE-1", Quantity: 1}}, Now: now,
			ReservationExpiry: now.Add(time.Hour), LockUntil: now.Add(time.Minute), KeyExpiry: now.Add(time.Hour),
			Token: checkout.Token{Hash: hash, Expires: exp},
		}, respond)
		return err
	}
	if err := s.RevokeToken(c, sh.ID, "cus_1", "signed-out", exp); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeTokens(c, sh.ID, "cus_2", exp); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ cus, hash string }{{"cus_1", "signed-out"}, {"cus_2", "any"}, {"cus_gone", "any"}} {
		err := place(tc.cus, tc.hash, "k-"+tc.cus)
		wantCode(t, err, errcode.Unauthorized)
		if _, err := s.Order(c, "ord_k-"+tc.cus); !errcode.Is(err, errcode.NotFound) {
			t.Fatalf("%s: a refused placement left an order (%v)", tc.cus, err)
		}
	}
	if p := must[catalog.Product](t)(s.Product(c, sh.ID, "TEE-1")); p.Stock != 5 {
		t.Fatalf("stock after refused placements: %d, want 5", p.Stock)
	}
	// The same key with a valid token places the order: the refused
	// attempt did not claim it.
	if err := place("cus_1", "fresh", "k-cus_1"); err != nil {
		t.Fatalf("a fresh token after a refused attempt: %v", err)
	}
}

func createShop(c context.Context, s *store.Store, slug string) (shop.Shop, error) {
	return s.CreateShop(c, slug, slug, slug+"-key", t0)
}

func product(shopID int64, sku string, stock int64) catalog.Product {
	return catalog.Product{
		ShopID: shopID, SKU: sku, Title: "Title " + sku, Description: "About " + sku,
		Price: 1999, Currency: "EUR", Stock: stock,
		Attributes: map[string]string{"color": "red"}, Images: []string{"https://img.example/" + sku + ".png"},
	}
}

func testProductLifecycle(t *testing.T, s *store.Store) {
	c := ctx(t)
	sh := must[shop.Shop](t)(createShop(c, s, "life"))
	p, created, err := s.PutProduct(c, product(sh.ID, "TEE-1", 10), t0)
	if err != nil || !created || p.Version != 1 || p.Stock != 10 || p.Attributes["color"] != "red" || len(p.Images) != 1 {
		t.Fatalf("create = %+v created=%v err=%v", p, created, err)
	}
	upd := product(sh.ID, "TEE-1", 25)
	upd.Title, upd.Attributes, upd.Images = "Renamed", nil, nil
	p, created, err = s.PutProduct(c, upd, t0.Add(time.Second))
	if err != nil || created || p.Version != 2 || p.Title != "Renamed" || p.Stock != 25 || len(p.Attributes) != 0 {
		t.Fatalf("update = %+v created=%v err=%v", p, created, err)
	}
	if !p.CreatedAt.Equal(t0) || !p.UpdatedAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("timestamps = %v / %v", p.CreatedAt, p.UpdatedAt)
	}
	if err := s.DeleteProduct(c, sh.ID, "TEE-1", t0); err != nil {
		t.Fatal(err)
	}
	_, err = s.Product(c, sh.ID, "TEE-1")
	wantCode(t, err, errcode.NotFound)
	wantCode(t, s.DeleteProduct(c, sh.ID, "TEE-1", t0), errcode.NotFound)
	p, created, err = s.PutProduct(c, product(sh.ID, "TEE-1", 5), t0)
	if err != nil || !created || p.Version != 4 || p.Stock != 5 {
		t.Fatalf("recreate = %+v created=%v err=%v; want version 4 so ETags never repeat", p, created, err)
	}
}

func testProductIsolation(t *testing.T, s *store.Store) {
	c := ctx(t)
	a := must[shop.Shop](t)(createShop(c, s, "shop-a"))
	b := must[shop.Shop](t)(createShop(c, s, "shop-b"))
	must[catalog.Product](t)(first(s.PutProduct(c, product(a.ID, "SAME", 1), t0)))
	_, err := s.Product(c, b.ID, "SAME")
	wantCode(t, err, errcode.NotFound)
	wantCode(t, s.DeleteProduct(c, b.ID, "SAME", t0), errcode.NotFound)
	if items := must[[]catalog.Product](t)(s.Products(c, b.ID, "", 10)); len(items) != 0 {
		t.Fatalf("shop b lists %d products of shop a", len(items))
	}
	if items := must[[]catalog.Product](t)(s.SearchProducts(c, b.ID, "Title", 10)); len(items) != 0 {
		t.Fatalf("shop b finds %d products of shop a", len(items))
	}
}

func first(p catalog.Product, _ bool, err error) (catalog.Product, error) { return p, err }

func testPagination(t *testing.T, s *store.Store) {
	c := ctx(t)
	sh := must[shop.Shop](t)(createShop(c, s, "pages"))
	// Mixed case and punctuation: byte order must be the same on both engines.
	skus := []string{"a-1", "B.2", "c_3", "A-0", "b-9", "Z", "z", "0", "_", "."}
	for _, sku := range skus {
		must[catalog.Product](t)(first(s.PutProduct(c, product(sh.ID, sku, 1), t0)))
	}
	must[catalog.Product](t)(first(s.PutProduct(c, product(sh.ID, "gone", 1), t0)))
	if err := s.DeleteProduct(c, sh.ID, "gone", t0); err != nil {
		t.Fatal(err)
	}
	want := []string{".", "0", "A-0", "B.2", "Z", "_", "a-1", "b-9", "c_3", "z"}
	var got []string
	after := ""
	for range 10 {
		page := must[[]catalog.Product](t)(s.Products(c, sh.ID, after, 3))
		for _, p := range page {
			got = append(got, p.SKU)
		}
		if len(page) < 3 {
			break
		}
		after = page[len(page)-1].SKU
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paged SKUs = %v, want %v", got, want)
	}
}

func testSearch(t *testing.T, s *store.Store) {
	c := ctx(t)
	sh := must[shop.Shop](t)(createShop(c, s, "search"))
	put := func(sku, title, desc string) {
		p := product(sh.ID, sku, 1)
		p.Title, p.Description = title, desc
		must[catalog.Product](t)(first(s.PutProduct(c, p, t0)))
	}
	put("desc-hit", "Plain mug", "A mug for people who like a red kettle")
	put("title-hit", "Red kettle", "Boils water")
	put("miss", "Blue teapot", "Ceramic")
	put("deleted", "Red kettle deluxe", "Gone")
	if err := s.DeleteProduct(c, sh.ID, "deleted", t0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, q string
		want    []string
	}{
		{"title match ranks first", "red kettle", []string{"title-hit", "desc-hit"}},
		{"case insensitive", "TEAPOT", []string{"miss"}},
		{"all words required", "red teapot", nil},
		{"syntax is not interpreted", `red" OR "x`, nil},
		{"punctuation only", `"*()`, nil},
	}
	for _, tc := range tests {
		items, err := s.SearchProducts(c, sh.ID, tc.q, 10)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []string
		for _, p := range items {
			got = append(got, p.SKU)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: search %q = %v, want %v", tc.name, tc.q, got, tc.want)
		}
	}
}

func testMigrations(t *testing.T, s *store.Store) {
	c := ctx(t)
	again, err := s.Migrate(c)
	if err != nil || len(again) != 0 {
		t.Fatalf("second Migrate applied %v, err %v; want nothing", again, err)
	}
	st := must[[]store.MigrationState](t)(s.MigrationStatus(c))
	if len(st) == 0 {
		t.Fatal("no migrations listed")
	}
	for _, m := range st {
		if m.AppliedAt.IsZero() {
			t.Errorf("migration %d (%s) is pending after Migrate", m.Version, m.Name)
		}
	}
}
