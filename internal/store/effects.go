package store

import (
	"context"
	"strings"
	"time"

	"github.com/surge-commerce/surge/internal/analytics"
	"github.com/surge-commerce/surge/internal/invoice"
	"github.com/surge-commerce/surge/internal/notify"
	"github.com/surge-commerce/surge/internal/recommend"
)

// The consumers' effects. Each consumer applies a batch of events in one
// transaction, recording each event id in consumed_events in the same
// transaction as its effect: a redelivered event then changes nothing.
var (
	_ notify.Store    = (*Store)(nil)
	_ invoice.Store   = (*Store)(nil)
	_ analytics.Store = (*Store)(nil)
	_ recommend.Store = (*Store)(nil)
)

// claimed is an event a consumer records as applied, and its shop.
type claimed struct {
	eventID string
	shopID  int64
}

// claimNew queues one statement recording that consumer applied the
// events of items. After the next flush, fresh returns the items whose
// events it had not applied before, in their order, each event once.
func claimNew[T any](t *pipeTx, consumer string, items []T, event func(T) claimed, now time.Time) (fresh func() []T) {
	if len(items) == 0 {
		return func() []T { return nil }
	}
	query := `INSERT INTO consumed_events (consumer, event_id, shop_id, consumed_at) VALUES `
	args := make([]any, 0, 4*len(items))
	for i, it := range items {
		e := event(it)
		query += valuesRow(i, 4)
		args = append(args, consumer, e.eventID, e.shopID, micros(now))
	}
	ids := map[string]bool{}
	t.query(func(scan func(...any) error) error {
		var id string
		err := scan(&id)
		ids[id] = true
		return err
	}, query+` ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id`, args...)
	return func() []T {
		var out []T
		for _, it := range items {
			if id := event(it).eventID; ids[id] {
				delete(ids, id) // the same event twice in one batch counts once
				out = append(out, it)
			}
		}
		return out
	}
}

// claimNow is claimNew flushed at once, for a consumer with nothing else
// to ask in the same round trip.
func claimNow[T any](ctx context.Context, t *pipeTx, consumer string, items []T, event func(T) claimed, now time.Time) ([]T, error) {
	fresh := claimNew(t, consumer, items, event, now)
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	return fresh(), nil
}

// valuesRow returns the i-th row of a multi-row VALUES list of n columns.
func valuesRow(i, n int) string {
	row := "(?" + strings.Repeat(", ?", n-1) + ")"
	if i > 0 {
		return ", " + row
	}
	return row
}
