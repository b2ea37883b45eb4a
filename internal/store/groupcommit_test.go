package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/surge-commerce/surge/internal/store/sqlite"
	"github.com/surge-commerce/surge/internal/testrig"
	"github.com/surge-commerce/surge/internal/tracing/tracectx"
)

func openWriter(t *testing.T) (*groupWriter, *sql.DB) {
	t.Helper()
	write, read, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "w.db"), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { write.Close(); read.Close() })
	if _, err := write.Exec(`CREATE TABLE rows (id INTEGER PRIMARY KEY, note TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	w := newGroupWriter(write)
	t.Cleanup(w.close)
	return w, read
}

// hold occupies the writer until the returned func is called, so that the
// writes queued meanwhile commit as one group.
func hold(t *testing.T, w *groupWriter) (release func()) {
	started, unblock := make(chan struct{}), make(chan struct{})
	go func() {
		_ = w.run(context.Background(), func(context.Context, *sql.Tx) error {
			close(started)
			<-unblock
			return nil
		})
	}()
	<-started
	return func() { close(unblock) }
}

func waitQueued(t *testing.T, w *groupWriter, n int) {
	t.Helper()
	testrig.Eventually(t, fmt.Sprintf("%d queued writes", n), func() bool { return len(w.queue) >= n })
}

// A write that fails inside a group rolls back to its savepoint: its rows
// are gone, every other write of the group commits.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	w, read := openWriter(t)
	release := hold(t, w)
	errs := make([]error, maxGroup)
	var wg sync.WaitGroup
	for i := range maxGroup {
		wg.Go(func() {
			errs[i] = w.run(t.Context(), func(ctx context.Context, tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO rows (id, note) VALUES (?, 'kept')`, i); err != nil {
					return err
				}
				if i%3 == 0 {
					return fmt.Errorf("write %d refuses", i)
				}
				return nil
			})
		})
		waitQueued(t, w, i+1) // queued in order
	}
	release()
	wg.Wait()
	for i, err := range errs {
		var n int
		if err := read.QueryRow(`SELECT COUNT(*) FROM rows WHERE id = ?`, i).Scan(&n); err != nil {
			t.Fatal(err)
		}
		switch {
		case i%3 == 0 && (err == nil || n != 0):
			t.Errorf("write %d: err %v, %d rows; want its own error and no row", i, err, n)
		case i%3 != 0 && (err != nil || n != 1):
			t.Errorf("write %d: err %v, %d rows; want committed", i, err, n)
		}
	}
}

// A caller that gives up while queued is answered at once, and its write
// never runs.
func TestGroupCommitAbandonedWriteNeverRuns(t *testing.T) {
	w, read := openWriter(t)
	release := hold(t, w)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- w.run(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO rows (id, note) VALUES (1, 'abandoned')`)
			return err
		})
	}()
	waitQueued(t, w, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned write: %v, want context.Canceled", err)
	}
	release()
	// A later write commits; the abandoned one is not in the table.
	if err := w.run(t.Context(), func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO rows (id, note) VALUES (2, 'later')`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := read.QueryRow(`SELECT COUNT(*) FROM rows WHERE id = 1`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("abandoned write ran: %d rows, %v", n, err)
	}
}

// A write that panics fails, and so does the rest of its group (nothing of
// a transaction is trusted after a panic); the writer goes on serving.
func TestGroupCommitSurvivesAPanic(t *testing.T) {
	w, read := openWriter(t)
	release := hold(t, w)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			errs[i] = w.run(t.Context(), func(ctx context.Context, tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO rows (id, note) VALUES (?, 'grouped')`, i); err != nil {
					return err
				}
				if i == 1 {
					panic("a bug in a write")
				}
				return nil
			})
		})
		waitQueued(t, w, i+1)
	}
	release()
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			t.Errorf("write %d of a group with a panic: no error", i)
		}
	}
	if err := w.run(t.Context(), func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO rows (id, note) VALUES (9, 'after')`)
		return err
	}); err != nil {
		t.Fatalf("write after the panic: %v", err)
	}
	var n int
	if err := read.QueryRow(`SELECT COUNT(*) FROM rows`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d rows (%v), want only the write after the panic", n, err)
	}
}

// A write runs with the group's context, yet sees its own caller's trace:
// the outbox rows it writes must name the hop that caused them.
func TestGroupCommitCarriesEachCallersTrace(t *testing.T) {
	w, _ := openWriter(t)
	release := hold(t, w)
	hops := []tracectx.Parent{
		tracectx.Child(tracectx.Parent{}), tracectx.Child(tracectx.Parent{}), {},
	}
	seen := make([]tracectx.Parent, len(hops))
	var wg sync.WaitGroup
	for i, hop := range hops {
		wg.Go(func() {
			err := w.run(tracectx.With(context.Background(), hop), func(ctx context.Context, _ *sql.Tx) error {
				seen[i] = tracectx.From(ctx)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	waitQueued(t, w, len(hops))
	release()
	wg.Wait()
	for i := range hops {
		if seen[i] != hops[i] {
			t.Errorf("write %d saw trace %+v, want its caller's %+v", i, seen[i], hops[i])
		}
	}
}
