// Package store is Surge's SQL persistence, written once for both engines:
// SQLite (embedded default) and PostgreSQL. Every query lives here exactly
// once; what truly differs between the engines (placeholders, full-text
// search, error codes) sits behind a small dialect seam in this package.
//
// Each use case's atomic write is one method running one transaction;
// transactions never leak out of this package. On SQLite the one writer
// commits several such writes together, each in its own savepoint
// (groupcommit.go). It must never contain business rules beyond the
// conditional updates that keep invariants.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/pressly/goose/v3"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/store/postgres"
	"github.com/surge-commerce/surge/internal/store/sqlite"
)

// Engine names.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Config selects and sizes the engine.
type Config struct {
	// DatabaseURL selects PostgreSQL when set (postgres:// or postgresql://).
	DatabaseURL string
	// DataDir holds the SQLite file when DatabaseURL is empty.
	DataDir string
	// MaxConns bounds the pool (the read pool on SQLite).
	MaxConns int
	// ReplicaURL names a PostgreSQL streaming replica the catalog's reads
	// may go to while it lags the primary by at most MaxReplicaLag.
	ReplicaURL    string
	MaxReplicaLag time.Duration
}

// Store is the SQL store. It is safe for concurrent use.
type Store struct {
	// dialect holds every difference between the engines.
	dialect dialect
	write   *sql.DB
	read    *sql.DB // the same pool as write on PostgreSQL
	// rebound caches queries rewritten from ? to $n placeholders.
	rebound sync.Map
	// outboxWake signals this process's relay that an event was committed.
	outboxWake chan struct{}
	// notify asks notifyRelays (PostgreSQL) to wake the other processes'
	// relays; closing stop ends it.
	notify chan struct{}
	stop   chan struct{}
	done   chan struct{}
	closer sync.Once
	// breaker fails writes fast while the database is unreachable, so a
	// checkout answers 503 at once instead of waiting out its deadline.
	breaker circuitbreaker.CircuitBreaker[any]
	// writer commits SQLite's writes in groups (nil on PostgreSQL, whose
	// pool has many connections and whose WAL flush already groups commits).
	writer *groupWriter
	// replica serves catalog reads when configured and caught up (nil
	// without one).
	replica *replica
}

// writeTimeout bounds one write transaction: a checkout must answer well
// within its request deadline even when the database hangs.
const writeTimeout = 2 * time.Second

func newBreaker() circuitbreaker.CircuitBreaker[any] {
	return circuitbreaker.NewBuilder[any]().WithFailureThreshold(5).WithDelay(2 * time.Second).WithSuccessThreshold(1).Build()
}

// BreakerState reports the database breaker: closed, open or half-open.
func (s *Store) BreakerState() string { return s.breaker.State().String() }

// Open connects to the configured engine. It does not migrate; call Migrate.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 16
	}
	if IsPostgresURL(cfg.DatabaseURL) {
		db, err := postgres.Open(ctx, cfg.DatabaseURL, cfg.MaxConns)
		if err != nil {
			return nil, err
		}
		s := &Store{dialect: postgresDialect, write: db, read: db, outboxWake: make(chan struct{}, 1), breaker: newBreaker(),
			notify: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
		if cfg.ReplicaURL != "" {
			if !IsPostgresURL(cfg.ReplicaURL) {
				db.Close()
				return nil, fmt.Errorf("store: the replica URL must start with postgres:// or postgresql://")
			}
			if s.replica, err = openReplica(cfg.ReplicaURL, cfg.MaxConns, cfg.MaxReplicaLag); err != nil {
				db.Close()
				return nil, err
			}
		}
		go s.notifyRelays()
		return s, nil
	}
	if cfg.ReplicaURL != "" {
		return nil, fmt.Errorf("store: a read replica needs PostgreSQL (SURGE_DATABASE_URL)")
	}
	if cfg.DatabaseURL != "" {
		return nil, fmt.Errorf("store: SURGE_DATABASE_URL must start with postgres:// or postgresql://")
	}
	w, r, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "surge.db"), cfg.MaxConns)
	if err != nil {
		return nil, err
	}
	return &Store{dialect: sqliteDialect, write: w, read: r, outboxWake: make(chan struct{}, 1), breaker: newBreaker(),
		writer: newGroupWriter(w)}, nil
}

