package audit

import (
	"context"
	"sort"
	"strings"
	"time"
)

// InFlightQuery asks what is still moving.
type InFlightQuery struct {
	// At: only events that occurred, and orders created, by then count.
	At time.Time
	// PendingSince: orders still pending count only if created after it
	// (older ones are the reconciler's, judged by the money checks).
	PendingSince time.Time
	// Consumers maps each consumer to the event types it applies.
	Consumers map[string][]string
	// Limit bounds the unapplied events listed per consumer.
	Limit int
}

// InFlight is work not yet settled.
type InFlight struct {
	Unpublished   int64 // events committed but not published
	PendingOrders int64 // orders whose charge may still be running
	OwedRefunds   int64 // refunds decided and not yet confirmed by the provider
	// Unapplied lists, per consumer, published events it subscribes to and
	// has not applied (at most Limit each).
	Unapplied map[string][]string
}

func (f InFlight) empty() bool {
	n := 0
	for _, ids := range f.Unapplied {
		n += len(ids)
	}
	return f.Unpublished == 0 && f.PendingOrders == 0 && f.OwedRefunds == 0 && n == 0
}

// drain waits, up to opts.Settle, for in-flight work to settle, and returns
// the cutoff it settled at and what was still in flight then. Orders whose
// charge may still be running settle first, since their outcome writes the
// events the rest of the drain waits for.
func drain(ctx context.Context, st Store, opts Options) (time.Time, InFlight, error) {
	deadline := opts.Now().Add(opts.Settle)
	look := func(at time.Time) (InFlight, error) {
		f, err := st.AuditInFlight(ctx, InFlightQuery{
			At: at, PendingSince: opts.Now().Add(-opts.ChargeBudget - opts.Grace), Consumers: opts.Consumers, Limit: 1000,
		})
		if err != nil || len(f.Unapplied) == 0 || opts.DeadLetters == nil {
			return f, err
		}
		// Dead letters are reported by their own check, not waited for.
		dead, err := opts.DeadLetters(ctx)
		if err != nil {
			return f, nil
		}
		for _, d := range dead {
			ids := f.Unapplied[d.Consumer]
			for i, id := range ids {
				if id == d.EventID {
					f.Unapplied[d.Consumer] = append(ids[:i], ids[i+1:]...)
					break
				}
			}
		}
		return f, nil
	}
	wait := func() error {
		t := time.NewTimer(opts.Poll)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	start := opts.Now()
	for {
		f, err := look(start)
		if err != nil {
			return start, f, err
		}
		if f.PendingOrders == 0 || !opts.Now().Before(deadline) {
			break
		}
		if err := wait(); err != nil {
			return start, f, err
		}
	}
	cutoff := opts.Now()
	for {
		f, err := look(cutoff)
		if err != nil || f.empty() || !opts.Now().Before(deadline) {
			return cutoff, f, err
		}
		if err := wait(); err != nil {
			return cutoff, f, err
		}
	}
}

// checkDrained fails an audit whose drain did not complete, naming what
// was still in flight (docs/INVARIANTS.md, I5).
func checkDrained(f InFlight, settle time.Duration) Check {
	t := newTally("every event published and applied", "I5")
	if f.Unpublished > 0 {
		t.breach("%d committed event(s) not published", f.Unpublished)
	}
	if f.PendingOrders > 0 {
		t.breach("%d order(s) still waiting for their charge", f.PendingOrders)
	}
	consumers := make([]string, 0, len(f.Unapplied))
	for c := range f.Unapplied {
		consumers = append(consumers, c)
	}
	sort.Strings(consumers)
	for _, c := range consumers {
		if ids := f.Unapplied[c]; len(ids) > 0 {
			t.breach("consumer %s has not applied %d event(s): %s", c, len(ids), strings.Join(ids[:min(len(ids), 5)], ", "))
		}
	}
	if t.n == 0 {
		return t.done("nothing in flight at the cutoff")
	}
	return t.done("still in flight after settling for %s", settle)
}

// checkDeadLetters reports every event a consumer gave up on.
func checkDeadLetters(ctx context.Context, read DeadLetters) Check {
	t := newTally("no dead letters", "I5")
	if read == nil {
		return t.done("the broker was not reachable: dead letters not seen (an unapplied event still fails the drain)")
	}
	dead, err := read(ctx)
	if err != nil {
		return t.done("the broker did not answer (%v): dead letters not seen (an unapplied event still fails the drain)", err)
	}
	for _, d := range dead {
		t.breach("consumer %s gave up on event %s: %s", d.Consumer, d.EventID, d.Error)
	}
	return t.done("%d dead letter(s)", len(dead))
}
