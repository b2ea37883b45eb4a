package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// metrics is one scrape of the target's /metrics (Prometheus text).
type metrics struct {
	at      time.Time
	samples map[string]map[string]float64 // name → labels → value
}

// scrape reads /metrics; a target without it gives an empty scrape.
func scrape(ctx context.Context, c *client) metrics {
	m := metrics{at: time.Now(), samples: map[string]map[string]float64{}}
	r := c.call(ctx, "GET", "/metrics", "", nil)
	if r.code != 200 {
		return m
	}
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, labels, rest := line, "", ""
		if i := strings.IndexByte(line, '{'); i >= 0 {
			j := strings.LastIndexByte(line, '}')
			if j < i {
				continue
			}
			name, labels, rest = line[:i], line[i+1:j], line[j+1:]
		} else if i := strings.IndexByte(line, ' '); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		if m.samples[name] == nil {
			m.samples[name] = map[string]float64{}
		}
		m.samples[name][labels] = v
	}
	return m
}

// sum adds the samples of a metric whose labels contain every filter
// (e.g. `db_name="main"`).
func (m metrics) sum(name string, filters ...string) float64 {
	var s float64
outer:
	for labels, v := range m.samples[name] {
		for _, f := range filters {
			if !strings.Contains(labels, f) {
				continue outer
			}
		}
		s += v
	}
	return s
}

// label returns the value of key in a label string.
func label(labels, key string) string {
	i := strings.Index(labels, key+`="`)
	if i < 0 {
		return ""
	}
	rest := labels[i+len(key)+2:]
	return rest[:max(strings.IndexByte(rest, '"'), 0)]
}

// Resources are the target's saturation signals during a step, from its
// own /metrics (one replica's, behind a load balancer).
type Resources struct {
	// CPUCores is process CPU seconds per second (2.0 = two cores busy);
	// GoMaxProcs is how many it may use.
	CPUCores   float64 `json:"cpu_cores"`
	GoMaxProcs float64 `json:"gomaxprocs"`
	// DB pools: waits for a free connection and the seconds waited during
	// the step, connections in use and the maximum under load, per pool.
	DBPools []DBPool `json:"db_pools"`
	// InFlight is HTTP requests being served under load; Shed how many
	// requests the server shed during the step; ShedLimit its adaptive
	// concurrency limit.
	InFlight  float64 `json:"in_flight"`
	Shed      float64 `json:"shed"`
	ShedLimit float64 `json:"shed_limit"`
	// ShedBy splits Shed by "class/reason" (e.g. "checkout/limit").
	ShedBy       map[string]float64 `json:"shed_by,omitempty"`
	BreakersOpen []string           `json:"breakers_open"`
	// HostLoad is the 1-minute load average of this machine and HostCPUs
	// its CPUs, read only when the target is on loopback (same machine):
	// a load above the CPUs means the target competes for CPU with the
	// load generator and everything else.
	HostLoad float64 `json:"host_load_avg1,omitempty"`
	HostCPUs int     `json:"host_cpus,omitempty"`
}

