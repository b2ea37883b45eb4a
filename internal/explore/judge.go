package explore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/surge-commerce/surge/internal/audit"
	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/order"
)

// Breach is one invariant a run broke.
type Breach struct {
	Check  string
	Detail string
}

func (b Breach) String() string { return b.Check + ": " + b.Detail }

// drain settles everything the schedule left in flight, the same way every
// time: the provider answers again, and the clock moves past every
// reservation and every owed refund's backoff while the reconciler runs,
// until a round finds nothing left.
func (w *world) drain(ctx context.Context) error {
	w.provider.down.Store(false)
	for range 10 {
		w.clock.Advance(w.sched.ReservationTTL + chargeBudget + 10*time.Second)
		owed, err := w.st.OwedRefunds(ctx)
		if err != nil {
			return err
		}
		for _, r := range owed {
			if wait := r.NextAttemptAt.Sub(w.clock.Now()); wait > 0 {
				w.clock.Advance(wait)
			}
		}
		// The sweeper's ledger round: captures no paid order keeps are owed
		// back (docs/INVARIANTS.md, I2).
		if _, err := w.checkout.SweepLedger(ctx, w.payments); err != nil {
			return err
		}
		n, err := w.checkout.Reconcile(ctx)
		if err != nil {
			return err
		}
		pending, err := w.st.Orders(ctx, w.shop.ID, order.Filter{Status: order.PendingPayment, Limit: 1})
		if err != nil {
			return err
		}
		owed, err = w.st.OwedRefunds(ctx)
		if err != nil {
			return err
		}
		if n == 0 && len(pending) == 0 && len(owed) == 0 {
			return nil
		}
	}
	return nil
}

// eventInvariant is the invariant whose checks are left out of the
// verdict: no relay or workers run at this level, so events are never
// published (the end-to-end level judges them).
const eventInvariant = "I5"

// audit runs the real audit once, after the drain, and returns its
// breaches. It is the one place to change when the audit's call changes.
func (w *world) audit(ctx context.Context) ([]Breach, error) {
	rep, err := audit.Run(ctx, w.st, w.client.AuditLedger(), audit.Options{
		Now: w.clock.Now, ChargeBudget: chargeBudget, IdempotencyTTL: w.sched.KeyTTL,
	})
	if err != nil {
		return nil, err
	}
	var out []Breach
	for _, c := range rep.Checks {
		if c.Passed || c.Invariant == eventInvariant {
			continue
		}
		out = append(out, Breach{"audit: " + c.Name, c.Summary + detail(c.Breaches)})
	}
	return out, nil
}

func detail(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return " (" + strings.Join(lines, "; ") + ")"
}

// judge checks what the clients were told against the store and the
// provider's ledger (docs/INVARIANTS.md, I1-I4, I9-I11).
func (w *world) judge(ctx context.Context) ([]Breach, error) {
	kept := map[string]int{}
	for p, err := range w.client.Ledger(ctx) {
		if err != nil {
			return nil, err
		}
		if p.Status == "captured" {
			kept[p.MerchantReference]++
		}
	}
	var out []Breach
	add := func(check, format string, args ...any) {
		out = append(out, Breach{check, fmt.Sprintf(format, args...)})
	}
	r := w.rec
	for _, a := range r.attempts {
		switch a.result {
		case checkout.OutcomeCreated, checkout.OutcomeAccepted:
			o, err := w.st.Order(ctx, a.orderID)
			if errcode.Is(err, errcode.NotFound) {
				add("acknowledged order exists (I3)", "step %d: %s for order %s, which the store does not have", a.step, a.result, a.orderID)
				continue
			}
			if err != nil {
				return nil, err
			}
			if a.result == checkout.OutcomeCreated && o.Status != order.Paid && o.Status != order.Fulfilled && o.Status != order.Refunded {
				add("paid means paid (I9)", "step %d: 201 for order %s, which ended %s", a.step, a.orderID, o.Status)
			}
			if _, refused := w.refused.Load(a.orderID); refused && a.result == checkout.OutcomeAccepted {
				add("a refusal is not unknown (I9)", "step %d: the provider refused order %s's charge outright (4xx), the client was told 202", a.step, a.orderID)
			}
		case checkout.OutcomeDeclined:
			if kept[a.orderID] > 0 {
				add("declined keeps no money (I9)", "step %d: 402 for order %s, whose capture the provider kept", a.step, a.orderID)
			}
		}
		if a.typ == "out_of_stock" {
			if b, ok := r.falseOutOfStock(a); ok {
				out = append(out, b)
			}
		}
	}
	out = append(out, r.keyBreaches()...)
	out = append(out, r.adminBreaches()...)
	stock, err := w.stockBreaches(ctx)
	if err != nil {
		return nil, err
	}
	out = append(out, stock...)
	limits, err := w.limitBreaches(ctx)
	if err != nil {
		return nil, err
	}
	return append(out, limits...), nil
}
