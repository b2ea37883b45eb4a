// Package catalog manages a shop's products: admins create, replace and
// delete them; everybody reads, lists and searches them through a
// read-through cache that each change invalidates.
//
// It owns the products table (through Store) and the product rules. It must
// never import a driver or a transport.
package catalog

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/surge-commerce/surge/internal/cache"
	"github.com/surge-commerce/surge/internal/errcode"
)

// Store is what the catalog needs from persistence.
type Store interface {
	// PutProduct creates or replaces a product and sets its received stock
	// to p.Stock in one transaction. Returns the saved product and whether it
	// was created. Errors: conflict when lowering stock below what is
	// already reserved or sold.
	PutProduct(ctx context.Context, p Product, now time.Time) (Product, bool, error)
	// PutProductIf is PutProduct that writes only if the product meets
	// cond, checked in the write's own transaction. Errors: as PutProduct,
	// precondition_failed.
	PutProductIf(ctx context.Context, p Product, now time.Time, cond Precondition) (Product, bool, error)
	// DeleteProductIf is DeleteProduct that deletes only if the product
	// meets cond. Errors: not_found, precondition_failed.
	DeleteProductIf(ctx context.Context, shopID int64, sku string, now time.Time, cond Precondition) error
	// DeleteProduct hides a product from the catalog. Errors: not_found.
	DeleteProduct(ctx context.Context, shopID int64, sku string, now time.Time) error
	// Product returns one live product. Errors: not_found.
	Product(ctx context.Context, shopID int64, sku string) (Product, error)
	// Products returns up to limit live products with SKU > after, by SKU.
	Products(ctx context.Context, shopID int64, after string, limit int) ([]Product, error)
	// SearchProducts returns up to limit live products matching the words
	// of q, best match first.
	SearchProducts(ctx context.Context, shopID int64, q string, limit int) ([]Product, error)
}

// Page is one page of a listing.
type Page struct {
	Items      []Product
	NextCursor string
}

// Service is the catalog use case.
type Service struct {
	store    Store
	now      func() time.Time
	products *cache.Cache[Product]
	pages    *cache.Cache[Page]
	// gens holds a generation number per shop; listing and search cache
	// keys include it, so one change invalidates every cached page of
	// that shop without scanning the cache.
	gens sync.Map // int64 -> *atomic.Int64
}

// NewService returns a Service caching reads per opts. Only products use
// the shared L2: pages are keyed by this replica's generation numbers.
func NewService(store Store, now func() time.Time, opts cache.Options) *Service {
	local := opts
	local.L2 = nil
	return &Service{
		store:    store,
		now:      now,
		products: cache.New[Product](opts),
		pages:    cache.New[Page](local),
	}
}

// ForgetProduct drops a product another replica changed (key as published
// by the L2: "<shop id>/<sku>") and this shop's cached pages.
func (s *Service) ForgetProduct(key string) {
	s.products.Forget(key)
	shop, _, _ := strings.Cut(key, "/")
	if id, err := strconv.ParseInt(shop, 10, 64); err == nil {
		s.gen(id).Add(1)
	}
}

// Caches returns the service's caches for metrics.
func (s *Service) Caches() map[string]interface {
	Stats() (uint64, uint64, uint64)
} {
	return map[string]interface {
		Stats() (uint64, uint64, uint64)
	}{
		"product": s.products, "page": s.pages,
	}
}

// Put creates or replaces a product. Errors: invalid, conflict.
func (s *Service) Put(ctx context.Context, shopID int64, sku string, in Input) (Product, bool, error) {
	return s.PutIf(ctx, shopID, sku, in, Precondition{})
}

// PutIf is Put for a client that says which state it expects the product
// in (If-Match, If-None-Match). Errors: invalid, conflict,
// precondition_failed.
func (s *Service) PutIf(ctx context.Context, shopID int64, sku string, in Input, cond Precondition) (Product, bool, error) {
	if err := in.Validate(sku); err != nil {
		return Product{}, false, err
	}
	p := Product{
		ShopID: shopID, SKU: sku, Title: in.Title, Description: in.Description,
		Price: in.Price, Currency: in.Currency, Stock: in.Stock,
		Attributes: in.Attributes, Images: in.Images, PurchaseLimit: in.PurchaseLimit,
	}
	saved, created, err := s.store.PutProductIf(ctx, p, s.now(), cond)
	if err != nil {
		return Product{}, false, err
	}
	s.changed(shopID, sku)
	return saved, created, nil
}

