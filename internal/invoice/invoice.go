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
	"github.com/surge-commerce/surge/internal/worker/batch"
)

// Invoice is an issued invoice.
type Invoice struct {
	Number   int64     `json:"number"`
	OrderID  string    `json:"order_id"`
	Total    int64     `json:"total"`
	Currency string    `json:"currency"`
	IssuedAt time.Time `json:"issued_at"`
}

// Paid is one order.paid event to invoice.
type Paid struct {
	EventID string
	ShopID  int64
	Order   event.OrderData
}

// Store is what invoicing needs from persistence.
type Store interface {
	// ApplyInvoices issues, in one transaction, the shops' next numbers for
	// the orders whose events were not applied before, and returns how many
	// it issued.
	ApplyInvoices(ctx context.Context, paid []Paid, now time.Time) (int, error)
}

// Handler is the invoice consumer. Every invoice of a shop takes the
// shop's counter row, so the events handled at the same time are issued
// together, in one transaction.
type Handler struct {
	issue *batch.Combiner[Paid]
}

// NewHandler returns the invoice consumer.
func NewHandler(store Store, now func() time.Time) *Handler {
	return &Handler{issue: batch.New(64, 10*time.Second, func(ctx context.Context, paid []Paid) error {
		_, err := store.ApplyInvoices(ctx, paid, now())
		return err
	})}
}

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
	return h.issue.Do(ctx, Paid{EventID: e.ID, ShopID: e.ShopID, Order: d})
}
