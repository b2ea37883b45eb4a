package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// sink is an OTLP/HTTP trace receiver that counts the spans it gets, so
// the benchmark can price tracing every request and see how many spans
// actually left Surge.
type sink struct {
	URL   string
	spans atomic.Int64
	srv   *http.Server
}

func startSink() (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{URL: "http://" + ln.Addr().String()}
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if proto.Unmarshal(b, &req) == nil {
			for _, rs := range req.ResourceSpans {
				for _, ss := range rs.ScopeSpans {
					s.spans.Add(int64(len(ss.Spans)))
				}
			}
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	})}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *sink) Close() { s.srv.Close() }

// settled waits until no span has arrived for two seconds (the exporter
// sends every few seconds), at most 30 s, and returns the spans received.
func (s *sink) settled() int64 {
	deadline := time.Now().Add(30 * time.Second)
	last := s.spans.Load()
	for time.Now().Before(deadline) {
		time.Sleep(2 * time.Second)
		n := s.spans.Load()
		if n == last {
			return n
		}
		last = n
	}
	return last
}

// requestsAnswered sums surge_http_requests_total from /metrics.
func requestsAnswered(c *http.Client, base string) float64 {
	resp, err := c.Get(base + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var total float64
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, "surge_http_requests_total{") {
			var v float64
			fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v)
			total += v
		}
	}
	return total
}
