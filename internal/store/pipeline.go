package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// dbtx is what one transaction's statements run on: a *sql.Tx, or the
// *sql.Conn of a pipelined transaction on PostgreSQL.
type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// A pipeTx is a write transaction whose statements are queued and sent
// together. On PostgreSQL a flush is one round trip (a pgx batch), and
// BEGIN rides with the first: a checkout's statements then cost three
// round trips instead of one each, which is most of what a checkout costs
// both Surge and the server (ADR 0016). On SQLite, where a statement costs
// no round trip, they run one by one in the writer's transaction.
//
// Results are only known after the flush: callers queue, flush, then read
// what the statements reported.
type pipeTx struct {
	s     *Store
	tx    *sql.Tx   // SQLite
	conn  *sql.Conn // PostgreSQL
	begun bool      // BEGIN was sent (PostgreSQL)
	steps []step
}

// A step is one queued statement. A nil affected, found and each is a
// plain write whose only result is its error.
type step struct {
	query    string
	args     []any
	affected *int64 // rows affected
	found    *bool  // with dest: whether a row came back
	dest     []any
	each     func(scan func(dest ...any) error) error // called per row
}

// exec queues a statement; affected, if not nil, receives its row count.
func (t *pipeTx) exec(affected *int64, query string, args ...any) {
	t.steps = append(t.steps, step{query: t.s.q(query), args: args, affected: affected})
}

// queryRow queues a query of at most one row, scanned into dest; found
// reports whether there was one.
func (t *pipeTx) queryRow(found *bool, query string, args []any, dest ...any) {
	t.steps = append(t.steps, step{query: t.s.q(query), args: args, found: found, dest: dest})
}

// query queues a query whose rows are each handed to each.
func (t *pipeTx) query(each func(scan func(dest ...any) error) error, query string, args ...any) {
	t.steps = append(t.steps, step{query: t.s.q(query), args: args, each: each})
}

// db flushes what is queued and returns the transaction itself, for
// statements whose results decide the next ones.
func (t *pipeTx) db(ctx context.Context) (dbtx, error) {
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	if t.tx != nil {
		return t.tx, nil
	}
	return t.conn, nil
}

// flush runs the queued statements and fills in their results. It stops
// at the first error, which aborts the transaction.
func (t *pipeTx) flush(ctx context.Context) error { return t.send(ctx, false) }

// send flushes, on PostgreSQL with COMMIT as the batch's last statement
// when commit is set: statements whose outcome nobody checks then cost no
// round trip of their own.
func (t *pipeTx) send(ctx context.Context, commit bool) error {
	steps := t.steps
	t.steps = nil
	if t.tx != nil {
		for _, st := range steps {
			if err := runStep(ctx, t.tx, st); err != nil {
				return err
			}
		}
		return nil // s.tx commits
	}
	// With nothing queued: a flush of a begun transaction has nothing to
	// send (one not begun sends BEGIN, so db can hand it out), and a commit
	// of one never begun has nothing to commit.
	if len(steps) == 0 && t.begun != commit {
		return nil
	}
	return t.conn.Raw(func(dc any) error {
		conn := dc.(*stdlib.Conn).Conn()
		b := &pgx.Batch{}
		if !t.begun {
			b.Queue("BEGIN")
		}
		for _, st := range steps {
			b.Queue(st.query, st.args...)
		}
		if commit {
			b.Queue("COMMIT")
		}
		br := conn.SendBatch(ctx, b)
		err := readBatch(br, steps, !t.begun, commit)
		t.begun = true // a ROLLBACK is due unless the COMMIT went through
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		return err
	})
}

func readBatch(br pgx.BatchResults, steps []step, begin, commit bool) error {
	if begin {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	for _, st := range steps {
		if err := readStep(br, st); err != nil {
			return err
		}
	}
	if !commit {
		return nil
	}
	tag, err := br.Exec()
	if err == nil && tag.String() == "ROLLBACK" {
		err = errors.New("store: the transaction was rolled back instead of committed")
	}
	return err
}

func readStep(br pgx.BatchResults, st step) error {
	switch {
	case st.each != nil:
		rows, err := br.Query()
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := st.each(rows.Scan); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		return rows.Err()
	case st.dest != nil:
		err := br.QueryRow().Scan(st.dest...)
		*st.found = err == nil
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		return nil
	default:
		tag, err := br.Exec()
		if err != nil {
			return err
		}
		if st.affected != nil {
			*st.affected = tag.RowsAffected()
		}
		return nil
	}
}

// runStep runs one step on a transaction, one round trip at a time.
func runStep(ctx context.Context, db dbtx, st step) error {
	switch {
	case st.each != nil:
		rows, err := db.QueryContext(ctx, st.query, st.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := st.each(rows.Scan); err != nil {
				return err
			}
		}
		return rows.Err()
	case st.dest != nil:
		err := db.QueryRowContext(ctx, st.query, st.args...).Scan(st.dest...)
		*st.found = err == nil
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		return nil
	default:
		res, err := db.ExecContext(ctx, st.query, st.args...)
		if err != nil {
			return err
		}
		if st.affected != nil {
			*st.affected, _ = res.RowsAffected()
		}
		return nil
	}
}

// pipelined runs fn in one write transaction of queued statements,
// committing when fn returns nil. What fn left queued goes out with the
// COMMIT, in one round trip on PostgreSQL.
func (s *Store) pipelined(ctx context.Context, fn func(context.Context, *pipeTx) error) error {
	if !s.dialect.pipelines {
		return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
			t := &pipeTx{s: s, tx: tx}
			if err := fn(ctx, t); err != nil {
				return err
			}
			return t.flush(ctx)
		})
	}
	return s.guard(ctx, func(ctx context.Context) error {
		return classifyTx(ctx, s.runPipelined(ctx, fn))
	})
}

func (s *Store) runPipelined(ctx context.Context, fn func(context.Context, *pipeTx) error) error {
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	t := &pipeTx{s: s, conn: conn}
	err = fn(ctx, t)
	if err == nil {
		if err = t.send(ctx, true); err == nil {
			return nil
		}
	}
	if t.begun {
		// The caller's context may be what failed: roll back on one of our
		// own. Should that fail too, pgx's driver discards a connection
		// handed back with a transaction open, at the cost of a reconnect.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		if _, rerr := conn.ExecContext(rctx, "ROLLBACK"); rerr != nil {
			return fmt.Errorf("%w (and the rollback failed: %v)", err, rerr)
		}
	}
	return err
}
