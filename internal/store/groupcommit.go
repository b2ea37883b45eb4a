package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/tracing/tracectx"
)

// groupWriter is SQLite's one writer. Writes wait in one queue, first come
// first served, and the writer commits them in groups: one transaction,
// each write inside its own savepoint, one disk flush for all. A write
// that fails rolls back to its savepoint and takes nobody else with it;
// nobody is answered before the commit is on disk.
//
// On one connection database/sql hands the connection to a random waiter,
// which stretched the tail, and each write flushed the disk on its own,
// which halved the capacity (ADR 0013).
type groupWriter struct {
	db    *sql.DB
	queue chan *write
	waits *prometheus.HistogramVec
	// commits times each group from BEGIN to the end of COMMIT, disk flush
	// and any checkpoint included: the writer's stalls show here.
	commits prometheus.Histogram
	// leastWait is the shortest wait since WriterQueueDelay last looked, in
	// nanoseconds (-1: nobody waited).
	leastWait atomic.Int64
	stop      chan struct{}
	done      chan struct{}
	closer    sync.Once
}

type write struct {
	fn     func(context.Context, *sql.Tx) error
	lane   string
	queued time.Time
	done   chan error
	// state moves from queued to taken (by the writer) or abandoned (by a
	// caller out of time) exactly once: a taken write may commit, so its
	// caller waits for the outcome.
	state atomic.Int32
}

const (
	queued int32 = iota
	taken
	abandoned
)

// maxGroup bounds the writes of one commit: a longer group holds the
// writer longer for the writes that arrive meanwhile. The four consumers
// run up to 32 effects at once; they fit in one group.
const maxGroup = 32

var errWriterClosed = errcode.New(errcode.Unavailable, "the store is closing")

func newGroupWriter(db *sql.DB) *groupWriter {
	w := &groupWriter{
		db: db, queue: make(chan *write, 256),
		waits: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "surge_db_writer_wait_seconds", Help: "Time writes waited for SQLite's writer, by lane (request, background).",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2},
		}, []string{"lane"}),
		commits: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "surge_db_writer_commit_seconds", Help: "Time one group of writes held SQLite's writer, from BEGIN to the end of COMMIT (disk flush included).",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2},
		}),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	w.leastWait.Store(-1)
	go w.loop()
	return w
}

// run queues fn and returns its outcome once its group has committed (or
// failed). fn runs with the group's context: a caller that gives up cannot
// interrupt the statements of the others.
func (w *groupWriter) run(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	// The write runs with the group's context, which carries none of the
	// caller's values: the caller's trace goes along by hand, so the outbox
	// rows it writes name the hop that caused them.
	if hop := tracectx.From(ctx); hop.TraceID != "" {
		inner := fn
		fn = func(gctx context.Context, tx *sql.Tx) error { return inner(tracectx.With(gctx, hop), tx) }
	}
	wr := &write{fn: fn, lane: "request", queued: time.Now(), done: make(chan error, 1)}
	if ctx.Value(backgroundKey{}) != nil {
		wr.lane = "background"
	}
	select {
	case w.queue <- wr:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.stop:
		return errWriterClosed
	}
	select {
	case err := <-wr.done:
		return err
	case <-ctx.Done():
		if wr.state.CompareAndSwap(queued, abandoned) {
			return ctx.Err()
		}
	case <-w.done: // closed after draining: this write came too late
		if wr.state.CompareAndSwap(queued, abandoned) {
			return errWriterClosed
		}
	}
	// Taken: the writer answers within writeTimeout of starting.
	return <-wr.done
}

func (w *groupWriter) loop() {
	defer close(w.done)
	for {
		var first *write
		select {
		case first = <-w.queue:
		case <-w.stop:
			for {
				select {
				case wr := <-w.queue:
					wr.done <- errWriterClosed // buffered: never blocks
				default:
					return
				}
			}
		}
		group := []*write{first}
	more:
		for len(group) < maxGroup {
			select {
			case wr := <-w.queue:
				group = append(group, wr)
			default:
				break more
			}
		}
		w.commit(group)
	}
}

// commit runs one group in one transaction and answers each write.
func (w *groupWriter) commit(group []*write) {
	now := time.Now()
	live := group[:0]
	for _, wr := range group {
		if !wr.state.CompareAndSwap(queued, taken) {
			continue // its caller gave up before its turn
		}
		w.observe(wr.lane, now.Sub(wr.queued))
		live = append(live, wr)
	}
	if len(live) == 0 {
		return
	}
	defer func() { w.commits.Observe(time.Since(now).Seconds()) }()
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	answer := func(err error) {
		for _, wr := range live {
			wr.done <- err
		}
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		answer(err)
		return
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if len(live) == 1 {
		if err := call(ctx, tx, live[0].fn); err != nil {
			answer(err)
			return
		}
		answer(tx.Commit())
		return
	}
	own := make([]error, len(live))
	for i, wr := range live {
		if _, err := tx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
			answer(err)
			return
		}
		if own[i] = call(ctx, tx, wr.fn); own[i] != nil {
			// ROLLBACK TO fails when SQLite already rolled the whole
			// transaction back (an I/O error, a full disk): then nothing
			// of the group holds. After a panic nothing is trusted.
			var p panicked
			if errors.As(own[i], &p) {
				answer(own[i])
				return
			}
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO w"); err != nil {
				answer(errors.Join(own[i], err))
				return
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE w"); err != nil {
			answer(err)
			return
		}
	}
	err = tx.Commit()
	for i, wr := range live {
		if own[i] != nil {
			wr.done <- own[i]
		} else {
			wr.done <- err
		}
	}
}

// panicked is a write function's panic, turned into an error: in a
// request's own goroutine the server would have recovered it and failed
// that request alone; on the shared writer it must not end the process.
type panicked struct{ msg string }

func (p panicked) Error() string { return p.msg }

func call(ctx context.Context, tx *sql.Tx, fn func(context.Context, *sql.Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errcode.Wrap(errcode.Internal, panicked{fmt.Sprintf("panic in a write: %v\n%s", r, debug.Stack())}, "internal error")
		}
	}()
	return fn(ctx, tx)
}

func (w *groupWriter) observe(lane string, waited time.Duration) {
	w.waits.WithLabelValues(lane).Observe(waited.Seconds())
	for {
		least := w.leastWait.Load()
		if least >= 0 && least <= int64(waited) || w.leastWait.CompareAndSwap(least, int64(waited)) {
			return
		}
	}
}

func (w *groupWriter) close() {
	w.closer.Do(func() { close(w.stop); <-w.done })
}

type backgroundKey struct{}

// Background marks ctx as background work (relay, consumers, sweeper), so
// that its waits for SQLite's writer are told apart in the metrics. It
// gets no lower place in the queue: capacity means effects keep up, and a
// checkout rate that starves them is not one the system can sustain.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

// WriterMetrics are the histograms of SQLite's writer (waits for it, time
// per group), for registration; none on PostgreSQL.
func (s *Store) WriterMetrics() []prometheus.Collector {
	if s.writer == nil {
		return nil
	}
	return []prometheus.Collector{s.writer.waits, s.writer.commits}
}

// WriterQueueDelay returns the shortest time any write waited for SQLite's
// writer since the last call, and false when no write came (or on
// PostgreSQL). A shortest wait above a few milliseconds means a queue
// stands at the writer: more concurrent writes add latency, not throughput.
func (s *Store) WriterQueueDelay() (time.Duration, bool) {
	if s.writer == nil {
		return 0, false
	}
	least := s.writer.leastWait.Swap(-1)
	return time.Duration(least), least >= 0
}
