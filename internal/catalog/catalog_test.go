package catalog

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/cache"
	"github.com/surge-commerce/surge/internal/errcode"
)

// memStore is a minimal in-memory Store: the real stores are tested in
// internal/store; here only the catalog's own caching logic is under test.
type memStore struct {
	mu       sync.Mutex
	products map[string]Product // by SKU, one shop
	reads    int                // Product, Products and SearchProducts calls
}

func newMemStore() *memStore { return &memStore{products: map[string]Product{}} }

func (m *memStore) PutProduct(_ context.Context, p Product, now time.Time) (Product, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, existed := m.products[p.SKU]
	p.Version = old.Version + 1
	p.UpdatedAt = now
	m.products[p.SKU] = p
	return p, !existed, nil
}

// The conditional writes are tested on the real engines (storetest).
func (m *memStore) PutProductIf(ctx context.Context, p Product, now time.Time, _ Precondition) (Product, bool, error) {
	return m.PutProduct(ctx, p, now)
}

func (m *memStore) DeleteProductIf(ctx context.Context, shopID int64, sku string, now time.Time, _ Precondition) error {
	return m.DeleteProduct(ctx, shopID, sku, now)
}

func (m *memStore) DeleteProduct(_ context.Context, _ int64, sku string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.products[sku]; !ok {
		return errcode.Typed(errcode.NotFound, "product_not_found", "no product %q", sku)
	}
	delete(m.products, sku)
	return nil
}

func (m *memStore) Product(_ context.Context, _ int64, sku string) (Product, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	p, ok := m.products[sku]
	if !ok {
		return Product{}, errcode.Typed(errcode.NotFound, "product_not_found", "no product %q", sku)
	}
	return p, nil
}

func (m *memStore) Products(_ context.Context, _ int64, after string, limit int) ([]Product, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	var out []Product
	for _, p := range m.products {
		if p.SKU > after {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SKU < out[j].SKU })
	return out[:min(limit, len(out))], nil
}

func (m *memStore) SearchProducts(_ context.Context, _ int64, q string, limit int) ([]Product, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	var out []Product
	for _, p := range m.products {
		if strings.Contains(strings.ToLower(p.Title), strings.ToLower(q)) {
			out = append(out, p)
		}
	}
	return out[:min(limit, len(out))], nil
}

func (m *memStore) readCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reads
}

func newTestService(t *testing.T) (*Service, *memStore) {
	t.Helper()
	st := newMemStore()
	// A long TTL: anything served fresh after a change must come from
	// invalidation, not from expiry.
	return NewService(st, time.Now, cache.Options{MaxEntries: 1000, TTL: time.Hour, MaxStale: time.Hour}), st
}

func put(t *testing.T, s *Service, sku, title string) {
	t.Helper()
	in := goodInput()
	in.Title = title
	if _, _, err := s.Put(context.Background(), 1, sku, in); err != nil {
		t.Fatalf("put %s: %v", sku, err)
	}
}

func TestGetReadsThroughAndPutInvalidates(t *testing.T) {
	s, st := newTestService(t)
	ctx := context.Background()
	put(t, s, "TEE-1", "Tee")
	for range 3 {
		p, _, err := s.Get(ctx, 1, "TEE-1")
		if err != nil || p.Title != "Tee" {
			t.Fatalf("get: %+v, %v", p, err)
		}
	}
	if n := st.readCount(); n != 1 {
		t.Fatalf("3 gets read the store %d times, want 1", n)
	}
	put(t, s, "TEE-1", "Tee v2")
	p, _, err := s.Get(ctx, 1, "TEE-1")
	if err != nil || p.Title != "Tee v2" || p.Version != 2 {
		t.Fatalf("get after put: %+v, %v; want the new version at once", p, err)
	}
	if err := s.Delete(ctx, 1, "TEE-1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, 1, "TEE-1"); !errcode.Is(err, errcode.NotFound) {
		t.Fatalf("get after delete: %v, want not_found", err)
	}
}

func TestNotFoundIsCachedUntilCreated(t *testing.T) {
	s, st := newTestService(t)
	ctx := context.Background()
	for range 2 {
		if _, _, err := s.Get(ctx, 1, "NEW"); !errcode.Is(err, errcode.NotFound) {
			t.Fatalf("get missing: %v", err)
		}
	}
	if n := st.readCount(); n != 1 {
		t.Fatalf("2 gets of a missing product read the store %d times, want 1", n)
	}
	put(t, s, "NEW", "New")
	if p, _, err := s.Get(ctx, 1, "NEW"); err != nil || p.Title != "New" {
		t.Fatalf("get after create: %+v, %v", p, err)
	}
}

