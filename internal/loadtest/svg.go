package loadtest

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// series is one line of a chart. A NaN y is a gap: the line stops there
// and starts again at the next measured point, so a pause between steps
// or a second without data never draws a drop to zero.
type series struct {
	name  string
	color string
	dash  string // SVG stroke-dasharray; empty for a solid line
	width float64
	x, y  []float64
}

// gap ends the line drawn so far.
func (s *series) gap() {
	if n := len(s.y); n > 0 && !math.IsNaN(s.y[n-1]) {
		s.x, s.y = append(s.x, math.NaN()), append(s.y, math.NaN())
	}
}

func (s *series) add(x, y float64) { s.x, s.y = append(s.x, x), append(s.y, y) }

// marker is a labelled vertical line (the knee) or horizontal one (an SLO).
type marker struct {
	label      string
	x, y       float64
	vertical   bool
	horizontal bool
}

var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

// chart is one inline SVG line chart. Units name the axes' numbers:
// "ms" (shown in s from 1000 ms), "s", or a rate such as "op/s".
type chart struct {
	id, title      string
	xLabel, yLabel string
	xUnit, yUnit   string
	logY           bool
	dots           bool
	series         []series
	marks          []marker
}

// The drawing is in viewBox units; the page scales it to its width.
const (
	chartW, chartH = 960, 340
	padL, padR     = 100, 40
	padT, padB     = 52, 44
)

// svg draws the chart: no script, no external style, so the report opens
// offline.
func (c chart) svg() template.HTML {
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), 0.0
	for _, s := range c.series {
		for i := range s.x {
			if math.IsNaN(s.y[i]) || (c.logY && s.y[i] <= 0) {
				continue
			}
			xmin, xmax = math.Min(xmin, s.x[i]), math.Max(xmax, s.x[i])
			ymin, ymax = math.Min(ymin, s.y[i]), math.Max(ymax, s.y[i])
		}
	}
	for _, m := range c.marks {
		if m.horizontal {
			ymax = math.Max(ymax, m.y)
		}
		if m.vertical {
			xmin, xmax = math.Min(xmin, m.x), math.Max(xmax, m.x)
		}
	}
	if math.IsInf(xmin, 1) {
		xmin, xmax = 0, 1
	}
	if xmax == xmin {
		xmin, xmax = xmin-1, xmax+1
	}
	var yt []float64
	var ydec int
	ylo := 0.0
	if c.logY {
		if math.IsInf(ymin, 1) {
			ymin, ymax = 1, 10
		}
		ylo, ymax = math.Pow(10, math.Floor(math.Log10(ymin))), math.Pow(10, math.Ceil(math.Log10(ymax)))
		if ymax <= ylo {
			ymax = ylo * 10
		}
		yt = logTicks(ylo, ymax)
	} else {
		step, dec := niceStep(ymax / 4)
		ymax = math.Max(math.Ceil(ymax/step), 1) * step
		yt, ydec = ticks(0, ymax, step), dec
	}
	// The x axis ends on ticks, so both ends are labelled.
	xstep, xdec := niceStep((xmax - xmin) / 8)
	xmin, xmax = math.Floor(xmin/xstep+1e-9)*xstep, math.Ceil(xmax/xstep-1e-9)*xstep
	xt := ticks(xmin, xmax, xstep)

	pw, ph := float64(chartW-padL-padR), float64(chartH-padT-padB)
	px := func(x float64) float64 { return padL + (x-xmin)/(xmax-xmin)*pw }
	py := func(y float64) float64 { return padT + ph - y/ymax*ph }
	if c.logY {
		py = func(y float64) float64 {
			return padT + ph - (math.Log10(y)-math.Log10(ylo))/(math.Log10(ymax)-math.Log10(ylo))*ph
		}
	}
	esc := template.HTMLEscapeString
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="%s" class="chart" xmlns="http://www.w3.org/2000/svg" width="100%%" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		c.id, chartW, chartH, esc(c.title))
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="15" font-weight="bold">%s</text>`, padL, esc(c.title))
	// The legend sits above the plot, so the plot has the full width and
	// nothing drawn in it (the knee label) can land on the legend.
	lx := float64(padL)
	for _, s := range c.series {
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="36" y2="36" stroke="%s" stroke-width="%g"%s/><text x="%.0f" y="40" font-size="12">%s</text>`,
			lx, lx+24, s.color, max(s.width, 2.5), dashAttr(s.dash), lx+28, esc(s.name))
		lx += 40 + 7*float64(len(s.name))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.0f" height="%.0f" fill="none" stroke="#999"/>`, padL, padT, pw, ph)
	for _, y := range yt {
		label := tickLabel(y, ydec, c.yUnit)
		if c.logY {
			label = tickLabel(y, max(0, -int(math.Floor(math.Log10(y)))), c.yUnit)
		}
		fmt.Fprintf(&b, `<line x1="%d" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#e4e4e4"/><text x="%d" y="%.1f" font-size="12" text-anchor="end">%s</text>`,
			padL, padL+pw, py(y), py(y), padL-5, py(y)+4, esc(label))
	}
	for _, x := range xt {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#999"/><text x="%.1f" y="%.1f" font-size="12" text-anchor="middle">%s</text>`,
			px(x), px(x), padT+ph, padT+ph+4, px(x), padT+ph+17, esc(tickLabel(x, xdec, c.xUnit)))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="13" text-anchor="middle">%s</text>`, padL+pw/2, chartH-6, esc(c.xLabel))
	fmt.Fprintf(&b, `<text x="14" y="%.1f" font-size="13" text-anchor="middle" transform="rotate(-90 14 %.1f)">%s</text>`,
		padT+ph/2, padT+ph/2, esc(c.yLabel))
	for _, s := range c.series {
		for _, seg := range segments(s, c.logY) {
			pts := make([]string, len(seg))
			for k, j := range seg {
				pts[k] = fmt.Sprintf("%.1f,%.1f", px(s.x[j]), py(s.y[j]))
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="%g"%s points="%s"/>`, s.color, max(s.width, 2), dashAttr(s.dash), strings.Join(pts, " "))
			if c.dots || len(seg) == 1 {
				for _, j := range seg {
					fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`, px(s.x[j]), py(s.y[j]), s.color)
				}
			}
		}
	}
	for _, m := range c.marks {
		switch {
		case m.vertical:
			// The label goes inside the plot, on the side with room.
			tx, anchor := px(m.x)+4, "start"
			if px(m.x) > padL+pw/2 {
				tx, anchor = px(m.x)-4, "end"
			}
			fmt.Fprintf(&b, `<line class="knee" x1="%.1f" x2="%.1f" y1="%d" y2="%.1f" stroke="#d62728" stroke-dasharray="5,4" stroke-width="2"/><text class="knee-label" x="%.1f" y="%d" font-size="12" fill="#d62728" text-anchor="%s">%s</text>`,
				px(m.x), px(m.x), padT, padT+ph, tx, padT+14, anchor, esc(m.label))
		case m.horizontal && (!c.logY || m.y > 0):
			fmt.Fprintf(&b, `<line x1="%d" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#555" stroke-dasharray="2,3"/><text x="%d" y="%.1f" font-size="12" fill="#555">%s</text>`,
				padL, padL+pw, py(m.y), py(m.y), padL+4, math.Max(py(m.y)-4, padT+14), esc(m.label))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from numbers and escaped text only
}

