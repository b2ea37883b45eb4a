// Package fifo provides a mutual-exclusion lock granted in arrival order.
//
// SQLite has one writer, reached through a database/sql pool of one
// connection. database/sql hands a freed connection to a random waiter, so
// under load some transactions waited many times longer than the queue
// was deep. Taking this lock before the pool keeps the wait to the queue's
// depth: blocked channel senders are woken first in, first out.
package fifo

import "context"

// Lock is a first-come, first-served lock. The zero value is not usable;
// call New.
type Lock struct {
	slot chan struct{}
}

// New returns an unlocked Lock.
func New() *Lock { return &Lock{slot: make(chan struct{}, 1)} }

// Acquire waits for the lock behind everyone who asked earlier, or until
// ctx is done. The caller must call release exactly once.
func (l *Lock) Acquire(ctx context.Context) (release func(), err error) {
	select {
	case l.slot <- struct{}{}:
		return l.release, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *Lock) release() { <-l.slot }