func TestInvalidSKUNeverReachesTheStore(t *testing.T) {
	s, st := newTestService(t)
	ctx := context.Background()
	_, _, err := s.Get(ctx, 1, "a/b")
	if e, ok := err.(*errcode.Error); !ok || e.Code != errcode.NotFound || e.Type != "product_not_found" {
		t.Fatalf("get invalid SKU: %v", err)
	}
	if _, err := s.Fresh(ctx, 1, ""); !errcode.Is(err, errcode.NotFound) {
		t.Fatalf("fresh invalid SKU: %v", err)
	}
	if err := s.Delete(ctx, 1, "a b"); !errcode.Is(err, errcode.NotFound) {
		t.Fatalf("delete invalid SKU: %v", err)
	}
	if n := st.readCount(); n != 0 {
		t.Fatalf("store read %d times", n)
	}
}

func TestListPagesAndSeesChanges(t *testing.T) {
	s, st := newTestService(t)
	ctx := context.Background()
	for _, sku := range []string{"C", "A", "B"} {
		put(t, s, sku, "Item "+sku)
	}
	page, _, err := s.List(ctx, 1, "", 2)
	if err != nil || skus(page.Items) != "A,B" || page.NextCursor == "" {
		t.Fatalf("first page: %q cursor %q, %v", skus(page.Items), page.NextCursor, err)
	}
	if after, _ := DecodeCursor(page.NextCursor); after != "B" {
		t.Fatalf("next cursor continues after %q, want B", after)
	}
	next, _, err := s.List(ctx, 1, page.NextCursor, 2)
	if err != nil || skus(next.Items) != "C" || next.NextCursor != "" {
		t.Fatalf("second page: %q cursor %q, %v", skus(next.Items), next.NextCursor, err)
	}
	reads := st.readCount()
	if again, _, _ := s.List(ctx, 1, "", 2); skus(again.Items) != "A,B" || st.readCount() != reads {
		t.Fatalf("repeated listing read the store (%d -> %d)", reads, st.readCount())
	}
	put(t, s, "AA", "Item AA")
	page, _, err = s.List(ctx, 1, "", 2)
	if err != nil || skus(page.Items) != "A,AA" {
		t.Fatalf("listing after a new product: %q, %v", skus(page.Items), err)
	}
	// Another replica's change arrives as a key to forget.
	st.PutProduct(ctx, Product{ShopID: 1, SKU: "0", Title: "Zero"}, time.Now())
	s.ForgetProduct("1/0")
	if page, _, _ = s.List(ctx, 1, "", 2); skus(page.Items) != "0,A" {
		t.Fatalf("listing after ForgetProduct: %q", skus(page.Items))
	}
}

func TestListRejectsBadCursor(t *testing.T) {
	s, _ := newTestService(t)
	_, _, err := s.List(context.Background(), 1, "!!", 10)
	assertField(t, err, "cursor")
}

func TestSearchValidatesQuery(t *testing.T) {
	s, _ := newTestService(t)
	for _, q := range []string{"", "   ", strings.Repeat("q", MaxQuery+1), "\xff"} {
		_, _, err := s.Search(context.Background(), 1, q, 10)
		assertField(t, err, "q")
	}
	put(t, s, "TEE-1", "Blue Tee")
	got, _, err := s.Search(context.Background(), 1, "  tee ", 10)
	if err != nil || skus(got) != "TEE-1" {
		t.Fatalf("search: %q, %v", skus(got), err)
	}
	put(t, s, "TEE-2", "Red Tee")
	got, _, err = s.Search(context.Background(), 1, "tee", 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("search after a new product: %q, %v; the cached result should be dropped", skus(got), err)
	}
}

func TestClampLimit(t *testing.T) {
	for in, want := range map[int]int{-5: DefaultPageSize, 0: DefaultPageSize, 1: 1, MaxPageSize: MaxPageSize, MaxPageSize + 1: MaxPageSize} {
		if got := clampLimit(in); got != want {
			t.Errorf("clampLimit(%d) = %d, want %d", in, got, want)
		}
	}
}

func skus(ps []Product) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.SKU
	}
	return strings.Join(out, ",")
}
