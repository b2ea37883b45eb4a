package drill

import (
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"strings"
)

// writeReport writes report.json and a report.html that opens offline:
// p99 latency and failed requests per second, the fault window shaded.
func writeReport(dir string, res Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "report.html"))
	if err != nil {
		return err
	}
	defer f.Close()
	return page.Execute(f, map[string]any{
		"R":       res,
		"Latency": chart(res, "p99 latency (ms)", func(i int) float64 { return res.Series[i].Latency.P99 }),
		"Errors":  chart(res, "failed requests per second", func(i int) float64 { return float64(res.Series[i].Errors) }),
		"Rate":    chart(res, "checkouts completed per second", func(i int) float64 { return res.Series[i].AchievedRate }),
	})
}

// chart draws one series over the run as an SVG line with the fault
// window shaded.
func chart(res Result, title string, y func(i int) float64) template.HTML {
	const w, h, pad = 900.0, 220.0, 40.0
	n := len(res.Series)
	if n == 0 {
		return ""
	}
	tMax, yMax := res.Series[n-1].T+1, 1.0
	for i := range n {
		yMax = max(yMax, y(i))
	}
	x := func(t float64) float64 { return pad + (w-2*pad)*t/tMax }
	yy := func(v float64) float64 { return h - pad - (h-2*pad)*v/yMax }
	var pts []string
	for i, p := range res.Series {
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.T), yy(y(i))))
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg viewBox="0 0 %.0f %.0f" width="100%%" role="img" aria-label="%s">`, w, h, template.HTMLEscapeString(title))
	fmt.Fprintf(&sb, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#f8d7da"><title>fault</title></rect>`,
		x(res.FaultAt), pad, max(1, x(res.HealAt)-x(res.FaultAt)), h-2*pad)
	fmt.Fprintf(&sb, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#999"/>`, pad, h-pad, w-pad, h-pad)
	fmt.Fprintf(&sb, `<text x="%.0f" y="20" font-size="13">%s (max %.0f)</text>`, pad, template.HTMLEscapeString(title), yMax)
	fmt.Fprintf(&sb, `<text x="%.0f" y="%.0f" font-size="11">0 s</text><text x="%.0f" y="%.0f" font-size="11" text-anchor="end">%.0f s</text>`,
		pad, h-pad+16, w-pad, h-pad+16, tMax)
	fmt.Fprintf(&sb, `<polyline fill="none" stroke="#1f6feb" stroke-width="2" points="%s"/></svg>`, strings.Join(pts, " "))
	return template.HTML(sb.String())
}

var page = template.Must(template.New("drill").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>drill {{.R.Drill}} (seed {{.R.Seed}})</title>
<style>body{font:14px system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em}td,th{text-align:left;padding:2px 12px 2px 0}.bad{color:#b42318}.good{color:#067647}</style></head>
<body><h1>drill {{.R.Drill}}</h1><p>{{.R.Summary}}</p>
<p class="{{if .R.Passed}}good{{else}}bad{{end}}"><strong>{{if .R.Passed}}passed{{else}}BREACH{{end}}</strong>
{{range .R.Problems}}<br>{{.}}{{end}}</p>
<table>
<tr><th>seed</th><td>{{.R.Seed}}</td></tr>
<tr><th>load</th><td>{{.R.Rate}} checkouts/s</td></tr>
<tr><th>fault</th><td>{{printf "%.1f" .R.FaultAt}} s to {{printf "%.1f" .R.HealAt}} s (shaded)</td></tr>
<tr><th>pre-fault p99</th><td>{{printf "%.0f" .R.BaselineP99}} ms</td></tr>
<tr><th>serving again</th><td>{{if lt .R.ServingIn 0.0}}never{{else}}{{printf "%.0f" .R.ServingIn}} s after the heal{{end}}</td></tr>
<tr><th>back to pre-fault p99</th><td>{{if lt .R.RecoveredIn 0.0}}not within the run{{else}}{{printf "%.0f" .R.RecoveredIn}} s after the heal{{end}}</td></tr>
<tr><th>acknowledged orders</th><td>{{.R.Acknowledged}}, lost {{.R.Lost}}</td></tr>
<tr><th>failed requests, sheds</th><td>{{.R.Errors}}, {{.R.Sheds}}</td></tr>
<tr><th>audit</th><td>{{if .R.AuditPassed}}passed{{else}}failed{{end}}</td></tr>
</table>
{{with .R.Probes}}<h2>probes during the fault</h2>
<table><tr><th>what</th><th>issued by</th><th>used at</th><th>answer</th><th>verdict</th></tr>
{{range .}}<tr><td>{{.What}}</td><td>{{.IssuedBy}}</td><td>{{.UsedAt}}</td><td>{{if .Error}}{{.Error}}{{else}}{{.Status}} {{.ProblemType}}{{end}}</td><td class="{{if .Clean}}good{{else}}bad{{end}}">{{if .Clean}}clean{{else}}BREACH{{end}}</td></tr>
{{end}}</table>{{end}}
{{.Latency}}{{.Errors}}{{.Rate}}
<p>The load's own report (every status, per operation): <a href="load/report.html">load/report.html</a>.</p>
</body></html>
`))
