package loadtest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// verify checks what the sale sold against what the buyers were told:
// every paying buyer holds one unit, no unit is sold twice or beyond the
// stock, and no buyer has two charged orders.
func (f *flashSale) verify(ctx context.Context, e *env) ([]Check, *FlashResult, error) {
	f.mu.Lock()
	b := f.buyers
	f.mu.Unlock()
	inv, err := f.settled(ctx, e)
	if err != nil {
		return nil, nil, err
	}
	perCustomer, err := chargedOrders(ctx, e)
	if err != nil {
		return nil, nil, err
	}
	res := &FlashResult{Stock: e.cfg.Stock, Sold: inv.Sold, Buyers: b}
	want := min(e.cfg.Stock, b.Paid)
	sold := Check{Name: "flash-sale: sold == min(stock, successful buyers)",
		Passed:  inv.Sold == want && b.Paid <= e.cfg.Stock,
		Summary: fmt.Sprintf("sold %d, stock %d, buyers who paid %d (of %d)", inv.Sold, e.cfg.Stock, b.Paid, b.Total)}
	if !sold.Passed {
		sold.Breaches = []string{fmt.Sprintf("sold %d but %d buyer(s) were told they paid (stock %d)", inv.Sold, b.Paid, e.cfg.Stock)}
	}
	twice := Check{Name: "flash-sale: no buyer charged twice", Passed: b.TwoOrders == 0,
		Summary: fmt.Sprintf("%d customer(s) with a charged order", len(perCustomer))}
	for cust, n := range perCustomer {
		if n > 1 {
			twice.Passed = false
			twice.Breaches = append(twice.Breaches, fmt.Sprintf("customer %s has %d charged orders", cust, n))
		}
	}
	if b.TwoOrders > 0 {
		twice.Breaches = append(twice.Breaches, fmt.Sprintf("%d buyer(s) were shown two orders for one key", b.TwoOrders))
	}
	return []Check{sold, twice}, res, nil
}

type inventory struct {
	Available int64 `json:"available"`
	Reserved  int64 `json:"reserved"`
	Sold      int64 `json:"sold"`
}

// settled waits (bounded) until no unit is reserved: pending payments
// have been finished by the sweeper, so sold is final.
func (f *flashSale) settled(ctx context.Context, e *env) (inventory, error) {
	deadline := time.Now().Add(e.cfg.AuditWait)
	for {
		var inv inventory
		err := e.setupCall(ctx, http.StatusOK, "GET", "/v1/shops/"+e.shop+"/admin/inventory/"+flashSKU, e.shopKey, nil, &inv)
		if err != nil || inv.Reserved == 0 || time.Now().After(deadline) {
			return inv, err
		}
		if !sleep(ctx, 500*time.Millisecond) {
			return inv, ctx.Err()
		}
	}
}

// chargedOrders counts, per customer, the shop's orders that took money.
func chargedOrders(ctx context.Context, e *env) (map[string]int, error) {
	out := map[string]int{}
	cursor := ""
	for {
		var page struct {
			Items []struct {
				CustomerID string `json:"customer_id"`
				Status     string `json:"status"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		path := "/v1/shops/" + e.shop + "/admin/orders?limit=100"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		if err := e.setupCall(ctx, http.StatusOK, "GET", path, e.shopKey, nil, &page); err != nil {
			return nil, err
		}
		for _, o := range page.Items {
			switch o.Status {
			case "paid", "fulfilled", "refunded":
				out[o.CustomerID]++
			}
		}
		if page.NextCursor == "" || len(page.Items) == 0 {
			return out, nil
		}
		cursor = page.NextCursor
	}
}
