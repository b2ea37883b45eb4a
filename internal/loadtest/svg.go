package loadtest

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// series is one line of a chart.
type series struct {
	name  string
	color string
	x, y  []float64
}

// marker is a labelled vertical line (the knee) or horizontal one (an SLO).
type marker struct {
	label      string
	x, y       float64
	vertical   bool
	horizontal bool
}

var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

const (
	chartW, chartH = 720, 300
	padL, padR     = 64, 150
	padT, padB     = 28, 44
)

// lineChart draws series as an inline SVG: no script, no external style,
// so the report opens offline.
func lineChart(id, title, xLabel, yLabel string, ss []series, marks []marker, dots bool) template.HTML {
	xmin, xmax, ymax := math.Inf(1), math.Inf(-1), 0.0
	for _, s := range ss {
		for i := range s.x {
			xmin, xmax, ymax = math.Min(xmin, s.x[i]), math.Max(xmax, s.x[i]), math.Max(ymax, s.y[i])
		}
	}
	for _, m := range marks {
		if m.horizontal {
			ymax = math.Max(ymax, m.y)
		}
	}
	if math.IsInf(xmin, 1) {
		xmin, xmax = 0, 1
	}
	if xmax == xmin {
		xmin, xmax = xmin-1, xmax+1
	}
	ymax = niceCeil(ymax * 1.05)
	pw, ph := float64(chartW-padL-padR), float64(chartH-padT-padB)
	px := func(x float64) float64 { return padL + (x-xmin)/(xmax-xmin)*pw }
	py := func(y float64) float64 { return padT + ph - y/ymax*ph }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="%s" class="chart" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		id, chartW, chartH, chartW, chartH, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<text x="%d" y="16" font-size="14" font-weight="bold">%s</text>`, padL, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.0f" height="%.0f" fill="none" stroke="#999"/>`, padL, padT, pw, ph)
	for i := 0; i <= 4; i++ {
		y := ymax * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%d" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/><text x="%d" y="%.1f" font-size="11" text-anchor="end">%s</text>`,
			padL, padL+pw, py(y), py(y), padL-4, py(y)+4, fmtNum(y))
		x := xmin + (xmax-xmin)*float64(i)/4
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle">%s</text>`, px(x), padT+ph+16, fmtNum(x))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="12" text-anchor="middle">%s</text>`, padL+pw/2, chartH-6, template.HTMLEscapeString(xLabel))
	fmt.Fprintf(&b, `<text x="14" y="%.1f" font-size="12" text-anchor="middle" transform="rotate(-90 14 %.1f)">%s</text>`,
		padT+ph/2, padT+ph/2, template.HTMLEscapeString(yLabel))
	for i, s := range ss {
		var pts []string
		for j := range s.x {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.x[j]), py(s.y[j])))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, s.color, strings.Join(pts, " "))
		if dots || len(s.x) == 1 {
			for j := range s.x {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`, px(s.x[j]), py(s.y[j]), s.color)
			}
		}
		ly := padT + 14 + 16*i
		fmt.Fprintf(&b, `<rect x="%.0f" y="%d" width="12" height="4" fill="%s"/><text x="%.0f" y="%d" font-size="11">%s</text>`,
			padL+pw+10, ly-4, s.color, padL+pw+26, ly, template.HTMLEscapeString(s.name))
	}
	for _, m := range marks {
		switch {
		case m.vertical:
			fmt.Fprintf(&b, `<line class="knee" x1="%.1f" x2="%.1f" y1="%d" y2="%.1f" stroke="#d62728" stroke-dasharray="5,4" stroke-width="2"/><text x="%.1f" y="%d" font-size="11" fill="#d62728">%s</text>`,
				px(m.x), px(m.x), padT, padT+ph, px(m.x)+4, padT+12, template.HTMLEscapeString(m.label))
		case m.horizontal:
			fmt.Fprintf(&b, `<line x1="%d" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#555" stroke-dasharray="2,3"/><text x="%d" y="%.1f" font-size="11" fill="#555">%s</text>`,
				padL, padL+pw, py(m.y), py(m.y), padL+4, py(m.y)-4, template.HTMLEscapeString(m.label))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from numbers and escaped text only
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func fmtNum(v float64) string {
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e6:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2g", v)
}
