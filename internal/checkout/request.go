package checkout

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"time"

	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/errcode"
)

// Limits on one checkout.
const (
	MaxItems    = 100
	MaxQuantity = 1000
	MaxKeyLen   = 255
)

// Item is a SKU and quantity to buy.
type Item struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// Request is one checkout attempt.
type Request struct {
	ShopID     int64
	CustomerID string
	// Key is the client's Idempotency-Key.
	Key    string
	Items  []Item
	CartID string
	// QueueTicket is the waiting-room ticket, for SKUs sold through one.
	QueueTicket string
	// Token is the customer token the request came with, verified by its
	// signature; whether it was revoked is checked by PlaceOrder.
	Token Token
}

// Token names a customer token for the revocation check PlaceOrder makes
// inside its own transaction: on PostgreSQL the check rides in the batch
// that claims the key, so it costs a checkout no round trip of its own.
// A zero Token (a caller that authenticated by other means) is not checked.
type Token struct {
	Hash    string
	Expires time.Time
}

// ValidKey reports whether an Idempotency-Key is acceptable: 1-255
// visible ASCII characters.
func ValidKey(key string) bool {
	if len(key) == 0 || len(key) > MaxKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// validate checks the request's shape; stock and prices are checked by the
// store inside the transaction.
func (r Request) validate() error {
	var v errcode.Validation
	switch {
	case r.CartID != "" && len(r.Items) > 0:
		v.Add("items", "give either items or cart_id, not both")
	case r.CartID == "" && len(r.Items) == 0:
		v.Add("items", "give at least one item, or a cart_id")
	case len(r.Items) > MaxItems:
		v.Add("items", "at most 100 items")
	}
	for i, it := range r.Items {
		if !catalog.ValidSKU(it.SKU) {
			v.Add(fieldName(i, "sku"), "must match [A-Za-z0-9._-]{1,64}")
		}
		if it.Quantity < 1 || it.Quantity > MaxQuantity {
			v.Add(fieldName(i, "quantity"), "must be between 1 and 1000")
		}
	}
	return v.Err()
}

func fieldName(i int, f string) string {
	b, _ := json.Marshal(i)
	return "items[" + string(b) + "]." + f
}

// merge sums the quantities of repeated SKUs and sorts by SKU, so stock rows
// are always locked in the same order (no deadlocks between checkouts).
func merge(items []Item) ([]Item, error) {
	sum := map[string]int64{}
	for _, it := range items {
		sum[it.SKU] += it.Quantity
	}
	out := make([]Item, 0, len(sum))
	for sku, q := range sum {
		if q > MaxQuantity {
			var v errcode.Validation
			v.Add("items", "at most 1000 units of "+sku)
			return nil, v.Err()
		}
		out = append(out, Item{SKU: sku, Quantity: q})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SKU < out[j].SKU })
	return out, nil
}

// fingerprint identifies the request's content, so a key reused for a
// different request is caught (422) instead of replaying the wrong order.
func (r Request) fingerprint() string {
	b, _ := json.Marshal(struct {
		Items  []Item `json:"items,omitempty"`
		CartID string `json:"cart_id,omitempty"`
	}{r.Items, r.CartID})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
