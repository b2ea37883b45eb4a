// Package invoice issues one invoice per paid order, numbered per shop
// without gaps or duplicates, however often the order.paid event arrives.
//
// It must never import a driver or a transport.
package invoice

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/surge-commerce/surge/internal/event"
)

// Invoice is an issued invoice.
type Invoice struct {
	Number   int64     `json:"number"`
	OrderID  string    `json:"order_id"`
	Total    int64     `json:"total"`
	Currency string    `json:"currency"`
	IssuedAt time.Time `json:"issued_at"`
}

// Store is what invoicing needs from persistence.
type Store interface {
	// ApplyInvoice issues the shop's next number for the order unless the
	// event was already applied.
	ApplyInvoice(ctx context.Context, eventID string, shopID int64, d event.OrderData, now time.Time) (bool, error)
}

// Handler is the invoice consumer.
type Handler struct {
	store Store
	now   func() time.Time
}

// NewHandler returns the invoice consumer.
func NewHandler(store Store, now func() time.Time) *Handler { return &Handler{store: store, now: now} }

// Name implements worker.Handler.
func (h *Handler) Name() string { return "invoice" }

// Subjects implements worker.Handler.
func (h *Handler) Subjects() []string { return []string{"surge.*.order.paid"} }

// Handle implements worker.Handler.
func (h *Handler) Handle(ctx context.Context, e event.Envelope) error {
	var d event.OrderData
	if err := json.Unmarshal(e.Data, &d); err != nil || d.OrderID == "" {
		return fmt.Errorf("invoice: bad order payload: %v", err)
	}
	_, err := h.store.ApplyInvoice(ctx, e.ID, e.ShopID, d, h.now())
	return err
}
