package loadtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func serveMetrics(t *testing.T, text string) metrics {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(text)) }))
	defer srv.Close()
	c := newClient(srv.URL, 1, 10*time.Second)
	defer c.close()
	return scrape(context.Background(), c)
}

func TestResourcesAndSaturation(t *testing.T) {
	before := serveMetrics(t, `# HELP process_cpu_seconds_total x
process_cpu_seconds_total 10
go_sql_wait_count_total{db_name="write"} 5
go_sql_wait_duration_seconds_total{db_name="write"} 1
go_sql_max_open_connections{db_name="write"} 1
surge_shed_total{class="browse",reason="limit"} 0
`)
	under := serveMetrics(t, `process_cpu_seconds_total 29
go_sched_gomaxprocs_threads 2
go_sql_wait_count_total{db_name="write"} 905
go_sql_wait_duration_seconds_total{db_name="write"} 9
go_sql_in_use_connections{db_name="write"} 1
go_sql_max_open_connections{db_name="write"} 1
surge_shed_total{class="browse",reason="limit"} 7
surge_shed_total{class="extras",reason="bulkhead"} 3
surge_shed_limit 40
surge_http_in_flight_requests 33
surge_breaker_state{dependency="psp"} 0
`)
	under.at = before.at.Add(10 * time.Second)
	r := resources(before, under)
	if r.CPUCores != 1.9 || r.GoMaxProcs != 2 || r.Shed != 10 || r.ShedLimit != 40 || r.InFlight != 33 || len(r.BreakersOpen) != 0 {
		t.Fatalf("resources %+v", r)
	}
	if len(r.DBPools) != 1 || r.DBPools[0].Name != "write" || r.DBPools[0].Waits != 900 || r.DBPools[0].WaitSeconds != 8 {
		t.Fatalf("pools %+v", r.DBPools)
	}
	got := saturating(StepReport{DurationSeconds: 10, Requests: 1000, Resources: r})
	if !strings.HasPrefix(got, `database pool "write"`) || !strings.Contains(got, "CPU: 1.90 of 2") ||
		!strings.Contains(got, "10 requests shed: browse/limit 7, extras/bulkhead 3 (") {
		t.Fatalf("saturating: %s", got)
	}
	r.BreakersOpen = []string{"psp"}
	if got := saturating(StepReport{DurationSeconds: 10, Resources: r}); !strings.HasPrefix(got, "circuit breaker open: psp") {
		t.Fatalf("saturating with an open breaker: %s", got)
	}
}

func TestEnvelopeAndHTML(t *testing.T) {
	cfg := Config{SLOP99: 100 * time.Millisecond, MaxErrorRate: 0.001}
	steps := []StepReport{
		{Step: 1, OfferedRate: 100, AchievedRate: 99.5, Percentiles: Percentiles{P99: 20}, WithinSLO: true,
			Series: []Point{{T: 0, OfferedRate: 100, AchievedRate: 99, StatusCodes: map[string]int64{"200": 99}}}},
		{Step: 2, OfferedRate: 200, AchievedRate: 150, Percentiles: Percentiles{P99: 900},
			Resources: Resources{CPUCores: 2, GoMaxProcs: 2},
			Series:    []Point{{T: 1, OfferedRate: 200, AchievedRate: 150, StatusCodes: map[string]int64{"200": 150, "503": 50}}}},
	}
	sr := ScenarioReport{Scenario: "browse", Steps: steps, Knee: &Knee{Step: 2, OfferedRate: 200, Reason: "p99 900.0 ms > SLO 100.0 ms"}}
	sr.Envelope = envelope(sr, cfg)
	e := sr.Envelope
	if e.SustainedRate != 99.5 || e.KneeRate != 200 || !strings.HasPrefix(e.SaturatingResource, "CPU: 2.00 of 2") ||
		!strings.Contains(e.Statement, "sustains 100 op/s") {
		t.Fatalf("envelope %+v", e)
	}
	dir := t.TempDir()
	rep := &Report{Target: "http://127.0.0.1:1", Config: ConfigReport{Scenario: "browse", SLOP99MS: 100}, Scenarios: []ScenarioReport{sr}}
	if err := writeHTML(dir, rep); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	html := string(b)
	for _, want := range []string{`<svg id="chart-latency"`, `<svg id="chart-rate"`, `<svg id="chart-load"`, `<svg id="chart-status"`, `class="knee"`, "knee 200/s", "503"} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}
