package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/tracing/tracectx"
)

type ctxKey int

const requestIDKey ctxKey = iota

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// validRequestID accepts a caller's id only if it is short and plain, so it
// can go into logs and headers unescaped.
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// statusRecorder remembers the status and size of a response.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// gateway wraps every request: request id, the trace's span for this hop,
// panic recovery, access log, body cap and deadline. Route metrics are
// added per route by instrument.
func (s *Server) gateway(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		parent, _ := tracectx.Parse(r.Header.Get("traceparent"))
		ctx, span := s.tracer.Start(context.WithValue(r.Context(), requestIDKey, id), r.Method, trace.SpanKindServer, parent)
		hop := tracectx.From(ctx)
		w.Header().Set("traceparent", hop.String())
		ctx, cancel := context.WithTimeout(ctx, s.requestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.maxBodyBytes)
		}
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					span.End()
					panic(v)
				}
				s.log.ErrorContext(ctx, "panic", "request_id", id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if rec.status == 0 {
					s.problem(rec, r, errcode.New(errcode.Internal, "panic"))
				}
			}
			status := rec.status
			if status == 0 {
				status = http.StatusOK // nothing written: net/http answers 200
			}
			span.SetAttributes(attribute.String("http.request.method", r.Method), attribute.Int("http.response.status_code", status))
			if status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(status))
			}
			span.End()
			if s.accessLog {
				s.log.LogAttrs(ctx, slog.LevelInfo, "request",
					slog.String("request_id", id),
					slog.String("trace_id", hop.TraceID),
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.Int("status", rec.status),
					slog.Int("bytes", rec.bytes),
					slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
					slog.String("remote", r.RemoteAddr))
			}
		}()
		if clean := cleanPath(r.URL.Path); clean != r.URL.Path {
			// net/http's mux would answer a text/plain 307 to the clean
			// path; an API client gets a problem naming it instead.
			s.problem(rec, r, errcode.Typed(errcode.Invalid, "non_canonical_path",
				"the path is not in canonical form; use %s", clean).With("canonical_path", clean))
			return
		}
		next.ServeHTTP(rec, r)
	})
}

// cleanPath is the path net/http's mux would redirect to: dot segments and
// doubled slashes removed, a trailing slash kept.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean
}

// instrument records RED metrics for one route; the label is the route
// pattern, never the raw path, so cardinality stays bounded.
func (s *Server) instrument(pattern string, next http.Handler) http.Handler {
	method, route, found := strings.Cut(pattern, " ")
	if !found {
		method, route = "ANY", pattern
	}
	duration := s.metrics.duration.WithLabelValues(method, route)
	var byStatus sync.Map // status code -> prometheus.Counter, resolved once per code
	count := func(status int) {
		c, ok := byStatus.Load(status)
		if !ok {
			c, _ = byStatus.LoadOrStore(status, s.metrics.requests.WithLabelValues(method, route, strconv.Itoa(status)))
		}
		c.(prometheus.Counter).Inc()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// The gateway's span could only be named by the method: the route
		// is known here.
		span := trace.SpanFromContext(r.Context())
		span.SetName(pattern)
		span.SetAttributes(attribute.String("http.route", route))
		s.metrics.inFlight.Inc()
		rec, ok := w.(*statusRecorder)
		if !ok {
			rec = &statusRecorder{ResponseWriter: w}
		}
		defer func() {
			s.metrics.inFlight.Dec()
			duration.Observe(time.Since(start).Seconds())
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			count(status)
		}()
		next.ServeHTTP(rec, r)
	})
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}
