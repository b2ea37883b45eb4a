package app

import "time"

// shiftedClock is the process's clock, offset by --clock-offset: drills
// play a replica whose clock is minutes off without touching the
// machine's. Monotonic readings are kept, so durations measured with it
// stay right.
func shiftedClock(offset time.Duration) func() time.Time {
	if offset == 0 {
		return time.Now
	}
	return func() time.Time { return time.Now().Add(offset) }
}
