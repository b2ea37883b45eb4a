package httpapi

import (
	"sync"
	"time"
)

// warnings lets one "dependency unavailable" line a second through: during
// an outage every request fails the same way, and a line each would flood
// the logs, and spend the processor, exactly when both are needed. The line
// that gets through says how many it stands for.
type warnings struct {
	mu         sync.Mutex
	next       time.Time
	suppressed int
}

// allow reports whether a warning may be written at now and, if so, how
// many were held back since the last one.
func (w *warnings) allow(now time.Time) (bool, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if now.Before(w.next) {
		w.suppressed++
		return false, 0
	}
	held := w.suppressed
	w.suppressed = 0
	w.next = now.Add(time.Second)
	return true, held
}
