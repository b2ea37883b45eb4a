// Package event defines the envelope every Surge event travels in and the
// subjects and streams events live on:
//
//	subject  surge.<shop>.<aggregate>.<event>   e.g. surge.acme.order.paid
//	stream   one per event family (ORDERS for order.*), plus DLQ
//
// The envelope is versioned (Spec) so consumers can refuse what they do not
// understand instead of misreading it. This package must never import a
// driver.
package event

import (
	"encoding/json"
	"strings"
	"time"
)

// Spec is the envelope version this code writes and reads.
const Spec = "surge.event/v1"

// Envelope is one event.
type Envelope struct {
	Spec        string          `json:"spec"`
	ID          string          `json:"id"`
	Type        string          `json:"type"` // e.g. order.paid
	Shop        string          `json:"shop"` // slug
	ShopID      int64           `json:"shop_id"`
	Aggregate   string          `json:"aggregate"`
	AggregateID string          `json:"aggregate_id"`
	OccurredAt  time.Time       `json:"occurred_at"`
	TraceParent string          `json:"traceparent,omitempty"`
	Data        json.RawMessage `json:"data"`
}

// Subject returns the subject an event is published on.
func (e Envelope) Subject() string {
	return "surge." + e.Shop + "." + e.Type
}

// Stream is one JetStream stream and the subjects it holds.
type Stream struct {
	Name     string
	Subjects []string
}

// Streams lists the event families. A new family is a new entry here.
var Streams = []Stream{
	{Name: "ORDERS", Subjects: []string{"surge.*.order.>"}},
	{Name: "SALES", Subjects: []string{"surge.*.sale.>"}},
}

// DLQ holds events a consumer gave up on, with the last error. Its subjects
// sit outside surge.> so no shop slug can make them overlap an event family.
var DLQ = Stream{Name: "DLQ", Subjects: []string{"surgedlq.>"}}

// DLQSubject is where a consumer's dead letters go.
func DLQSubject(consumer string) string { return "surgedlq." + consumer }

// Headers carried by dead letters.
const (
	HeaderError           = "Surge-Error"
	HeaderOriginalSubject = "Surge-Original-Subject"
	HeaderOriginalSeq     = "Surge-Original-Sequence"
	HeaderConsumer        = "Surge-Consumer"
)

// ValidShop reports whether a slug can be a subject token (no wildcards,
// dots or spaces); shop slugs are validated to be, this double-checks.
func ValidShop(slug string) bool {
	return slug != "" && !strings.ContainsAny(slug, ".*> \t\r\n")
}

// OrderData is the payload of order.* events.
type OrderData struct {
	OrderID    string      `json:"order_id"`
	CustomerID string      `json:"customer_id"`
	Status     string      `json:"status"`
	Lines      []OrderLine `json:"lines"`
	Total      int64       `json:"total"`
	Currency   string      `json:"currency"`
}

// OrderLine is one line of an order event.
type OrderLine struct {
	SKU       string `json:"sku"`
	Title     string `json:"title"`
	UnitPrice int64  `json:"unit_price"`
	Quantity  int64  `json:"quantity"`
}
