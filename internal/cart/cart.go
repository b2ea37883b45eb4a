// Package cart keeps carts server-side, so any replica serves any request
// of a customer. A cart holds SKUs and quantities only: prices are taken
// from the catalog at checkout, never from the cart or the client.
//
// It must never import a driver or a transport.
package cart

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/errcode"
)

// Limits on a cart.
const (
	MaxLines    = 100
	MaxQuantity = 1000
)

// Fits refuses a new line in a cart that already holds others lines of
// other SKUs, when the cart would then hold more than max. The store calls
// it under the cart's lock, so two lines added at once cannot both pass.
// Errors: conflict (cart_full).
func Fits(others, max int) error {
	if others >= max {
		return errcode.Typed(errcode.Conflict, "cart_full", "a cart holds at most %d lines", max)
	}
	return nil
}

// Line is a SKU and how many of it.
type Line struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// Cart is a customer's basket.
type Cart struct {
	ShopID     int64
	ID         string
	CustomerID string
	Lines      []Line
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Store is what carts need from persistence.
type Store interface {
	CreateCart(ctx context.Context, c Cart) error
	// Cart returns a cart with its lines. Errors: not_found.
	Cart(ctx context.Context, shopID int64, cartID string) (Cart, error)
	// SetCartLine sets a line's quantity, removing it for 0. It refuses to
	// add a line past maxLines (Fits). Errors: not_found, conflict.
	SetCartLine(ctx context.Context, shopID int64, cartID, sku string, qty int64, maxLines int, now time.Time) error
}

// Products is the catalog lookup carts use to refuse unknown SKUs.
type Products interface {
	Fresh(ctx context.Context, shopID int64, sku string) (catalog.Product, error)
}

// Service manages carts.
type Service struct {
	store    Store
	products Products
	now      func() time.Time
}

// NewService returns a Service.
func NewService(store Store, products Products, now func() time.Time) *Service {
	return &Service{store: store, products: products, now: now}
}

// Create starts an empty cart for the customer.
func (s *Service) Create(ctx context.Context, shopID int64, customerID string) (Cart, error) {
	now := s.now()
	c := Cart{ShopID: shopID, ID: "cart_" + uuid.Must(uuid.NewV7()).String(), CustomerID: customerID, Lines: []Line{}, CreatedAt: now, UpdatedAt: now}
	return c, s.store.CreateCart(ctx, c)
}

// Get returns the customer's cart. Another customer's cart is reported as
// not found, so cart ids cannot be probed. Errors: not_found.
func (s *Service) Get(ctx context.Context, shopID int64, customerID, cartID string) (Cart, error) {
	c, err := s.store.Cart(ctx, shopID, cartID)
	if err != nil {
		return Cart{}, err
	}
	if c.CustomerID != customerID {
		return Cart{}, errcode.Typed(errcode.NotFound, "cart_not_found", "no cart %q", cartID)
	}
	return c, nil
}

// SetLine sets how many of sku the cart holds (0 removes it) and returns
// the cart. Errors: invalid (quantity, unknown SKU), not_found, conflict
// (too many lines).
func (s *Service) SetLine(ctx context.Context, shopID int64, customerID, cartID, sku string, qty int64) (Cart, error) {
	if qty < 0 || qty > MaxQuantity {
		var v errcode.Validation
		v.Add("quantity", "must be between 0 (remove) and 1000")
		return Cart{}, v.Err()
	}
	if _, err := s.Get(ctx, shopID, customerID, cartID); err != nil {
		return Cart{}, err
	}
	if qty > 0 {
		if _, err := s.products.Fresh(ctx, shopID, sku); errcode.Is(err, errcode.NotFound) {
			var v errcode.Validation
			v.Add("sku", "unknown SKU "+sku)
			return Cart{}, v.Err()
		} else if err != nil {
			return Cart{}, err
		}
	}
	if err := s.store.SetCartLine(ctx, shopID, cartID, sku, qty, MaxLines, s.now()); err != nil {
		return Cart{}, err
	}
	return s.store.Cart(ctx, shopID, cartID)
}