func dashAttr(d string) string {
	if d == "" {
		return ""
	}
	return ` stroke-dasharray="` + d + `"`
}

// segments splits a series at its gaps (NaN, or a non-positive value on a
// log axis) into runs of point indexes, each drawn as its own line.
func segments(s series, logY bool) [][]int {
	var out [][]int
	var cur []int
	for i := range s.x {
		if math.IsNaN(s.y[i]) || math.IsNaN(s.x[i]) || (logY && s.y[i] <= 0) {
			if len(cur) > 0 {
				out = append(out, cur)
			}
			cur = nil
			continue
		}
		cur = append(cur, i)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// niceStep rounds a tick spacing up to 1, 2 or 5 times a power of ten and
// returns the decimals that spacing needs.
func niceStep(v float64) (float64, int) {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1, 0
	}
	e := math.Floor(math.Log10(v))
	p := math.Pow(10, e)
	for _, m := range []float64{1, 2, 5} {
		if v <= m*p*(1+1e-9) {
			return m * p, max(0, -int(e))
		}
	}
	return 10 * p, max(0, -int(e)-1)
}

// ticks are the multiples of step in [lo, hi].
func ticks(lo, hi, step float64) []float64 {
	var out []float64
	for i := math.Ceil(lo/step - 1e-9); i*step <= hi+step*1e-9; i++ {
		out = append(out, i*step+0) // +0 turns -0 into 0
	}
	return out
}

// logTicks are 1, 2 and 5 times each power of ten in [lo, hi].
func logTicks(lo, hi float64) []float64 {
	var out []float64
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 5} {
			if v := m * math.Pow(10, e); v >= lo*(1-1e-9) && v <= hi*(1+1e-9) {
				out = append(out, v)
			}
		}
	}
	return out
}

// tickLabel formats a tick with its unit; milliseconds from 1000 up read
// as seconds.
func tickLabel(v float64, decimals int, unit string) string {
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if unit == "ms" && v >= 1000 {
		s = strings.TrimRight(strings.TrimRight(strconv.FormatFloat(v/1000, 'f', decimals+3, 64), "0"), ".")
		unit = "s"
	}
	if unit == "" {
		return s
	}
	return s + " " + unit
}
