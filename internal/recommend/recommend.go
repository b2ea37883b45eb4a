// Package recommend counts which products are bought together in paid
// orders and serves "customers also bought" lists, falling back to the
// shop's best-sellers when a product has no signal yet.
//
// It must never import a driver or a transport.
package recommend

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/surge-commerce/surge/internal/analytics"
	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/worker/batch"
)

// Store is what recommendations need from persistence.
type Store interface {
	// ApplyBoughtTogether counts, in one transaction, every pair of
	// distinct SKUs in each order whose event was not applied before, and
	// returns how many events it applied.
	ApplyBoughtTogether(ctx context.Context, orders []Bought, now time.Time) (int, error)
	// BoughtTogether returns SKUs bought with sku, most often first
	// (Units holds the number of orders).
	BoughtTogether(ctx context.Context, shopID int64, sku string, limit int) ([]analytics.SKUSales, error)
	BestSellers(ctx context.Context, shopID int64, since time.Time, limit int) ([]analytics.SKUSales, error)
}

// Bought is one order.paid event: the SKUs of one order.
type Bought struct {
	EventID string
	ShopID  int64
	SKUs    []string
}

// Handler is the recommend consumer. Popular pairs are hot rows, so the
// events handled at the same time are counted together, in one
// transaction.
type Handler struct {
	count *batch.Combiner[Bought]
}

// NewHandler returns the recommend consumer.
func NewHandler(store Store, now func() time.Time) *Handler {
	return &Handler{count: batch.New(64, 10*time.Second, func(ctx context.Context, orders []Bought) error {
		_, err := store.ApplyBoughtTogether(ctx, orders, now())
		return err
	})}
}

// Name implements worker.Handler.
func (h *Handler) Name() string { return "recommend" }

// Subjects implements worker.Handler.
func (h *Handler) Subjects() []string { return []string{"surge.*.order.paid"} }

// Handle implements worker.Handler.
func (h *Handler) Handle(ctx context.Context, e event.Envelope) error {
	var d event.OrderData
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return fmt.Errorf("recommend: bad order payload: %w", err)
	}
	skus := make([]string, 0, len(d.Lines))
	for _, l := range d.Lines {
		skus = append(skus, l.SKU)
	}
	return h.count.Do(ctx, Bought{EventID: e.ID, ShopID: e.ShopID, SKUs: skus})
}

// Service answers recommendation queries.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service.
func NewService(store Store, now func() time.Time) *Service { return &Service{store: store, now: now} }

// BestSellerWindow is how far back best-sellers look.
const BestSellerWindow = 30 * 24 * time.Hour

// For returns up to limit SKUs to show next to sku: bought-together first,
// topped up with best-sellers, never sku itself. fromSignal tells whether
// any came from bought-together data.
func (s *Service) For(ctx context.Context, shopID int64, sku string, limit int) (skus []string, fromSignal bool, err error) {
	together, err := s.store.BoughtTogether(ctx, shopID, sku, limit)
	if err != nil {
		return nil, false, err
	}
	seen := map[string]bool{sku: true}
	for _, t := range together {
		skus, seen[t.SKU] = append(skus, t.SKU), true
	}
	if len(skus) >= limit {
		return skus, true, nil
	}
	best, err := s.store.BestSellers(ctx, shopID, s.now().Add(-BestSellerWindow), limit+1)
	if err != nil {
		return skus, len(together) > 0, err
	}
	for _, b := range best {
		if len(skus) < limit && !seen[b.SKU] {
			skus, seen[b.SKU] = append(skus, b.SKU), true
		}
	}
	return skus, len(together) > 0, nil
}
