package testrig

import (
	"testing"
	"time"
)

// EventuallyWithin is how long Eventually waits: generous, because CI
// shares two loaded cores and a test that fails one run in twenty is
// broken. A condition that holds returns at once.
const EventuallyWithin = 90 * time.Second

// Eventually polls cond until it holds, failing the test with what it was
// waiting for once EventuallyWithin has passed. It is the one way tests
// wait: on a condition, never for a fixed time. Polls start at a
// millisecond and back off to 50 ms.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(EventuallyWithin)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", EventuallyWithin, what)
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}
