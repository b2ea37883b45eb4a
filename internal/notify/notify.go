// Package notify tells customers what happened to their orders: an order
// confirmation when it is paid, a cancellation notice when it is cancelled.
// Messages are rendered from templates and stored once per event (the mail
// sink); when SMTP is configured a sender delivers them.
//
// It must never import a driver or a transport.
package notify

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/worker/batch"
)

// Notification is a rendered message to a customer.
type Notification struct {
	ShopID    int64     `json:"-"`
	ID        string    `json:"id"`
	OrderID   string    `json:"order_id"`
	Kind      string    `json:"kind"` // the event type that caused it
	Recipient string    `json:"recipient"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	SentAt    time.Time `json:"sent_at,omitzero"`
	// Delivery by SMTP, each notification on its own: how many attempts
	// failed, the last error, when the next is due, and when it was given
	// up on (a dead letter the shop may send again).
	Attempts      int       `json:"attempts"`
	LastError     string    `json:"last_error,omitempty"`
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
	FailedAt      time.Time `json:"failed_at,omitzero"`
	// Version moves on with each delivery attempt and retry; a retry's
	// If-Match names it ("v<version>", package precondition).
	Version int64 `json:"version"`
}

// Store is what notify needs from persistence.
type Store interface {
	// ApplyNotifications stores, in one transaction, the notifications
	// whose events were not applied before, and returns how many.
	ApplyNotifications(ctx context.Context, rendered []Rendered) (int, error)
	CustomerEmail(ctx context.Context, shopID int64, customerID string) (string, error)
}

//go:embed templates/*.tmpl
var templateFS embed.FS

// templates holds one set per event type: each file defines its own
// "subject" and "body", which must not overwrite another file's.
var templates = map[string]*template.Template{
	"order.paid":      parse("order.paid"),
	"order.cancelled": parse("order.cancelled"),
}

func parse(eventType string) *template.Template {
	return template.Must(template.New(eventType).Funcs(template.FuncMap{"money": money}).
		ParseFS(templateFS, "templates/"+eventType+".tmpl"))
}

func money(minor int64, currency string) string {
	return fmt.Sprintf("%d.%02d %s", minor/100, minor%100, currency)
}

// Rendered is a notification and the event that caused it.
type Rendered struct {
	EventID string
	Notification
}

// Handler is the notify consumer. The notifications rendered at the same
// time are stored together, in one transaction: no row is shared, but a
// commit each was most of the consumer's cost.
type Handler struct {
	store Store
	now   func() time.Time
	save  *batch.Combiner[Rendered]
}

// NewHandler returns the notify consumer.
func NewHandler(store Store, now func() time.Time) *Handler {
	return &Handler{store: store, now: now, save: batch.New(64, 10*time.Second, func(ctx context.Context, rendered []Rendered) error {
		_, err := store.ApplyNotifications(ctx, rendered)
		return err
	})}
}

// Name implements worker.Handler.
func (h *Handler) Name() string { return "notify" }

// Subjects implements worker.Handler.
func (h *Handler) Subjects() []string {
	return []string{"surge.*.order.paid", "surge.*.order.cancelled"}
}

// Handle implements worker.Handler.
func (h *Handler) Handle(ctx context.Context, e event.Envelope) error {
	var d event.OrderData
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return fmt.Errorf("notify: bad order payload: %w", err)
	}
	email, err := h.store.CustomerEmail(ctx, e.ShopID, d.CustomerID)
	if err != nil {
		return err
	}
	if email == "" {
		email = "customer:" + d.CustomerID // no address given: kept for the shop to read
	}
	subject, body, err := Render(e.Type, e.Shop, d)
	if err != nil {
		return err
	}
	return h.save.Do(ctx, Rendered{EventID: e.ID, Notification: Notification{
		ShopID: e.ShopID, ID: "ntf_" + strings.TrimPrefix(e.ID, "evt_"), OrderID: d.OrderID, Kind: e.Type,
		Recipient: email, Subject: subject, Body: body, CreatedAt: h.now(),
	}})
}

// Render renders the message for an event type.
func Render(eventType, shop string, d event.OrderData) (subject, body string, err error) {
	t := templates[eventType]
	if t == nil {
		return "", "", fmt.Errorf("notify: no template for %s", eventType)
	}
	data := struct {
		event.OrderData
		Shop string
	}{d, shop}
	var s, b bytes.Buffer
	if err := t.ExecuteTemplate(&s, "subject", data); err != nil {
		return "", "", err
	}
	if err := t.ExecuteTemplate(&b, "body", data); err != nil {
		return "", "", err
	}
	return s.String(), b.String(), nil
}
