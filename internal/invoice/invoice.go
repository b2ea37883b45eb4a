// Package invoice issues one invoice per paid order, numbered per shop
// without gaps or duplicates, however often the order.paid event arrives.
//
// It must never import a driver or a transport.
package invoice

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
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

// maxBatch bounds the events of one transaction.
const maxBatch = 64

// batchTimeout bounds one batch's transaction. It does not come from the
// handler that happens to run the batch: the batch is everybody's.
const batchTimeout = 10 * time.Second

// Handler is the invoice consumer. Every invoice of a shop takes the
// shop's counter row, so events handled at the same time are issued
// together: the first handler to arrive runs batches of whatever is
// waiting until nothing is, and the others wait for their outcome.
type Handler struct {
	store Store
	now   func() time.Time

	mu      sync.Mutex
	waiting []*request
	running bool // a handler is running batches
}

type request struct {
	paid Paid
	done chan error // buffered: answering never blocks
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
	r := &request{paid: Paid{EventID: e.ID, ShopID: e.ShopID, Order: d}, done: make(chan error, 1)}
	h.mu.Lock()
	h.waiting = append(h.waiting, r)
	if h.running {
		h.mu.Unlock()
		select {
		case err := <-r.done:
			return err
		case <-ctx.Done():
			// The batch may still issue it; the redelivery then finds the
			// event applied.
			return ctx.Err()
		}
	}
	h.running = true
	for len(h.waiting) > 0 {
		n := min(len(h.waiting), maxBatch)
		batch := h.waiting[:n:n]
		h.waiting = h.waiting[n:]
		h.mu.Unlock()
		h.issue(context.WithoutCancel(ctx), batch)
		h.mu.Lock()
	}
	h.running = false
	h.mu.Unlock()
	return <-r.done
}

// issue applies one batch and answers each of its requests. When a batch
// fails for any reason but an unavailable database, each event is tried
// alone, so one event that cannot be applied holds up no other.
func (h *Handler) issue(ctx context.Context, batch []*request) {
	ctx, cancel := context.WithTimeout(ctx, batchTimeout)
	defer cancel()
	paid := make([]Paid, len(batch))
	for i, r := range batch {
		paid[i] = r.paid
	}
	_, err := h.store.ApplyInvoices(ctx, paid, h.now())
	if err == nil || len(batch) == 1 || errcode.Is(err, errcode.Unavailable) {
		for _, r := range batch {
			r.done <- err
		}
		return
	}
	for _, r := range batch {
		_, err := h.store.ApplyInvoices(ctx, []Paid{r.paid}, h.now())
		r.done <- err
	}
}
