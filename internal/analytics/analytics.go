// Package analytics keeps units and revenue sold per SKU per minute: the
// read model behind best-sellers and the dashboard.
//
// It must never import a driver or a transport.
package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/worker/batch"
)

// SKUSales is what one SKU sold over a period.
type SKUSales struct {
	SKU     string `json:"sku"`
	Units   int64  `json:"units"`
	Revenue int64  `json:"revenue"`
}

// Store is what analytics needs from persistence.
type Store interface {
	// ApplySales adds, in one transaction, the lines of each order whose
	// event was not applied before to the minute it was paid in, and
	// returns how many events it applied.
	ApplySales(ctx context.Context, sales []Sale, now time.Time) (int, error)
	BestSellers(ctx context.Context, shopID int64, since time.Time, limit int) ([]SKUSales, error)
}

// Sale is one order.paid event to count.
type Sale struct {
	EventID string
	ShopID  int64
	At      time.Time // when the order was paid
	Lines   []event.OrderLine
}

// Handler is the analytics consumer. The orders of a flash sale all add to
// one row, so the events handled at the same time are counted together, in
// one transaction.
type Handler struct {
	count *batch.Combiner[Sale]
}

// NewHandler returns the analytics consumer.
func NewHandler(store Store, now func() time.Time) *Handler {
	return &Handler{count: batch.New(64, 10*time.Second, func(ctx context.Context, sales []Sale) error {
		_, err := store.ApplySales(ctx, sales, now())
		return err
	})}
}

// Name implements worker.Handler.
func (h *Handler) Name() string { return "analytics" }

// Subjects implements worker.Handler.
func (h *Handler) Subjects() []string { return []string{"surge.*.order.paid"} }

// Handle implements worker.Handler.
func (h *Handler) Handle(ctx context.Context, e event.Envelope) error {
	var d event.OrderData
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return fmt.Errorf("analytics: bad order payload: %w", err)
	}
	return h.count.Do(ctx, Sale{EventID: e.ID, ShopID: e.ShopID, At: e.OccurredAt, Lines: d.Lines})
}