// hostLoad reads this machine's load average (Linux; 0 elsewhere).
func hostLoad() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// loopback reports whether the target URL names this machine.
func loopback(target string) bool {
	u, err := url.Parse(target)
	if err != nil {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// DBPool is one database pool's saturation.
type DBPool struct {
	Name        string  `json:"name"`
	Waits       float64 `json:"waits"`
	WaitSeconds float64 `json:"wait_seconds"`
	InUse       float64 `json:"in_use"`
	MaxOpen     float64 `json:"max_open"`
}

// resources compares a scrape under load with one before the step.
func resources(before, under metrics) Resources {
	secs := under.at.Sub(before.at).Seconds()
	r := Resources{DBPools: []DBPool{},
		GoMaxProcs: max(under.sum("go_sched_gomaxprocs_threads"), under.sum("go_gomaxprocs")),
		InFlight:   under.sum("surge_http_in_flight_requests"),
		Shed:       under.sum("surge_shed_total") - before.sum("surge_shed_total"),
		ShedLimit:  under.sum("surge_shed_limit"),
	}
	for labels, v := range under.samples["surge_shed_total"] {
		if d := v - before.samples["surge_shed_total"][labels]; d > 0 {
			if r.ShedBy == nil {
				r.ShedBy = map[string]float64{}
			}
			r.ShedBy[label(labels, "class")+"/"+label(labels, "reason")] += d
		}
	}
	if secs > 0 {
		r.CPUCores = round3((under.sum("process_cpu_seconds_total") - before.sum("process_cpu_seconds_total")) / secs)
	}
	var names []string
	for labels := range under.samples["go_sql_max_open_connections"] {
		names = append(names, label(labels, "db_name"))
	}
	sort.Strings(names)
	for _, n := range names {
		f := `db_name="` + n + `"`
		r.DBPools = append(r.DBPools, DBPool{Name: n,
			Waits:       under.sum("go_sql_wait_count_total", f) - before.sum("go_sql_wait_count_total", f),
			WaitSeconds: round3(under.sum("go_sql_wait_duration_seconds_total", f) - before.sum("go_sql_wait_duration_seconds_total", f)),
			InUse:       under.sum("go_sql_in_use_connections", f),
			MaxOpen:     under.sum("go_sql_max_open_connections", f),
		})
	}
	r.BreakersOpen = []string{}
	for labels, v := range under.samples["surge_breaker_state"] {
		if v >= 2 {
			r.BreakersOpen = append(r.BreakersOpen, label(labels, "dependency"))
		}
	}
	sort.Strings(r.BreakersOpen)
	return r
}

// saturating names what ran out at a step: the strongest signal first,
// then the others that also tripped.
func saturating(st StepReport) string {
	r, c := st.Resources, st.Client
	secs := max(st.DurationSeconds, 1)
	var found []string
	if c.Saturated {
		found = append(found, fmt.Sprintf("the load generator itself (%d late starts, %d dropped arrivals: add connections or a second client)", c.Late, c.Dropped))
	}
	if len(r.BreakersOpen) > 0 {
		found = append(found, "circuit breaker open: "+strings.Join(r.BreakersOpen, ", "))
	}
	for _, p := range r.DBPools {
		// Wait seconds per second is the average number of requests
		// queued for a connection of this pool.
		if waiting := p.WaitSeconds / secs; waiting >= 0.25 {
			found = append(found, fmt.Sprintf("database pool %q (%.0f max connections): on average %.1f requests waiting for a connection, %.0f waits", p.Name, p.MaxOpen, waiting, p.Waits))
		}
	}
	if r.GoMaxProcs > 0 && r.CPUCores >= 0.85*r.GoMaxProcs {
		found = append(found, fmt.Sprintf("CPU: %.2f of %.0f cores busy", r.CPUCores, r.GoMaxProcs))
	}
	if r.HostCPUs > 0 && r.HostLoad >= float64(r.HostCPUs) {
		found = append(found, fmt.Sprintf("host CPU: load average %.1f on %d CPUs, the target got %.2f cores", r.HostLoad, r.HostCPUs, r.CPUCores))
	}
	if r.Shed > 0 {
		found = append(found, fmt.Sprintf("admission control: %.0f requests shed%s (adaptive limit %.0f, %.0f in flight)", r.Shed, shedBy(r.ShedBy), r.ShedLimit, r.InFlight))
	}
	if len(found) == 0 {
		return fmt.Sprintf("no server limit tripped (no pool queueing, shedding or open breaker; CPU %.2f of %.0f cores, %.0f in flight): latency grew by queueing elsewhere — on one machine, likely the CPU shared with the load generator", r.CPUCores, r.GoMaxProcs, r.InFlight)
	}
	if len(found) == 1 {
		return found[0]
	}
	return found[0] + " (also: " + strings.Join(found[1:], "; ") + ")"
}

// shedBy formats sheds by class and reason, most first: ": checkout/limit 3, ...".
func shedBy(by map[string]float64) string {
	if len(by) == 0 {
		return ""
	}
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if by[keys[i]] != by[keys[j]] {
			return by[keys[i]] > by[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.0f", k, by[k])
	}
	return ": " + strings.Join(parts, ", ")
}

// signals summarises a step's resources in one neutral line.
func signals(r Resources) string {
	s := fmt.Sprintf("CPU %.2f of %.0f cores, %.0f requests in flight, %.0f shed", r.CPUCores, r.GoMaxProcs, r.InFlight, r.Shed)
	for _, p := range r.DBPools {
		s += fmt.Sprintf(", pool %q %.0f waits (%.2f s)", p.Name, p.Waits, p.WaitSeconds)
	}
	if len(r.BreakersOpen) > 0 {
		s += ", breakers open: " + strings.Join(r.BreakersOpen, ", ")
	}
	if r.HostCPUs > 0 {
		s += fmt.Sprintf(", host load average %.1f on %d CPUs", r.HostLoad, r.HostCPUs)
	}
	return s
}
