package explore

import (
	"sync"
	"time"
)

// clock is the injected clock: it stands still unless a step moves it, so
// reservations and keys expire when the schedule says, not when the
// machine is slow.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

// epoch is where every schedule's clock starts.
var epoch = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func newClock() *clock { return &clock{now: epoch} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