// IsPostgresURL reports whether url names a PostgreSQL database.
func IsPostgresURL(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// Engine returns SQLite or Postgres.
func (s *Store) Engine() string { return s.dialect.name }

// OneWriter reports that writes queue for a single writer in this process
// (SQLite): a store no other process writes to, whose checkouts are
// processor time here, with one relay. Otherwise (PostgreSQL) many
// processes write and tell each other of new events (ListenOutbox).
func (s *Store) OneWriter() bool { return s.dialect.oneWriter }

// Pools returns the connection pools by role, for metrics.
func (s *Store) Pools() map[string]*sql.DB {
	pools := s.dialect.pools(s.write, s.read)
	if s.replica != nil {
		pools["replica"] = s.replica.db
	}
	return pools
}

// OutboxWake is signalled after this process commits outbox events.
func (s *Store) OutboxWake() <-chan struct{} { return s.outboxWake }

func (s *Store) wakeRelay() {
	select {
	case s.outboxWake <- struct{}{}:
	default:
	}
	if s.notify != nil {
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}
}

// notifyRelays sends one NOTIFY per burst of commits, outside any business
// transaction: a NOTIFY inside one would hold PostgreSQL's database-wide
// notify lock through the commit and serialise every checkout. A lost
// notification only delays a relay until its next poll.
func (s *Store) notifyRelays() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			return
		case <-s.notify:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		tx, err := s.write.BeginTx(ctx, nil)
		if err == nil {
			// Nothing durable is written: no need to wait for the disk.
			_, err = tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`)
			if err == nil {
				_, err = tx.ExecContext(ctx, `SELECT pg_notify('surge_outbox', '')`)
			}
			if err == nil {
				_ = tx.Commit()
			} else {
				_ = tx.Rollback()
			}
		}
		cancel()
	}
}

// Close closes the pools.
func (s *Store) Close() error {
	if s.writer != nil {
		s.writer.close()
	}
	if s.replica != nil {
		s.replica.close()
	}
	if s.stop != nil {
		s.closer.Do(func() { close(s.stop); <-s.done })
	}
	if s.read != s.write {
		s.read.Close()
	}
	return s.write.Close()
}

// Ping checks that the primary answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return classify(s.write.QueryRowContext(ctx, "SELECT 1").Scan(&one))
}

func (s *Store) migrations() (*goose.Provider, error) { return s.dialect.migrations(s.write) }

// Migrate applies every pending migration and returns the versions applied.
func (s *Store) Migrate(ctx context.Context) ([]int64, error) {
	p, err := s.migrations()
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	var applied []int64
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}

// MigrationState is one migration and whether it is applied.
type MigrationState struct {
	Version   int64
	Name      string
	AppliedAt time.Time // zero when pending
}

// MigrationStatus lists every known migration.
func (s *Store) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	p, err := s.migrations()
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migration status: %w", err)
	}
	out := make([]MigrationState, 0, len(st))
	for _, m := range st {
		out = append(out, MigrationState{Version: m.Source.Version, Name: filepath.Base(m.Source.Path), AppliedAt: m.AppliedAt})
	}
	return out, nil
}

// q returns query with placeholders in the engine's style. Queries are
// written with ? once; PostgreSQL wants $1, $2, ...
func (s *Store) q(query string) string {
	if !s.dialect.numberedParams {
		return query
	}
	if v, ok := s.rebound.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	s.rebound.Store(query, b.String())
	return b.String()
}

// tx runs fn in one write transaction, committing when fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	return s.guard(ctx, func(ctx context.Context) error { return s.runTx(ctx, fn) })
}

// conflictRetry runs again, from the start, a transaction that lost to
// another (a deadlock, a serialization failure, a lock not available): the
// database rolled it back, so nothing of it stands. A short jittered pause
// keeps the two from meeting again at once; after the last attempt the
// caller gets conflict_retry, never "unavailable".
var conflictRetry = retrypolicy.NewBuilder[any]().
	HandleIf(func(_ any, err error) bool { return isConflictRetry(err) }).
	WithMaxAttempts(4).
	WithBackoff(2*time.Millisecond, 20*time.Millisecond).
	WithJitterFactor(0.5).
	ReturnLastFailure().
	Build()

func isConflictRetry(err error) bool {
	var e *errcode.Error
	return errors.As(err, &e) && e.Type == ConflictRetry
}

// guard runs one write transaction behind the breaker and under
// writeTimeout, retrying it while it loses conflicts with others.
func (s *Store) guard(ctx context.Context, run func(context.Context) error) error {
	if !s.breaker.TryAcquirePermit() {
		return errcode.New(errcode.Unavailable, "the database is unreachable (circuit open)")
	}
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	// Not WithContext: failsafe would then report a transaction that
	// committed as its caller's cancellation. Each attempt runs under ctx,
	// and one begun after it ended fails at once, with no retry.
	err := failsafe.With[any](conflictRetry).Run(func() error { return run(ctx) })
	// Only an unreachable database opens the breaker. A transaction that
	// ran out of time waited on a busy pool, the SQLite writer or a hot
	// row; one that deadlocked lost a race. That is load, which shedding
	// handles, and counting it would turn a rush on one product into an
	// outage for every shop.
	if unreachable(err) && ctx.Err() == nil {
		s.breaker.RecordFailure()
	} else {
		s.breaker.RecordSuccess()
	}
	return err
}

func (s *Store) runTx(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	if s.writer != nil {
		return classifyTx(ctx, s.writer.run(ctx, fn))
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return classifyTx(ctx, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := fn(ctx, tx); err != nil {
		return classifyTx(ctx, err)
	}
	return classifyTx(ctx, tx.Commit())
}

// exec runs one statement on its own on the write pool.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s.writer == nil {
		return s.write.ExecContext(ctx, query, args...)
	}
	var res sql.Result
	err := s.writer.run(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		res, err = tx.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}

// classifyTx is classify for a transaction under a deadline: once the
// deadline passes, database/sql rolls the transaction back and later calls
// fail with ErrTxDone, which means "out of time", not a bug.
func classifyTx(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && !errcode.Is(err, errcode.Invalid) && !errcode.Is(err, errcode.Conflict) && !errcode.Is(err, errcode.NotFound) {
		return errcode.Wrap(errcode.Unavailable, err, "the database did not answer in time")
	}
	return classify(err)
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
