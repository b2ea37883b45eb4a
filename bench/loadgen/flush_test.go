package loadgen

import (
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/testrig"
)

func TestFlushProbeTimesFlushesInAWindow(t *testing.T) {
	start := time.Now()
	p, err := StartFlushProbe(t.TempDir(), time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	testrig.Eventually(t, "a flush to be timed", func() bool {
		_, longest := p.Stalls(start, time.Now(), 0)
		return longest > 0
	})
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
