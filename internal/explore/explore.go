package explore

import (
	"context"
	"fmt"

	"github.com/surge-commerce/surge/internal/store"
)

// Run plays a schedule against st, a migrated and empty store, settles
// what is left in flight, and returns every breach the model and the audit
// find. An error means the run could not be judged, not that it broke an
// invariant.
func Run(ctx context.Context, st *store.Store, sched Schedule) ([]Breach, error) {
	w, stop, err := newWorld(ctx, st, sched)
	if err != nil {
		return nil, fmt.Errorf("explore: setting up: %w", err)
	}
	defer stop()
	w.run(ctx)
	if err := w.drain(ctx); err != nil {
		return nil, fmt.Errorf("explore: draining: %w", err)
	}
	model, err := w.judge(ctx)
	if err != nil {
		return nil, fmt.Errorf("explore: judging: %w", err)
	}
	audited, err := w.audit(ctx)
	if err != nil {
		return nil, fmt.Errorf("explore: auditing: %w", err)
	}
	return append(model, audited...), nil
}

// Replay is the one-line command that runs a seed again.
func Replay(seed uint64, engine string) string {
	return fmt.Sprintf("scripts/test.sh -run TestExplore ./internal/explore -args -seed=%d -engine=%s", seed, engine)
}
