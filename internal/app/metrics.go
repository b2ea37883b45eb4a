package app

import (
	"context"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/surge-commerce/surge/internal/broker"
	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/platform"
	"github.com/surge-commerce/surge/internal/store"
)

func newRegistry(st *store.Store, cat *catalog.Service, brk *broker.Broker, build Build) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "surge_outbox_lag_seconds", Help: "Age of the oldest unpublished outbox event (0 when none).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		lag, _, _ := st.OutboxLag(ctx, time.Now())
		return lag.Seconds()
	}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "surge_dlq_depth", Help: "Events in the dead-letter stream.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, _ := brk.StreamMessages(ctx, event.DLQ.Name)
		return float64(n)
	}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "surge_refunds_owed", Help: "Refunds the payment provider has not confirmed yet (money still owed back).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		owed, _ := st.OwedRefunds(ctx)
		return float64(len(owed))
	}))
	if _, _, configured := st.ReplicaLag(); configured {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "surge_replica_lag_seconds", Help: "How far the read replica's replay is behind the primary (-1: it does not answer).",
		}, func() float64 {
			lag, _, _ := st.ReplicaLag()
			return lag.Seconds()
		}), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "surge_replica_in_use", Help: "1 while catalog reads go to the read replica, 0 while they go to the primary.",
		}, func() float64 {
			if _, usable, _ := st.ReplicaLag(); usable {
				return 1
			}
			return 0
		}))
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildInfoMetric(build))
	for name, db := range st.Pools() {
		reg.MustRegister(collectors.NewDBStatsCollector(db, name))
	}
	reg.MustRegister(st.WriterMetrics()...)
	for name, c := range cat.Caches() {
		for i, result := range []string{"hit", "miss", "stale"} {
			reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name:        "surge_cache_requests_total",
				Help:        "Cache lookups by cache and result (hit, miss, stale served on error).",
				ConstLabels: prometheus.Labels{"cache": name, "result": result},
			}, func() float64 {
				h, m, s := c.Stats()
				return float64([]uint64{h, m, s}[i])
			}))
		}
	}
	return reg
}

// buildInfoMetric is the surge_build_info gauge: always 1, with the build
// in its labels, so dashboards can tell which binary a replica runs.
func buildInfoMetric(b Build) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "surge_build_info",
		Help: "The running binary's build: version, VCS revision and Go version (always 1).",
		ConstLabels: prometheus.Labels{
			"version": b.Version, "revision": b.Revision, "goversion": b.GoVersion,
		},
	})
	g.Set(1)
	return g
}

// registerFlags exports each runtime feature flag.
func registerFlags(reg prometheus.Registerer, flags *platform.Flags) {
	for _, name := range platform.Names() {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "surge_feature_flag", Help: "Runtime feature flags: 1 on, 0 off.", ConstLabels: prometheus.Labels{"flag": name},
		}, func() float64 {
			if flags.Enabled(name) {
				return 1
			}
			return 0
		}))
	}
}

// registerBreakers exports each dependency's circuit breaker state.
func registerBreakers(reg prometheus.Registerer, states map[string]func() string) {
	for dep, state := range states {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "surge_breaker_state",
			Help:        "Circuit breaker state: 0 closed (or disabled), 1 half-open, 2 open.",
			ConstLabels: prometheus.Labels{"dependency": dep},
		}, func() float64 { return breakerValue(state()) }))
	}
}

func breakerValue(state string) float64 {
	switch state {
	case "open":
		return 2
	case "half-open":
		return 1
	}
	return 0
}

// serveMetrics serves the registry and the per-shop business figures (a
// sale's units left, its queue) on ln; they never go to the public API
// port's /metrics.
func serveMetrics(ln net.Listener, reg *prometheus.Registry, st *store.Store) *http.Server {
	perShop := prometheus.NewRegistry()
	perShop.MustRegister(newSaleCollector(st))
	all := prometheus.Gatherers{reg, perShop}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(all, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv
}

func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
