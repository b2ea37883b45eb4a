package store

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"time"

	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/store/postgres"
)

// The catalog's reads (a product, a page, a search) may go to a streaming
// replica while it is within MaxReplicaLag of the primary. Past the bound,
// or while the replica does not answer, they go to the primary, as do the
// reads of a shop's admin (catalog.FromPrimary), who must see their own
// writes. Everything else reads the primary: checkout prices, stock and
// limits inside its own transaction.
type replica struct {
	db     *sql.DB
	maxLag time.Duration
	usable atomic.Bool
	lag    atomic.Int64 // nanoseconds behind the primary; -1 when it does not answer
	stop   chan struct{}
	done   chan struct{}
}

// replicaPoll is how often the replica's lag is measured.
const replicaPoll = 250 * time.Millisecond

// lagQuery is how far the replica's replay is behind: nothing when it has
// replayed all it received (an idle primary sends nothing new), else the
// age of the last transaction it replayed.
const lagQuery = `SELECT CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
	ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END`

func openReplica(url string, maxConns int, maxLag time.Duration) (*replica, error) {
	db, err := postgres.OpenLazy(url, maxConns)
	if err != nil {
		return nil, err
	}
	r := &replica{db: db, maxLag: maxLag, stop: make(chan struct{}), done: make(chan struct{})}
	r.lag.Store(-1)
	go r.watch()
	return r, nil
}

func (r *replica) watch() {
	defer close(r.done)
	t := time.NewTicker(replicaPoll)
	defer t.Stop()
	for {
		r.measure()
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
	}
}

func (r *replica) measure() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var secs float64
	if err := r.db.QueryRowContext(ctx, lagQuery).Scan(&secs); err != nil {
		r.lag.Store(-1)
		r.usable.Store(false)
		return
	}
	lag := time.Duration(secs * float64(time.Second))
	r.lag.Store(int64(lag))
	r.usable.Store(lag <= r.maxLag)
}

func (r *replica) close() {
	close(r.stop)
	<-r.done
	r.db.Close()
}

// catalogRead runs a catalog read on the replica when it may, else on the
// primary; a replica that fails the read hands it to the primary at once
// and is not used again until its next good measure.
func (s *Store) catalogRead(ctx context.Context, read func(db *sql.DB) error) error {
	if s.replica != nil && s.replica.usable.Load() && !catalog.ReadsPrimary(ctx) {
		err := read(s.replica.db)
		if err == nil || errors.Is(err, sql.ErrNoRows) || errcode.Is(err, errcode.NotFound) || ctx.Err() != nil {
			return err // an answer, or the caller gave up
		}
		s.replica.usable.Store(false)
	}
	return read(s.read)
}

// ReplicaLag reports how far the read replica is behind (negative when it
// does not answer), whether catalog reads go to it now, and whether one is
// configured at all.
func (s *Store) ReplicaLag() (lag time.Duration, usable, configured bool) {
	if s.replica == nil {
		return 0, false, false
	}
	return time.Duration(s.replica.lag.Load()), s.replica.usable.Load(), true
}
