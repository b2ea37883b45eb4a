// Package inventory tracks stock per SKU: units received, available,
// reserved by unpaid orders and sold. available + reserved + sold ==
// received always holds; the store enforces it with conditional updates
// and a CHECK constraint, never with read-modify-write.
//
// It must never import a driver or a transport.
package inventory

import (
	"context"

	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/precondition"
)

// Level is the stock of one SKU.
type Level struct {
	SKU       string `json:"sku"`
	Received  int64  `json:"received"`
	Available int64  `json:"available"`
	Reserved  int64  `json:"reserved"`
	Sold      int64  `json:"sold"`
	// Version moves on when the shop changes the stock (restock, product
	// stock, a sale's start), not with each unit sold: the inventory's
	// ETag is "v<version>" (package precondition).
	Version int64 `json:"version"`
}

// Store is what inventory needs from persistence.
type Store interface {
	// Level returns the stock of a SKU. Errors: not_found.
	Level(ctx context.Context, shopID int64, sku string) (Level, error)
	// RestockIf adds units to received and available if the inventory is
	// as cond expects. Errors: not_found, precondition_failed.
	RestockIf(ctx context.Context, shopID int64, sku string, units int64, cond precondition.Condition) (Level, error)
}

// Service reads and restocks inventory.
type Service struct{ store Store }

// NewService returns a Service.
func NewService(store Store) *Service { return &Service{store: store} }

// Level returns the stock of a SKU. Errors: not_found.
func (s *Service) Level(ctx context.Context, shopID int64, sku string) (Level, error) {
	if !catalog.ValidSKU(sku) {
		return Level{}, errcode.Typed(errcode.NotFound, "product_not_found", "no product %q", sku)
	}
	return s.store.Level(ctx, shopID, sku)
}

// MaxRestock bounds one restock.
const MaxRestock = 1_000_000_000

// Restock receives more units of a SKU. Errors: invalid, not_found.
func (s *Service) Restock(ctx context.Context, shopID int64, sku string, units int64, cond precondition.Condition) (Level, error) {
	if units < 1 || units > MaxRestock {
		var v errcode.Validation
		v.Add("quantity", "must be between 1 and 10^9")
		return Level{}, v.Err()
	}
	if !catalog.ValidSKU(sku) {
		return Level{}, errcode.Typed(errcode.NotFound, "product_not_found", "no product %q", sku)
	}
	return s.store.RestockIf(ctx, shopID, sku, units, cond)
}
