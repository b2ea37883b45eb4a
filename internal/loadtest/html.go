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
<style>body{font-family:sans-serif;margin:2em;max-width:1000px}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}.fail{color:#b00;font-weight:bold}
.ok{color:#080;font-weight:bold}.chart{display:block;margin:1em 0}</style></head><body>
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
{{.Latency}}
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
	R                           ScenarioReport
	Latency, Rates, Load, Codes template.HTML
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

// charts draws a scenario's four charts from its per-second series and
// its steps.
func charts(sr ScenarioReport, cfg ConfigReport) scenarioView {
	var p50, p90, p99, offered, achieved series
	p50 = series{name: "p50", color: palette[0]}
	p90 = series{name: "p90", color: palette[1]}
	p99 = series{name: "p99", color: palette[3]}
	offered = series{name: "offered", color: palette[7]}
	achieved = series{name: "achieved", color: palette[2]}
	codes := map[string]*series{}
	var codeOrder []string
	for _, st := range sr.Steps {
		for _, pt := range st.Series {
			p50.x, p50.y = append(p50.x, pt.T), append(p50.y, pt.Latency.P50)
			p90.x, p90.y = append(p90.x, pt.T), append(p90.y, pt.Latency.P90)
			p99.x, p99.y = append(p99.x, pt.T), append(p99.y, pt.Latency.P99)
			offered.x, offered.y = append(offered.x, pt.T), append(offered.y, pt.OfferedRate)
			achieved.x, achieved.y = append(achieved.x, pt.T), append(achieved.y, pt.AchievedRate)
		}
	}
	for _, st := range sr.Steps {
		for _, pt := range st.Series {
			for k := range pt.StatusCodes {
				if codes[k] == nil {
					codes[k] = &series{name: k}
					codeOrder = append(codeOrder, k)
				}
			}
		}
	}
	var codeSeries []series
	for i, k := range sortedKeys(toSet(codeOrder)) {
		s := codes[k]
		s.color = palette[i%len(palette)]
		for _, st := range sr.Steps {
			for _, pt := range st.Series {
				s.x, s.y = append(s.x, pt.T), append(s.y, float64(pt.StatusCodes[k]))
			}
		}
		codeSeries = append(codeSeries, *s)
	}
	loadP50 := series{name: "p50", color: palette[0]}
	loadP99 := series{name: "p99", color: palette[3]}
	for _, st := range sr.Steps {
		loadP50.x, loadP50.y = append(loadP50.x, st.OfferedRate), append(loadP50.y, st.P50)
		loadP99.x, loadP99.y = append(loadP99.x, st.OfferedRate), append(loadP99.y, st.P99)
	}
	marks := []marker{{label: fmt.Sprintf("SLO p99 %.0f ms", cfg.SLOP99MS), y: cfg.SLOP99MS, horizontal: true}}
	if sr.Knee != nil {
		marks = append(marks, marker{label: fmt.Sprintf("knee %.0f/s", sr.Knee.OfferedRate), x: sr.Knee.OfferedRate, vertical: true})
	}
	return scenarioView{R: sr,
		Latency: lineChart("chart-latency", "Latency percentiles over time", "seconds", "ms", []series{p50, p90, p99}, nil, false),
		Rates:   lineChart("chart-rate", "Achieved vs offered rate", "seconds", "operations/s", []series{offered, achieved}, nil, false),
		Load:    lineChart("chart-load", "Latency vs load (knee marked)", "offered operations/s", "ms", []series{loadP50, loadP99}, marks, true),
		Codes:   lineChart("chart-status", "Status codes over time", "seconds", "responses/s", codeSeries, nil, false),
	}
}

func toSet(keys []string) map[string]int64 {
	m := make(map[string]int64, len(keys))
	for _, k := range keys {
		m[k] = 1
	}
	return m
}
