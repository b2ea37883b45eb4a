package psp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Faults are the runtime fault knobs. They apply to every /v1/payments
// endpoint, in this order: latency, then error, then timeout, then the
// operation itself (where decline applies to new payments), then a dropped
// response. /v1/ledger, /v1/faults and /healthz are never faulted, so a
// drill can always be steered and audited.
type Faults struct {
	// LatencyMS is added before handling, plus up to LatencyJitterMS more.
	LatencyMS       int `json:"latency_ms"`
	LatencyJitterMS int `json:"latency_jitter_ms"`
	// ErrorRate answers 503 without doing anything.
	ErrorRate float64 `json:"error_rate"`
	// TimeoutRate holds the request, doing nothing, until the client gives
	// up or the server's MaxHang passes (then 504).
	TimeoutRate float64 `json:"timeout_rate"`
	// DeclineRate declines new payments.
	DeclineRate float64 `json:"decline_rate"`
	// DropResponseRate performs and commits the operation, then closes the
	// connection without answering: the classic lost response.
	DropResponseRate float64 `json:"drop_response_rate"`
}

// Validate reports the first knob outside its range.
func (f Faults) Validate() error {
	if f.LatencyMS < 0 || f.LatencyJitterMS < 0 {
		return errors.New("latency_ms and latency_jitter_ms must not be negative")
	}
	rates := []struct {
		name string
		v    float64
	}{
		{"error_rate", f.ErrorRate},
		{"timeout_rate", f.TimeoutRate},
		{"decline_rate", f.DeclineRate},
		{"drop_response_rate", f.DropResponseRate},
	}
	for _, r := range rates {
		// The negated form also rejects NaN.
		if !(r.v >= 0 && r.v <= 1) {
			return fmt.Errorf("%s must be between 0 and 1", r.name)
		}
	}
	return nil
}

// faulty wraps a payments handler with the fault knobs.
func (s *Server) faulty(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f := s.faults.Load()
		if !s.sleep(r.Context(), s.latency(f)) {
			return
		}
		if s.roll(f.ErrorRate) {
			writeProblem(w, http.StatusServiceUnavailable, typeInjectedError, "injected error: nothing was done")
			return
		}
		if s.roll(f.TimeoutRate) {
			s.hang(w, r)
			return
		}
		if !s.roll(f.DropResponseRate) {
			h(w, r)
			return
		}
		h(discardWriter{header: http.Header{}}, r)
		s.drop(w)
	}
}

func (s *Server) latency(f *Faults) time.Duration {
	d := time.Duration(f.LatencyMS) * time.Millisecond
	if f.LatencyJitterMS > 0 {
		d += time.Duration(s.random() * float64(f.LatencyJitterMS) * float64(time.Millisecond))
	}
	return d
}

// sleep waits d and reports whether the request should go on.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.stopping:
	}
	return false
}

// hang holds the request until the client leaves, the server stops or
// MaxHang passes; only in the last case does anyone read the 504.
func (s *Server) hang(w http.ResponseWriter, r *http.Request) {
	if s.sleep(r.Context(), s.cfg.MaxHang) {
		writeProblem(w, http.StatusGatewayTimeout, typeInjectedTimeout, "injected timeout: nothing was done")
	}
}

// drop closes the connection without a response. The operation has
// already committed, so the client cannot tell success from failure.
func (s *Server) drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Hijacking is impossible (e.g. HTTP/2): abort the response instead.
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// discardWriter swallows the response of an operation whose answer is to
// be lost.
type discardWriter struct{ header http.Header }

func (d discardWriter) Header() http.Header         { return d.header }
func (d discardWriter) Write(b []byte) (int, error) { return io.Discard.Write(b) }
func (d discardWriter) WriteHeader(int)             {}
