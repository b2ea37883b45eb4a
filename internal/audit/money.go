package audit

import (
	"context"
	"fmt"
	"time"
)

// checkMoney compares the orders with the provider's ledger: never double
// charge (docs/INVARIANTS.md, I2), money matches state (I9), and no order
// waits past its charge budget with nothing at the provider (I9).
//
// On a live system both move while they are read, so each direction uses
// the read that cannot race: an order paid in the snapshot, read before
// the ledger, has its capture in it (captures precede "paid"); a payment
// in the ledger has its order committed before the second read of orders
// (orders precede their charge).
func checkMoney(ctx context.Context, st Store, ledger Ledger, snap Snapshot, budgetCutoff time.Time) ([]Check, error) {
	byOrder := map[string][]Charge{}
	payments := 0
	for ch, err := range ledger(ctx) {
		if err != nil {
			return nil, fmt.Errorf("audit: reading the provider ledger: %w", err)
		}
		payments++
		byOrder[ch.OrderID] = append(byOrder[ch.OrderID], ch)
	}
	after, err := st.AuditOrders(ctx)
	if err != nil {
		return nil, err
	}
	double := newTally("never double charge", "I2")
	money := newTally("money matches state", "I9")
	for id, charges := range byOrder {
		o, ok := after[id]
		kept := 0
		for _, ch := range charges {
			switch {
			case !ok:
				double.breach("payment %s (%s) for unknown order %s", ch.ID, ch.Status, id)
			case ch.Status == "captured":
				kept++
				if o.Status != "pending_payment" && o.Status != "paid" && o.Status != "fulfilled" {
					double.breach("capture %s kept for order %s which is %s", ch.ID, id, o.Status)
				}
				if ch.Amount != o.Total || ch.Currency != o.Currency {
					money.breach("capture %s of %d %s for order %s totalling %d %s", ch.ID, ch.Amount, ch.Currency, id, o.Total, o.Currency)
				}
			case (ch.Status == "refunded" || ch.Status == "declined") && (o.Status == "paid" || o.Status == "fulfilled"):
				money.breach("payment %s is %s but order %s is %s", ch.ID, ch.Status, id, o.Status)
			}
		}
		if kept > 1 {
			double.breach("order %s has %d captures kept", id, kept)
		}
	}
	paid := 0
	for _, o := range snap.Orders {
		if o.Status != "paid" && o.Status != "fulfilled" {
			continue
		}
		paid++
		if !hasCapture(byOrder[o.ID]) && after[o.ID].Status != "refunded" {
			double.breach("order %s is %s but the provider kept no capture", o.ID, o.Status)
		}
	}
	pending := newTally("no order waits without a provider record", "I9")
	waiting := 0
	for _, o := range snap.Orders {
		if o.Status != "pending_payment" || !o.CreatedAt.Before(budgetCutoff) {
			continue
		}
		waiting++
		if len(byOrder[o.ID]) == 0 {
			pending.breach("order %s has been pending since %s, past its charge budget, and the provider has no payment for it",
				o.ID, o.CreatedAt.UTC().Format(time.RFC3339))
		}
	}
	refunds := checkRefunds(snap.Refunds, byOrder)
	return []Check{
		double.done("%d payment(s) in the ledger, %d paid order(s)", payments, paid),
		money.done("%d order(s) with payments checked", len(byOrder)),
		pending.done("%d order(s) pending past their charge budget", waiting),
		refunds,
	}, nil
}

// checkRefunds judges money owed back (docs/INVARIANTS.md, I9): once the
// audit has settled, every refund Surge decided is confirmed, and every
// refund recorded as confirmed is refunded or voided at the provider.
func checkRefunds(refunds []Refund, byOrder map[string][]Charge) Check {
	t := newTally("money owed back is refunded", "I9")
	confirmed := 0
	for _, r := range refunds {
		if !r.Confirmed {
			t.breach("refund of %s (order %s) owed since %s, not confirmed by the provider",
				r.PaymentRef, r.OrderID, r.CreatedAt.UTC().Format(time.RFC3339))
			continue
		}
		confirmed++
		for _, ch := range byOrder[r.OrderID] {
			if ch.ID == r.PaymentRef && ch.Status != "refunded" && ch.Status != "voided" {
				t.breach("refund of %s (order %s) recorded as confirmed, but the provider shows it %s", r.PaymentRef, r.OrderID, ch.Status)
			}
		}
	}
	return t.done("%d refund(s) owed, %d confirmed", len(refunds), confirmed)
}

func hasCapture(charges []Charge) bool {
	for _, ch := range charges {
		if ch.Status == "captured" {
			return true
		}
	}
	return false
}
