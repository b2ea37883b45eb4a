package checkout

import (
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/order"
)

// Product is what pricing needs of one item's product, as the store read
// it inside the placement's transaction.
type Product struct {
	Found           bool
	Title, Currency string
	Price           int64
	// Limit is the most units one customer may hold (0: no limit).
	Limit int64
	// SaleStart is when the SKU's flash sale opens; zero when the SKU is
	// not on sale.
	SaleStart time.Time
}

// Price turns a placement's items into the order the store inserts, by the
// shop's rules: every SKU is known and its sale has started, one order has
// one currency, and no line asks for more than its purchase limit. The
// store calls it inside the placement's transaction with the products that
// transaction read, so the rules and the writes see the same rows.
// products[i] is the product of p.Items[i].
func Price(p Placement, products []Product) (order.Order, error) {
	now := time.UnixMicro(p.Now.UnixMicro()).UTC() // as the store keeps it
	o := order.Order{ShopID: p.ShopID, ID: p.OrderID, CustomerID: p.CustomerID, Status: order.PendingPayment,
		CreatedAt: now, UpdatedAt: now}
	for i, it := range p.Items {
		pr := products[i]
		if !pr.Found {
			var v errcode.Validation
			v.Add("items", "unknown SKU "+it.SKU)
			e := v.Err().(*errcode.Error)
			return order.Order{}, e.With("sku", it.SKU)
		}
		if !pr.SaleStart.IsZero() && now.Before(pr.SaleStart) {
			return order.Order{}, errcode.Typed(errcode.Conflict, "sale_not_started", "the sale of %s has not started", it.SKU).
				With("sku", it.SKU).With("starts_at", pr.SaleStart)
		}
		if o.Currency != "" && o.Currency != pr.Currency {
			var v errcode.Validation
			v.Add("items", "all items of one order must share a currency")
			return order.Order{}, v.Err()
		}
		o.Currency = pr.Currency
		o.Lines = append(o.Lines, order.Line{SKU: it.SKU, Quantity: it.Quantity, Title: pr.Title, UnitPrice: pr.Price})
		o.Total += pr.Price * it.Quantity
	}
	for i, it := range p.Items {
		if limit := products[i].Limit; limit > 0 && it.Quantity > limit {
			return order.Order{}, OverLimit(it.SKU, limit)
		}
	}
	return o, nil
}

// OverLimit is the refusal of a line that would take a customer past the
// SKU's purchase limit (docs/INVARIANTS.md, I11).
func OverLimit(sku string, limit int64) error {
	return errcode.Typed(errcode.Conflict, "purchase_limit", "at most %d units of %s per customer", limit, sku).
		With("sku", sku).With("limit", limit)
}

// OutOfStock is the refusal of a line the stock cannot cover (I1).
func OutOfStock(sku string) error {
	return errcode.Typed(errcode.Conflict, "out_of_stock", "not enough stock of %s", sku).With("sku", sku)
}
