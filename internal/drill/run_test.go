package drill

import (
	"testing"

	"github.com/surge-commerce/surge/internal/loadtest"
)

func point(t, p99 float64, errs int64) loadtest.Point {
	return loadtest.Point{T: t, Requests: 10, Errors: errs, Latency: loadtest.Percentiles{P99: p99}}
}

// Recovery is the first of three clean seconds after the heal within the
// pre-fault p99 (plus its margin); a run that never gets there is -1.
func TestRecovery(t *testing.T) {
	series := []loadtest.Point{
		point(0, 900, 0), // warm-up: not part of the baseline
		point(1, 900, 0),
		point(2, 100, 0), point(3, 120, 0), point(4, 110, 0),
		point(5, 2000, 3), point(6, 2000, 5), // fault from 5 to 7
		point(7, 400, 0), point(8, 150, 0), point(9, 160, 2), // an error resets the run
		point(10, 150, 0), point(11, 170, 0), point(12, 130, 0),
	}
	base := baseline(series, 5)
	if base != 120 {
		t.Errorf("baseline %v, want 120 (the worst second after warm-up, before the fault)", base)
	}
	if rec := cleanAfter(series, 7, 180); rec != 3 {
		t.Errorf("recovered in %v s, want 3 (seconds 10, 11, 12 clean; 10 - 7)", rec)
	}
	if rec := cleanAfter(series, 7, 1000); rec != 3 {
		t.Errorf("serving again in %v s, want 3 (the error at 9 resets the run)", rec)
	}
	if rec := cleanAfter(series[:11], 7, 180); rec != -1 {
		t.Errorf("a run that ends before three clean seconds recovered in %v", rec)
	}
}

func TestEveryDrillIsWhole(t *testing.T) {
	for _, name := range Names() {
		d := All[name]
		if d.Name != name || d.Summary == "" || d.Fault == nil || d.Heal == nil {
			t.Errorf("drill %q is incomplete: %+v", name, d)
		}
	}
	if _, err := Lookup("nope"); err == nil {
		t.Error("an unknown drill was found")
	}
}
