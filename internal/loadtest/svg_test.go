package loadtest

import (
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestTicksAreRound: axis ticks fall on 1, 2 or 5 times a power of ten
// and read with their unit.
func TestTicksAreRound(t *testing.T) {
	for _, c := range []struct {
		span float64
		step float64
	}{{0.7, 0.2}, {3, 1}, {37, 10}, {180, 50}, {1234, 500}, {9000, 5000}} {
		step, _ := niceStep(c.span / 4)
		if math.Abs(step-c.step) > 1e-12 {
			t.Errorf("niceStep(%g/4) = %g, want %g", c.span, step, c.step)
		}
	}
	step, dec := niceStep(0.7 / 4)
	var labels []string
	for _, v := range ticks(0, 0.8, step) {
		labels = append(labels, tickLabel(v, dec, "ms"))
	}
	if want := []string{"0.0 ms", "0.2 ms", "0.4 ms", "0.6 ms", "0.8 ms"}; !slices.Equal(labels, want) {
		t.Errorf("ticks %q, want %q", labels, want)
	}
	if got := ticks(3, 17, 5); !slices.Equal(got, []float64{5, 10, 15}) {
		t.Errorf("ticks(3, 17, 5) = %v", got)
	}
	if got := logTicks(1, 100); !slices.Equal(got, []float64{1, 2, 5, 10, 20, 50, 100}) {
		t.Errorf("logTicks(1, 100) = %v", got)
	}
	for _, c := range []struct {
		v    float64
		dec  int
		unit string
		want string
	}{{1500, 0, "ms", "1.5 s"}, {2000, 0, "ms", "2 s"}, {500, 0, "ms", "500 ms"}, {40, 0, "op/s", "40 op/s"}, {10, 0, "s", "10 s"}} {
		if got := tickLabel(c.v, c.dec, c.unit); got != c.want {
			t.Errorf("tickLabel(%g, %d, %q) = %q, want %q", c.v, c.dec, c.unit, got, c.want)
		}
	}
}

// TestChartsLeaveGaps: the pause between two steps, a second without
// requests and a step's drain are not plotted as drops to zero.
func TestChartsLeaveGaps(t *testing.T) {
	pt := func(tt, rate float64, reqs int64, p99 float64) Point {
		return Point{T: tt, OfferedRate: rate, AchievedRate: rate, Requests: reqs, Latency: Percentiles{P50: p99 / 2, P90: p99, P99: p99},
			StatusCodes: map[string]int64{"200": reqs}}
	}
	sr := ScenarioReport{Steps: []StepReport{
		// Seconds 0 and 1 of step 1, then its drain (no arrivals).
		{Step: 1, DurationSeconds: 2, Series: []Point{pt(0, 10, 10, 5), pt(1, 10, 10, 6), pt(2, 0, 1, 7)}},
		// Step 2 starts 3 s later; its second second has no request.
		{Step: 2, DurationSeconds: 3, Series: []Point{pt(5, 20, 20, 8), pt(6, 20, 0, 0), pt(7, 20, 20, 9)}},
	}}
	v := charts(sr, ConfigReport{SLOP99MS: 100})
	lines := func(svg string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`<polyline [^>]*points="([^"]*)"`).FindAllStringSubmatch(svg, -1) {
			out = append(out, m[1])
		}
		return out
	}
	// Rates: one line per step, the drain second left out.
	rates := lines(string(v.Rates))
	if len(rates) != 4 { // offered and achieved, two steps each
		t.Fatalf("rate chart has %d lines, want 4:\n%s", len(rates), strings.Join(rates, "\n"))
	}
	for _, l := range rates {
		if n := len(strings.Fields(l)); n != 2 && n != 3 {
			t.Errorf("rate line with %d points (want 2 for step 1, 3 for step 2): %s", n, l)
		}
	}
	// Latency: step 1 (3 points with its drain), step 2 split at the
	// empty second: three lines per percentile.
	if got := len(lines(string(v.Latency))); got != 9 {
		t.Errorf("latency chart has %d lines, want 9", got)
	}
	if strings.Contains(string(v.Latency), "NaN") || strings.Contains(string(v.LatencyLog), "NaN") {
		t.Error("a gap was drawn as a NaN coordinate")
	}
}

// TestKneeLabelInPlot: the knee, always the last step and so at the
// right edge, is labelled inside the plot, not over the legend.
func TestKneeLabelInPlot(t *testing.T) {
	c := chart{id: "c", xUnit: "op/s", yUnit: "ms", series: []series{{name: "p99", x: []float64{10, 20}, y: []float64{5, 50}}},
		marks: []marker{{label: "knee 20/s", x: 20, vertical: true}}}
	svg := string(c.svg())
	m := regexp.MustCompile(`class="knee-label" x="([0-9.]+)" y="[0-9.]+" font-size="12" fill="#d62728" text-anchor="end"`).FindStringSubmatch(svg)
	if m == nil {
		t.Fatalf("knee label not anchored inside the plot:\n%s", svg)
	}
	if !strings.Contains(svg, `width="100%" viewBox=`) {
		t.Error("chart does not scale to the page width")
	}
}
