package drill

import (
	"strings"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/loadtest"
)

// A step holds until failures pass 1 %, p99 passes the bound, or less
// than 90 % of the offered rate completes.
func TestCapacityStoppingRule(t *testing.T) {
	step := func(offered, achieved, p99, errRate float64) loadtest.StepReport {
		return loadtest.StepReport{OfferedRate: offered, AchievedRate: achieved, ErrorRate: errRate,
			Percentiles: loadtest.Percentiles{P99: p99}}
	}
	saturated := step(10, 10, 100, 0)
	saturated.Client.Saturated = true
	for _, tc := range []struct {
		name string
		st   loadtest.StepReport
		want string // "" holds; otherwise a word of the reason
	}{
		{"clean", step(10, 9.8, 300, 0), ""},
		{"at the limits", step(10, 9, 2000, 0.01), ""},
		{"failures", step(10, 9.8, 300, 0.011), "failed"},
		{"slow", step(10, 9.8, 2001, 0), "p99"},
		{"falls behind", step(10, 8.9, 300, 0), "achieved"},
		{"generator behind", saturated, "load generator"},
	} {
		ok, why := held(tc.st, 2*time.Second)
		if ok != (tc.want == "") || !strings.Contains(why, tc.want) {
			t.Errorf("%s: held %t (%q), want reason %q", tc.name, ok, why, tc.want)
		}
	}
}
