package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// settleTimeout bounds how long the system may take, once faults are
// cleared, to finish every payment and publish and consume every event:
// the reservation time-to-live plus generous room on a loaded machine.
const settleTimeout = reservationTTL + 60*time.Second

// order is an order as the shop admin API shows it.
type order struct {
	ID         string    `json:"id"`
	Status     string    `json:"status"`
	Lines      []Line    `json:"lines"`
	CustomerID string    `json:"customer_id"`
	CreatedAt  time.Time `json:"created_at"`
}

// payment is a payment in the provider's ledger.
type payment struct {
	ID                string `json:"id"`
	MerchantReference string `json:"merchant_reference"`
	Amount            int64  `json:"amount"`
	Status            string `json:"status"`
}

// freshKey gets a shop key through the platform admin, whatever became of
// the keys the admin actor rotated.
func (r *runner) freshKey(ctx context.Context) error {
	var rotated struct {
		APIKey string `json:"api_key"`
	}
	rep := r.http.do(ctx, "POST", r.url("/v1/admin/shops/"+shop+"/keys"), adminKey, map[string]int64{"grace_seconds": 3600}, nil)
	if rep.Status/100 != 2 || !rep.decode(&rotated) {
		return fmt.Errorf("rotate shop key as admin: %d %s %v", rep.Status, rep.Body, rep.Err)
	}
	r.mu.Lock()
	r.shopKey = rotated.APIKey
	r.mu.Unlock()
	return nil
}

// orders lists every order of the shop.
func (r *runner) orders(ctx context.Context) ([]order, error) {
	var all []order
	cursor := ""
	for {
		var page struct {
			Items      []order `json:"items"`
			NextCursor string  `json:"next_cursor"`
		}
		rep := r.http.do(ctx, "GET", r.url("/v1/shops/"+shop+"/admin/orders?limit=100&cursor="+url.QueryEscape(cursor)), r.key(), nil, nil)
		if rep.Status != 200 || !rep.decode(&page) {
			return nil, fmt.Errorf("list orders: %d %s %v", rep.Status, rep.Body, rep.Err)
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all, nil
		}
		cursor = page.NextCursor
	}
}

// ledger reads every payment the provider holds.
func (r *runner) ledger(ctx context.Context) ([]payment, error) {
	var all []payment
	after := ""
	for {
		var page struct {
			Data []payment `json:"data"`
			Next string    `json:"next"`
		}
		u := r.c.PSP + "/v1/ledger?limit=1000"
		if after != "" {
			u += "&after=" + after
		}
		rep := r.http.do(ctx, "GET", u, pspAPIKey, nil, nil)
		if rep.Status != 200 || !rep.decode(&page) {
			return nil, fmt.Errorf("ledger: %d %s %v", rep.Status, rep.Body, rep.Err)
		}
		all = append(all, page.Data...)
		if page.Next == "" || len(page.Data) == 0 {
			return all, nil
		}
		after = page.Next
	}
}

// settled reports what, if anything, is still in motion: orders pending
// payment, payments held but not captured, events not yet published or
// not yet consumed, a circuit breaker still open after the faults that
// opened it were cleared.
func (r *runner) settled(ctx context.Context) (string, error) {
	orders, err := r.orders(ctx)
	if err != nil {
		return "", err
	}
	for _, o := range orders {
		if o.Status == "pending_payment" {
			return "order " + o.ID + " is pending_payment", nil
		}
	}
	payments, err := r.ledger(ctx)
	if err != nil {
		return "", err
	}
	for _, p := range payments {
		if p.Status == "authorized" {
			return "payment " + p.ID + " is authorized, neither captured nor voided", nil
		}
	}
	rep := r.http.do(ctx, "GET", r.url("/metrics"), "", nil, nil)
	if rep.Status != 200 {
		return "", fmt.Errorf("metrics: %d %v", rep.Status, rep.Err)
	}
	sc := bufio.NewScanner(bytes.NewReader(rep.Body))
	for sc.Scan() {
		line := sc.Text()
		if (strings.HasPrefix(line, "surge_outbox_lag_seconds ") || strings.HasPrefix(line, "surge_consumer_lag{")) &&
			!strings.HasSuffix(line, " 0") {
			return "events in flight: " + line, nil
		}
		if strings.HasPrefix(line, "surge_breaker_state") && strings.HasSuffix(line, " 2") {
			return "breaker open: " + line, nil
		}
	}
	return "", nil
}

// settle clears the provider's faults and polls until nothing is in
// motion, or reports what still was at the deadline.
func (r *runner) settle(ctx context.Context) error {
	if rep := r.http.do(ctx, "PUT", r.c.PSP+"/v1/faults", pspAPIKey, Faults{}, nil); rep.Status != 200 {
		return fmt.Errorf("clear faults: %d %s %v", rep.Status, rep.Body, rep.Err)
	}
	if err := r.freshKey(ctx); err != nil {
		return err
	}
	deadline := time.Now().Add(settleTimeout)
	for {
		busy, err := r.settled(ctx)
		if err == nil && busy == "" {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return err
			}
			return fmt.Errorf("not settled %s after the schedule: %s", settleTimeout, busy)
		}
		ctxSleep(ctx, 200*time.Millisecond) // polling a condition
	}
}
