// Package audit judges Surge's invariants (docs/INVARIANTS.md) against a
// live or stopped store and the payment provider's ledger, and reports
// every breach.
//
// An audit first settles: it waits, up to a bound, until the outbox has
// published every event and every consumer has applied every event it
// subscribes to, and until the orders whose charge may still be running
// have an outcome. Then it judges every order, with no age window, as of
// the instant the drain completed (the cutoff). An audit whose drain did
// not complete fails, saying what was still in flight.
//
// It only reads, so it is safe to run against a live system. It must never
// import a driver or a transport.
package audit

import (
	"context"
	"fmt"
	"iter"
	"time"
)

// Store is what the audit reads.
type Store interface {
	// AuditInFlight counts the work still moving at q.At.
	AuditInFlight(ctx context.Context, q InFlightQuery) (InFlight, error)
	// AuditSnapshot reads, in one consistent read, what the checks judge.
	AuditSnapshot(ctx context.Context, q SnapshotQuery) (Snapshot, error)
	// AuditOrders returns every order's status and money, by order id.
	AuditOrders(ctx context.Context) (map[string]OrderRow, error)
}

// OrderRow is what the provider's ledger is compared with.
type OrderRow struct {
	ID, Status, Currency string
	Total                int64
}

// Charge is one payment in the provider's ledger.
type Charge struct {
	ID, OrderID, Status, Currency string
	Amount                        int64
}

// Ledger iterates the provider's payments.
type Ledger func(ctx context.Context) iter.Seq2[Charge, error]

// DeadLetter is an event a consumer gave up on.
type DeadLetter struct {
	Consumer, EventID, Error string
}

// DeadLetters lists the dead letters; it is nil where the broker cannot be
// asked.
type DeadLetters func(ctx context.Context) ([]DeadLetter, error)

// Options say how to settle and what the system was configured with.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Settle bounds the wait for in-flight work; zero judges at once.
	Settle time.Duration
	// Poll is the pause between looks while settling; 200ms when zero.
	Poll time.Duration
	// Grace is the sweeper's slack: how long past its expiry a reservation
	// may still be held, and how long past the charge budget an order may
	// wait for the reconciler.
	Grace time.Duration
	// ChargeBudget is how long a checkout's charge may run.
	ChargeBudget time.Duration
	// IdempotencyTTL is how long a key is remembered.
	IdempotencyTTL time.Duration
	// Consumers maps each consumer to the event types it applies.
	Consumers map[string][]string
	// DeadLetters, when set, reads the dead-letter stream.
	DeadLetters DeadLetters
}

// Check is the result of one invariant check.
type Check struct {
	Name      string   `json:"name"`
	Invariant string   `json:"invariant,omitempty"`
	Passed    bool     `json:"passed"`
	Summary   string   `json:"summary"`
	Breaches  []string `json:"breaches,omitempty"`
}

// Report is a whole audit.
type Report struct {
	Passed bool      `json:"passed"`
	At     time.Time `json:"at"`
	// Cutoff is the instant judged: everything that happened before it
	// must have settled.
	Cutoff time.Time `json:"cutoff"`
	// Settled says whether the drain completed within SettleLimit.
	Settled     bool    `json:"settled"`
	SettleLimit string  `json:"settle"`
	Checks      []Check `json:"checks"`
}

// maxListed bounds the breaches listed per check; the count is exact.
const maxListed = 20

// Run settles, then performs every check.
func Run(ctx context.Context, st Store, ledger Ledger, opts Options) (Report, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Poll <= 0 {
		opts.Poll = 200 * time.Millisecond
	}
	r := Report{At: opts.Now(), SettleLimit: opts.Settle.String()}
	cutoff, left, err := drain(ctx, st, opts)
	if err != nil {
		return r, err
	}
	r.Cutoff, r.Settled = cutoff, left.empty()
	snap, err := st.AuditSnapshot(ctx, SnapshotQuery{
		Cutoff: cutoff, HoldsExpiredBefore: cutoff.Add(-opts.Grace), KeyTTL: opts.IdempotencyTTL,
	})
	if err != nil {
		return r, err
	}
	money, err := checkMoney(ctx, st, ledger, snap, cutoff.Add(-opts.ChargeBudget))
	if err != nil {
		return r, err
	}
	dead := checkDeadLetters(ctx, opts.DeadLetters)
	r.Checks = append([]Check{checkDrained(left, opts.Settle)}, checkStock(snap), checkLedger(snap), checkHolds(snap, opts.Grace),
		checkReservations(snap), checkTotals(snap))
	r.Checks = append(r.Checks, money...)
	r.Checks = append(r.Checks, checkLimits(snap), checkResponses(snap), checkKeys(snap, opts.IdempotencyTTL),
		dead, checkEffects(snap, cutoff), checkAnalytics(snap, cutoff), checkSales(snap))
	r.Passed = true
	for _, c := range r.Checks {
		r.Passed = r.Passed && c.Passed
	}
	return r, nil
}

// tally collects one check's breaches, listing the first maxListed.
type tally struct {
	c Check
	n int
}

func newTally(name, invariant string) *tally {
	return &tally{c: Check{Name: name, Invariant: invariant, Passed: true}}
}

func (t *tally) breach(format string, args ...any) {
	t.n++
	t.c.Passed = false
	if len(t.c.Breaches) < maxListed {
		t.c.Breaches = append(t.c.Breaches, fmt.Sprintf(format, args...))
	}
}

func (t *tally) done(format string, args ...any) Check {
	t.c.Summary = fmt.Sprintf(format, args...)
	if t.n > 0 {
		t.c.Summary += fmt.Sprintf("; %d breach(es)", t.n)
	}
	return t.c
}