// Delete removes a product from the catalog. Errors: not_found.
func (s *Service) Delete(ctx context.Context, shopID int64, sku string) error {
	return s.DeleteIf(ctx, shopID, sku, Precondition{})
}

// DeleteIf is Delete for a client that says which version it expects.
// Errors: not_found, precondition_failed.
func (s *Service) DeleteIf(ctx context.Context, shopID int64, sku string, cond Precondition) error {
	if !ValidSKU(sku) {
		return errcode.Typed(errcode.NotFound, "product_not_found", "no product %q", sku)
	}
	if err := s.store.DeleteProductIf(ctx, shopID, sku, s.now(), cond); err != nil {
		return err
	}
	s.changed(shopID, sku)
	return nil
}

// Get returns a product, possibly from cache. Errors: not_found, unavailable.
func (s *Service) Get(ctx context.Context, shopID int64, sku string) (Product, cache.Result, error) {
	if !ValidSKU(sku) {
		return Product{}, cache.Result{}, errcode.Typed(errcode.NotFound, "product_not_found", "no product %q", sku)
	}
	key := strconv.FormatInt(shopID, 10) + "/" + sku
	return s.products.Get(ctx, key, func(ctx context.Context) (Product, error) {
		return s.store.Product(ctx, shopID, sku)
	})
}

// List returns a page of products in SKU order. Errors: invalid, unavailable.
func (s *Service) List(ctx context.Context, shopID int64, cursor string, limit int) (Page, cache.Result, error) {
	after, err := DecodeCursor(cursor)
	if err != nil {
		return Page{}, cache.Result{}, err
	}
	limit = clampLimit(limit)
	key := s.pageKey(shopID, "list", after, limit)
	return s.pages.Get(ctx, key, func(ctx context.Context) (Page, error) {
		items, err := s.store.Products(ctx, shopID, after, limit+1)
		if err != nil {
			return Page{}, err
		}
		var page Page
		if len(items) > limit {
			items = items[:limit]
			page.NextCursor = EncodeCursor(items[limit-1].SKU)
		}
		page.Items = items
		return page, nil
	})
}

// MaxQuery bounds a search query's length.
const MaxQuery = 200

// Search returns the products best matching q. Errors: invalid, unavailable.
func (s *Service) Search(ctx context.Context, shopID int64, q string, limit int) ([]Product, cache.Result, error) {
	q = strings.TrimSpace(q)
	if q == "" || utf8.RuneCountInString(q) > MaxQuery || !utf8.ValidString(q) {
		var v errcode.Validation
		v.Add("q", "must be 1-200 characters")
		return nil, cache.Result{}, v.Err()
	}
	limit = clampLimit(limit)
	key := s.pageKey(shopID, "search", q, limit)
	page, res, err := s.pages.Get(ctx, key, func(ctx context.Context) (Page, error) {
		items, err := s.store.SearchProducts(ctx, shopID, q, limit)
		return Page{Items: items}, err
	})
	return page.Items, res, err
}

func clampLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultPageSize
	case limit > MaxPageSize:
		return MaxPageSize
	}
	return limit
}

func (s *Service) gen(shopID int64) *atomic.Int64 {
	g, _ := s.gens.LoadOrStore(shopID, new(atomic.Int64))
	return g.(*atomic.Int64)
}

func (s *Service) pageKey(shopID int64, kind, arg string, limit int) string {
	return strconv.FormatInt(shopID, 10) + "/" + strconv.FormatInt(s.gen(shopID).Load(), 10) +
		"/" + kind + "/" + strconv.Itoa(limit) + "/" + arg
}

// Changed tells the catalog a product changed elsewhere (e.g. a flash sale
// set its purchase limit), so cached copies are dropped.
func (s *Service) Changed(shopID int64, sku string) { s.changed(shopID, sku) }

// changed forgets everything cached about the product and the shop's pages.
// Other replicas notice within the cache TTL.
func (s *Service) changed(shopID int64, sku string) {
	s.products.Invalidate(strconv.FormatInt(shopID, 10) + "/" + sku)
	s.gen(shopID).Add(1)
}

// Fresh returns a product straight from the store's primary, bypassing
// the cache and any replica.
// Errors: not_found, unavailable.
func (s *Service) Fresh(ctx context.Context, shopID int64, sku string) (Product, error) {
	if !ValidSKU(sku) {
		return Product{}, errcode.Typed(errcode.NotFound, "product_not_found", "no product %q", sku)
	}
	return s.store.Product(FromPrimary(ctx), shopID, sku)
}
