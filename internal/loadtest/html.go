package loadtest

import (
	"fmt"
	"html/template"
	"os"
	"path/filepath"
)

// The report page: inline SVG charts and a little inline CSS, nothing
// fetched from the network, so it opens offline and can be attached to a
// ticket as one file.
var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"deref": func(p *int64) int64 { return *p },
	"pct":   func(f float64) string { return fmt.Sprintf("%.3f%%", 100*f) },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>surge loadtest: {{.Rep.Config.Scenario}}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}.fail{color:#b00;font-weight:bold}
.ok{color:#080;font-weight:bold}.chart{display:block;width:100%;height:auto;margin:1em 0}summary{cursor:pointer;color:#1f5fa0}</style></head><body>
<h1>surge loadtest — {{.Rep.Config.Scenario}}</h1>
<p>Target {{.Rep.Target}}, started {{.Rep.StartedAt.Format "2006-01-02 15:04:05 MST"}}. Latencies in milliseconds from each
request's scheduled time (open model); rates in operations per second.</p>
<h2>Audit: {{if .Rep.Audit.Passed}}<span class="ok">passed</span>{{else}}<span class="fail">FAILED</span>{{end}}</h2>
<table><tr><th>check</th><th>result</th><th>summary</th></tr>
{{range .Rep.Audit.Details}}<tr><td style="text-align:left">{{.Name}}</td><td>{{if .Passed}}<span class="ok">ok</span>{{else}}<span class="fail">breach</span>{{end}}</td>
<td style="text-align:left">{{.Summary}}{{range .Breaches}}<br>{{.}}{{end}}</td></tr>{{end}}</table>
{{range .Scenarios}}
<h2>Scenario {{.R.Scenario}} (shop {{.R.Shop}})</h2>
{{with .R.Envelope}}<p><b>Capacity envelope:</b> {{.Statement}}</p>{{end}}
{{if .R.Sold}}<p><b>Flash sale:</b> stock {{deref .R.Stock}}, sold {{deref .R.Sold}}; buyers {{.R.Buyers.Total}}: paid {{.R.Buyers.Paid}},
sold out {{.R.Buyers.SoldOut}}, declined {{.R.Buyers.Declined}}, pending {{.R.Buyers.Pending}}, gave up {{.R.Buyers.GaveUp}}, failed {{.R.Buyers.Failed}}.</p>{{end}}
<table><tr><th>step</th><th>offered/s</th><th>achieved/s</th><th>p50</th><th>p90</th><th>p99</th><th>p999</th><th>max</th><th>error rate</th><th>within SLO</th><th>client saturated</th><th>CPU cores</th></tr>
{{range .R.Steps}}<tr><td>{{.Step}}</td><td>{{printf "%.1f" .OfferedRate}}</td><td>{{printf "%.1f" .AchievedRate}}</td><td>{{printf "%.2f" .P50}}</td>
<td>{{printf "%.2f" .P90}}</td><td>{{printf "%.2f" .P99}}</td><td>{{printf "%.2f" .P999}}</td><td>{{printf "%.2f" .Max}}</td>
<td>{{pct .ErrorRate}}</td><td>{{.WithinSLO}}</td><td>{{.Client.Saturated}}</td><td>{{printf "%.2f" .Resources.CPUCores}}</td></tr>{{end}}</table>
<h3>Requests by operation</h3>
<table><tr><th style="text-align:left">operation</th><th>requests</th><th>errors</th><th>req/s</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th></tr>
{{range .R.Operations}}<tr><td style="text-align:left">{{.Name}}</td><td>{{.Requests}}</td><td>{{.Errors}}</td><td>{{printf "%.1f" .Rate}}</td>
<td>{{printf "%.2f" .P50}}</td><td>{{printf "%.2f" .P95}}</td><td>{{printf "%.2f" .P99}}</td><td>{{printf "%.2f" .Max}}</td></tr>{{end}}</table>
{{.Latency}}
<details><summary>Latency on a log scale</summary>{{.LatencyLog}}</details>
{{.Rates}}
{{.Load}}
{{.Codes}}
<h3>Status codes and errors</h3>
<table><tr><th>step</th><th style="text-align:left">status codes</th><th style="text-align:left">errors by kind</th></tr>
{{range .R.Steps}}<tr><td>{{.Step}}</td><td style="text-align:left">{{range $k, $v := .StatusCodes}}{{$k}}: {{$v}} {{end}}</td>
<td style="text-align:left">{{range $k, $v := .Errors}}{{$k}}: {{$v}} {{end}}</td></tr>{{end}}</table>
{{end}}
</body></html>
`))

type scenarioView struct {
	R                                       ScenarioReport
	Latency, LatencyLog, Rates, Load, Codes template.HTML
}

func writeHTML(dir string, rep *Report) error {
	data := struct {
		Rep       *Report
		Scenarios []scenarioView
	}{Rep: rep}
	for _, sr := range rep.Scenarios {
		data.Scenarios = append(data.Scenarios, charts(sr, rep.Config))
	}
	f, err := os.Create(filepath.Join(dir, "report.html"))
	if err != nil {
		return err
	}
	if err := page.Execute(f, data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// charts draws a scenario's charts from its per-second series and its
// steps. Only measured seconds are plotted: a second without requests
// has no latency, the seconds after a step's arrivals end (its drain) are
// not a rate, and the pause between steps is a gap, not a drop to zero.
func charts(sr ScenarioReport, cfg ConfigReport) scenarioView {
	p50 := series{name: "p50", color: palette[0], dash: "2,3"}
	p90 := series{name: "p90", color: palette[1], dash: "7,4"}
	p99 := series{name: "p99", color: palette[3]}
	// Offered is drawn dashed and dark over a wide achieved line, so both
	// show where they coincide.
	offered := series{name: "offered", color: "#333333", dash: "7,5"}
	achieved := series{name: "achieved", color: palette[2], width: 4}
	codeNames := map[string]int64{}
	for _, st := range sr.Steps {
		for _, pt := range st.Series {
			for k := range pt.StatusCodes {
				codeNames[k] = 1
			}
		}
	}
	codes := map[string]*series{}
	for i, k := range sortedKeys(codeNames) {
		codes[k] = &series{name: k, color: palette[i%len(palette)]}
	}
	gapAll := func(ss ...*series) {
		for _, s := range ss {
			s.gap()
		}
		for _, s := range codes {
			s.gap()
		}
	}
	for _, st := range sr.Steps {
		gapAll(&p50, &p90, &p99, &offered, &achieved)
		for i, pt := range st.Series {
			if float64(i+1) <= st.DurationSeconds {
				offered.add(pt.T, pt.OfferedRate)
				achieved.add(pt.T, pt.AchievedRate)
			}
			if pt.Requests == 0 {
				gapAll(&p50, &p90, &p99)
				continue
			}
			p50.add(pt.T, pt.Latency.P50)
			p90.add(pt.T, pt.Latency.P90)
			p99.add(pt.T, pt.Latency.P99)
			for k, s := range codes {
				s.add(pt.T, float64(pt.StatusCodes[k]))
			}
		}
	}
	var codeSeries []series
	for _, k := range sortedKeys(codeNames) {
		codeSeries = append(codeSeries, *codes[k])
	}
	loadP50 := series{name: "p50", color: palette[0], dash: "2,3"}
	loadP99 := series{name: "p99", color: palette[3]}
	for _, st := range sr.Steps {
		loadP50.add(st.OfferedRate, st.P50)
		loadP99.add(st.OfferedRate, st.P99)
	}
	marks := []marker{{label: fmt.Sprintf("SLO p99 %.0f ms", cfg.SLOP99MS), y: cfg.SLOP99MS, horizontal: true}}
	if sr.Knee != nil {
		marks = append(marks, marker{label: fmt.Sprintf("knee %.0f/s", sr.Knee.OfferedRate), x: sr.Knee.OfferedRate, vertical: true})
	}
	latency := chart{id: "chart-latency", title: "Latency percentiles over time", xLabel: "time since start", yLabel: "latency",
		xUnit: "s", yUnit: "ms", series: []series{p50, p90, p99}}
	latencyLog := latency
	latencyLog.id, latencyLog.title, latencyLog.logY = "chart-latency-log", "Latency percentiles over time (log scale)", true
	return scenarioView{R: sr,
		Latency:    latency.svg(),
		LatencyLog: latencyLog.svg(),
		Rates: chart{id: "chart-rate", title: "Achieved vs offered rate", xLabel: "time since start", yLabel: "rate",
			xUnit: "s", yUnit: "op/s", series: []series{achieved, offered}}.svg(),
		Load: chart{id: "chart-load", title: "Latency vs load (knee marked)", xLabel: "offered rate", yLabel: "latency",
			xUnit: "op/s", yUnit: "ms", series: []series{loadP50, loadP99}, marks: marks, dots: true}.svg(),
		Codes: chart{id: "chart-status", title: "Status codes over time", xLabel: "time since start", yLabel: "responses",
			xUnit: "s", yUnit: "req/s", series: codeSeries}.svg(),
	}
}
