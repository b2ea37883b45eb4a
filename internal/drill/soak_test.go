package drill

import (
	"math"
	"testing"

	"github.com/surge-commerce/surge/internal/loadtest"
)

func TestTrend(t *testing.T) {
	var noisy, leak [][2]float64
	for i := range 30 {
		x := float64(i * 10)
		// A heap that breathes: ±20% around 50 MB, no slope.
		noisy = append(noisy, [2]float64{x, 50e6 * (1 + 0.2*math.Sin(float64(i)))})
		// Goroutines that climb by one every 10 s.
		leak = append(leak, [2]float64{x, 100 + float64(i)})
	}
	if tr := trend(noisy); tr.Verdict != flat {
		t.Errorf("a breathing heap: %+v, want %q", tr, flat)
	}
	tr := trend(leak)
	if tr.Verdict != "climbing" || math.Abs(tr.PerHour-360) > 1e-6 {
		t.Errorf("one goroutine more every 10 s: %+v, want climbing at 360/h", tr)
	}
	var step [][2]float64
	for i := range 144 {
		v := 22.0
		if i > 100 {
			v = 23 // one more descriptor held from late in the run
		}
		step = append(step, [2]float64{float64(i * 10), v})
	}
	if tr := trend(step); tr.Verdict != flat {
		t.Errorf("22 descriptors, then 23: %+v, want %q", tr, flat)
	}
	if tr := trend(leak[:2]); tr.Verdict == flat {
		t.Errorf("two samples: %+v, want no verdict", tr)
	}
}

func TestFirstWrite(t *testing.T) {
	series := []loadtest.Point{
		{T: 0, StatusCodes: map[string]int64{"201": 5}},
		{T: 1, StatusCodes: map[string]int64{"201": 5}},
		{T: 2, StatusCodes: map[string]int64{"503": 5}},
		{T: 3, StatusCodes: map[string]int64{"200": 2, "201": 1}},
	}
	// The second the fault falls in does not count: its 201s may be
	// from before it.
	if got := firstWrite(series, 1.5); got != 2.5 {
		t.Errorf("firstWrite: %v, want 2.5 (the end of the second from 3 s)", got)
	}
	if got := firstWrite(series[:3], 1.5); got != -1 {
		t.Errorf("firstWrite without a 201 after the fault: %v, want -1", got)
	}
}
