package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/surge-commerce/surge/internal/event"
)

// unpublished selects the oldest unpublished events, skipping any event
// whose aggregate still has an earlier one unpublished: that keeps each
// order's events in order even with several relays.
//
// On PostgreSQL the candidates come in position order from the partial
// index outbox_pending, and each is checked by itself through the
// aggregate's index: LIMIT 1 OFFSET 0 keeps the check a per-row subplan,
// and coalesce keeps it off the indexes on published_at. Written plainly,
// with statistics that had seen few unpublished rows, the planner checked
// every candidate against every unpublished event: a backlog of 3,000
// took a second a batch. Now it takes about 3 ms with 100,000 waiting.
const unpublished = `SELECT o.seq, o.event_id, o.shop_id, s.slug, o.aggregate, o.aggregate_id, o.event_type, o.payload, o.occurred_at, o.trace_parent
	FROM outbox o JOIN shops s ON s.shop_id = o.shop_id
	WHERE o.published_at IS NULL AND NOT EXISTS (
		SELECT 1 FROM outbox e WHERE e.aggregate_id = o.aggregate_id AND e.seq < o.seq AND coalesce(e.published_at, 0) = 0
		LIMIT 1 OFFSET 0)
	ORDER BY o.seq LIMIT ?`

// RelayOutbox publishes up to limit unpublished events and marks the
// acknowledged ones published, returning how many, along with the
// publish error if the broker acknowledged only part of the batch. On
// PostgreSQL the batch is locked FOR UPDATE SKIP LOCKED for the duration,
// so several relays share the work without publishing an event twice in
// the normal case (broker dedup covers the abnormal one). On SQLite there
// is one relay, and the publish happens outside the write lock so
// checkouts never wait on the broker.
func (s *Store) RelayOutbox(ctx context.Context, limit int, now time.Time, publish event.Publish) (int, error) {
	var acked []string
	var pubErr error
	if !s.dialect.oneWriter {
		err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
			batch, err := s.readOutbox(ctx, tx, s.q(unpublished+" FOR UPDATE OF o SKIP LOCKED"), limit)
			if err != nil || len(batch) == 0 {
				return err
			}
			acked, pubErr = publish(ctx, batch)
			return s.markPublished(ctx, tx, acked, now)
		})
		if err != nil {
			return 0, err
		}
		return len(acked), pubErr
	}
	batch, err := s.readOutbox(ctx, s.read, unpublished, limit)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	if acked, pubErr = publish(ctx, batch); len(acked) == 0 {
		return 0, pubErr
	}
	if err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error { return s.markPublished(ctx, tx, acked, now) }); err != nil {
		return 0, err
	}
	return len(acked), pubErr
}

