package loadgen

import (
	"testing"
	"time"
)

func TestFlushProbeTimesFlushesInAWindow(t *testing.T) {
	start := time.Now()
	p, err := StartFlushProbe(t.TempDir(), time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, longest := p.Stalls(start, time.Now(), 0); longest > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no flush timed within 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n, _ := p.Stalls(start, time.Now(), 0); n == 0 {
		t.Error("flushes longer than zero were not counted")
	}
	if len(p.Flushes(start, time.Now())) == 0 {
		t.Error("no flush listed in the window")
	}
	if n, longest := p.Stalls(start.Add(-time.Hour), start.Add(-time.Minute), 0); n != 0 || longest != 0 {
		t.Errorf("a window before the probe started had %d flushes (longest %s)", n, longest)
	}
}
