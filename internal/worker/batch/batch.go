// Package batch applies work handed in by concurrent callers together, in
// one go: the way to share a hot row among many writers. A transaction that
// updates a counter row holds its lock through the commit's disk flush, so
// one update per transaction caps the row at one flush per update; one
// transaction for everything that waited meanwhile pays one flush for all.
package batch

import (
	"context"
	"sync"
	"time"
)

// Combiner hands items to its apply function in batches. The first caller
// to arrive applies whatever waits, batch after batch, until nothing does;
// the callers who arrived meanwhile wait for their batch's outcome.
type Combiner[T any] struct {
	apply   func(ctx context.Context, items []T) error
	max     int
	timeout time.Duration

	mu      sync.Mutex
	waiting []*request[T]
	running bool // a caller is applying batches
}

type request[T any] struct {
	item T
	done chan error // buffered: answering never blocks
}

// New returns a Combiner that applies at most max items at once, each
// batch within timeout. The timeout is the batch's own, not that of the
// caller who happens to apply it: the batch is everybody's.
func New[T any](max int, timeout time.Duration, apply func(ctx context.Context, items []T) error) *Combiner[T] {
	return &Combiner[T]{apply: apply, max: max, timeout: timeout}
}

// Do applies item, most likely together with others, and returns the
// outcome of its batch. When a batch of several fails, each of its items
// is applied alone, so that an item that cannot be applied holds up no
// other. A caller whose context ends stops waiting, but its item may still
// be applied: apply must be idempotent, as event handlers are.
func (c *Combiner[T]) Do(ctx context.Context, item T) error {
	r := &request[T]{item: item, done: make(chan error, 1)}
	c.mu.Lock()
	c.waiting = append(c.waiting, r)
	if c.running {
		c.mu.Unlock()
		select {
		case err := <-r.done:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.running = true
	for len(c.waiting) > 0 {
		n := min(len(c.waiting), c.max)
		batch := c.waiting[:n:n]
		c.waiting = c.waiting[n:]
		c.mu.Unlock()
		c.run(context.WithoutCancel(ctx), batch)
		c.mu.Lock()
	}
	c.running = false
	c.mu.Unlock()
	return <-r.done
}

func (c *Combiner[T]) run(ctx context.Context, batch []*request[T]) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	items := make([]T, len(batch))
	for i, r := range batch {
		items[i] = r.item
	}
	err := c.apply(ctx, items)
	if err == nil || len(batch) == 1 {
		for _, r := range batch {
			r.done <- err
		}
		return
	}
	for _, r := range batch {
		r.done <- c.apply(ctx, []T{r.item})
	}
}