// NextOutbox returns up to limit unpublished events after position after,
// oldest first, for a relay that is the only one on its outbox (SQLite):
// it keeps each order's events in order by publishing them in position
// order, so it needs neither the per-aggregate check nor row locks, and it
// can read the next batch before the previous one is marked. On SQLite
// positions are handed out by the one writer, so a later commit never
// takes a lower position than an event already read.
func (s *Store) NextOutbox(ctx context.Context, after int64, limit int) ([]event.OutboxEvent, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT o.seq, o.event_id, o.shop_id, s.slug, o.aggregate, o.aggregate_id, o.event_type, o.payload, o.occurred_at, o.trace_parent
		FROM outbox o JOIN shops s ON s.shop_id = o.shop_id
		WHERE o.published_at IS NULL AND o.seq > ? ORDER BY o.seq LIMIT ?`), after, limit)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []event.OutboxEvent
	for rows.Next() {
		var e event.OutboxEvent
		var occurred int64
		var payload string
		if err := rows.Scan(&e.Seq, &e.ID, &e.ShopID, &e.Shop, &e.Aggregate, &e.AggregateID, &e.Type, &payload, &occurred, &e.TraceParent); err != nil {
			return nil, classify(err)
		}
		e.Spec, e.Data, e.OccurredAt = event.Spec, json.RawMessage(payload), fromMicros(occurred)
		out = append(out, e)
	}
	return out, classify(rows.Err())
}

// MarkOutbox marks the events at the given positions published. Marking by
// position looks rows up by primary key, which on SQLite costs half of
// looking them up by event id.
func (s *Store) MarkOutbox(ctx context.Context, seqs []int64, now time.Time) error {
	if len(seqs) == 0 {
		return nil
	}
	args := make([]any, 0, len(seqs)+1)
	args = append(args, micros(now))
	for _, seq := range seqs {
		args = append(args, seq)
	}
	marks := strings.Repeat("?, ", len(seqs)-1) + "?"
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`UPDATE outbox SET published_at = ? WHERE seq IN (`+marks+`)`), args...)
		return err
	})
}

// querier is a pool or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) readOutbox(ctx context.Context, q querier, query string, limit int) ([]event.Envelope, error) {
	rows, err := q.QueryContext(ctx, query, limit)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []event.Envelope
	for rows.Next() {
		var e event.Envelope
		var seq, occurred int64
		var payload string
		if err := rows.Scan(&seq, &e.ID, &e.ShopID, &e.Shop, &e.Aggregate, &e.AggregateID, &e.Type, &payload, &occurred, &e.TraceParent); err != nil {
			return nil, classify(err)
		}
		e.Spec, e.Data, e.OccurredAt = event.Spec, json.RawMessage(payload), fromMicros(occurred)
		out = append(out, e)
	}
	return out, classify(rows.Err())
}

// markPublished marks the events the broker acknowledged.
func (s *Store) markPublished(ctx context.Context, tx *sql.Tx, ids []string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{micros(now)}
	for _, id := range ids {
		args = append(args, id)
	}
	marks := strings.Repeat("?, ", len(ids)-1) + "?"
	_, err := tx.ExecContext(ctx, s.q(`UPDATE outbox SET published_at = ? WHERE event_id IN (`+marks+`)`), args...)
	return err
}

// OutboxLag returns the age of the oldest unpublished event (0 when none)
// and how many are unpublished.
func (s *Store) OutboxLag(ctx context.Context, now time.Time) (time.Duration, int, error) {
	var oldest sql.NullInt64
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT MIN(occurred_at), COUNT(*) FROM outbox WHERE published_at IS NULL`).Scan(&oldest, &n)
	if err != nil || !oldest.Valid {
		return 0, n, classify(err)
	}
	return now.Sub(fromMicros(oldest.Int64)), n, nil
}

// PruneOutbox deletes up to limit events published before t.
func (s *Store) PruneOutbox(ctx context.Context, t time.Time, limit int) (int, error) {
	res, err := s.exec(ctx, s.q(`DELETE FROM outbox WHERE seq IN
		(SELECT seq FROM outbox WHERE published_at < ? ORDER BY seq LIMIT ?)`), micros(t), limit)
	if err != nil {
		return 0, classify(err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// RepublishSince marks events published after t as unpublished again, so
// the relay sends them once more: after an unclean broker start, events
// the broker acknowledged but had not synced may be lost. Broker dedup and
// idempotent consumers absorb the copies that were not lost.
func (s *Store) RepublishSince(ctx context.Context, t time.Time) (int, error) {
	res, err := s.exec(ctx, s.q(`UPDATE outbox SET published_at = NULL WHERE published_at >= ?`), micros(t))
	if err != nil {
		return 0, classify(err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ListenOutbox wakes the relay (a non-blocking send on wake) whenever any
// process commits an outbox row, until ctx ends. PostgreSQL only: it holds
// one dedicated connection for LISTEN; it reconnects after errors.
func ListenOutbox(ctx context.Context, url string, wake chan<- struct{}) {
	for ctx.Err() == nil {
		listenOnce(ctx, url, wake)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second): // reconnect pause
		}
	}
}

func listenOnce(ctx context.Context, url string, wake chan<- struct{}) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conn, err := pgx.Connect(cctx, url)
	cancel()
	if err != nil {
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN surge_outbox"); err != nil {
		return
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}
