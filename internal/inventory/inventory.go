// Package inventory tracks stock per SKU: units received, available,
// reserved by unpaid orders and sold. available + reserved + sold ==
// received always holds; the store keeps it with conditional updates and
// a CHECK constraint, and asks this package's rules (MainReceived) what a
// change of stock may do.
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

// MainReceived splits a product's new stock between its flash sale and its
// main row: the sale's buckets keep what they hold (inSale), the main row
// gets the rest, which must cover what the main row has committed
// (reserved or sold). Units that belong to orders are never taken back
// (docs/INVARIANTS.md, I1). The store calls it under the rows' locks.
// Errors: conflict (stock_below_committed).
func MainReceived(sku string, received, inSale, committed int64) (int64, error) {
	if received < inSale {
		return 0, errcode.Typed(errcode.Conflict, "stock_below_committed",
			"stock %d is less than the %d units of %q held by its flash sale", received, inSale, sku)
	}
	if main := received - inSale; main >= committed {
		return main, nil
	}
	return 0, errcode.Typed(errcode.Conflict, "stock_below_committed",
		"stock %d is less than the units of %q already reserved or sold", received, sku)
}
