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
)

// SKUSales is what one SKU sold over a period.
type SKUSales struct {
	SKU     string `json:"sku"`
	Units   int64  `json:"units"`
	Revenue int64  `json:"revenue"`
}

// Store is what analytics needs from persistence.
type Store interface {
	// ApplySales adds an order's lines to the minute it was paid in, unless
	// the event was already applied.
	ApplySales(ctx context.Context, eventID string, shopID int64, lines []event.OrderLine, at, now time.Time) (bool, error)
	BestSellers(ctx context.Context, shopID int64, since time.Time, limit int) ([]SKUSales, error)
}

// Handler is the analytics consumer.
type Handler struct {
	store Store
	now   func() time.Time
}

// NewHandler returns the analytics consumer.
func NewHandler(store Store, now func() time.Time) *Handler { return &Handler{store: store, now: now} }

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
	_, err := h.store.ApplySales(ctx, e.ID, e.ShopID, d.Lines, e.OccurredAt, h.now())
	return err
}
