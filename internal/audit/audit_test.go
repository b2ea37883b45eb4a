package audit

import (
	"context"
	"errors"
	"iter"
	"strings"
	"sync"
	"testing"
	"time"
)

// inFlight is a Store whose in-flight work is scripted look by look; the
// checks themselves are tested on real stores in internal/store.
type inFlight struct {
	mu     sync.Mutex
	looks  []InFlight // one per look; the last repeats
	seen   []InFlightQuery
	snapAt time.Time
	err    error
}

func (f *inFlight) AuditInFlight(_ context.Context, q InFlightQuery) (InFlight, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = append(f.seen, q)
	i := min(len(f.seen), len(f.looks)) - 1
	out := f.looks[i]
	unapplied := map[string][]string{}
	for c, ids := range out.Unapplied {
		unapplied[c] = append([]string(nil), ids...)
	}
	out.Unapplied = unapplied
	return out, f.err
}

func (f *inFlight) AuditSnapshot(_ context.Context, q SnapshotQuery) (Snapshot, error) {
	f.snapAt = q.Cutoff
	return Snapshot{}, nil
}

func (f *inFlight) AuditOrders(context.Context) (map[string]OrderRow, error) {
	return map[string]OrderRow{}, nil
}

func noLedger(context.Context) iter.Seq2[Charge, error] {
	return func(func(Charge, error) bool) {}
}

func run(t *testing.T, st *inFlight, opts Options) Report {
	t.Helper()
	opts.Poll = time.Millisecond
	r, err := Run(context.Background(), st, noLedger, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func drained(r Report) Check {
	for _, c := range r.Checks {
		if c.Name == "every event published and applied" {
			return c
		}
	}
	return Check{}
}

func TestSettleWaitsForWorkInFlight(t *testing.T) {
	t.Parallel()
	st := &inFlight{looks: []InFlight{
		{PendingOrders: 1}, {PendingOrders: 1}, {}, // charges settle first
		{Unpublished: 2}, {Unapplied: map[string][]string{"invoice": {"evt_1"}}}, {},
	}}
	r := run(t, st, Options{Settle: time.Minute})
	if !r.Passed || !r.Settled {
		t.Fatalf("work that drained within settle failed the audit: %+v", r)
	}
	if len(st.seen) != 6 || !st.snapAt.Equal(r.Cutoff) || st.seen[5].At != r.Cutoff {
		t.Fatalf("%d looks, snapshot at %v, cutoff %v", len(st.seen), st.snapAt, r.Cutoff)
	}
	if !st.seen[0].At.Before(r.Cutoff) {
		t.Fatal("the cutoff was not taken after the charges settled")
	}
}

func TestWorkStillInFlightFailsTheAudit(t *testing.T) {
	t.Parallel()
	st := &inFlight{looks: []InFlight{{Unpublished: 3, Unapplied: map[string][]string{"notify": {"evt_9"}}}}}
	for _, settle := range []time.Duration{0, 20 * time.Millisecond} {
		r := run(t, st, Options{Settle: settle})
		c := drained(r)
		text := strings.Join(c.Breaches, "\n")
		if r.Passed || r.Settled || c.Passed || !strings.Contains(text, "3 committed event(s) not published") ||
			!strings.Contains(text, "consumer notify has not applied 1 event(s): evt_9") {
			t.Fatalf("settle %s: passed %v, settled %v, drain check %+v", settle, r.Passed, r.Settled, c)
		}
	}
}

// A dead-lettered event is not waited for: its own check reports it.
func TestDeadLettersAreReportedNotAwaited(t *testing.T) {
	t.Parallel()
	st := &inFlight{looks: []InFlight{{Unapplied: map[string][]string{"invoice": {"evt_dead"}}}}}
	dead := []DeadLetter{{Consumer: "invoice", EventID: "evt_dead", Error: "boom"}}
	r := run(t, st, Options{Settle: time.Minute, DeadLetters: func(context.Context) ([]DeadLetter, error) { return dead, nil }})
	if !r.Settled || r.Passed {
		t.Fatalf("settled %v, passed %v; want settled and failed", r.Settled, r.Passed)
	}
	for _, c := range r.Checks {
		if c.Passed != (c.Name != "no dead letters") {
			t.Errorf("check %q passed=%v: %+v", c.Name, c.Passed, c)
		}
	}
}

func TestUnseenDeadLettersAreSaidSo(t *testing.T) {
	t.Parallel()
	r := run(t, &inFlight{looks: []InFlight{{}}}, Options{})
	for _, c := range r.Checks {
		if c.Name == "no dead letters" && (!c.Passed || !strings.Contains(c.Summary, "not seen")) {
			t.Fatalf("dead letters with no broker: %+v", c)
		}
	}
	if !r.Passed {
		t.Fatalf("an empty system failed: %+v", r)
	}
}

func TestErrorsAreReturned(t *testing.T) {
	t.Parallel()
	st := &inFlight{looks: []InFlight{{}}, err: errors.New("db down")}
	if _, err := Run(context.Background(), st, noLedger, Options{}); err == nil {
		t.Fatal("a store error was not returned")
	}
	bad := func(context.Context) iter.Seq2[Charge, error] {
		return func(yield func(Charge, error) bool) { yield(Charge{}, errors.New("provider down")) }
	}
	st.err = nil
	if _, err := Run(context.Background(), st, bad, Options{}); err == nil || !strings.Contains(err.Error(), "provider ledger") {
		t.Fatalf("a ledger error: %v", err)
	}
}
