// Package tracing exports Surge's spans with OpenTelemetry, over OTLP/HTTP,
// when an endpoint is configured. Each hop (a request, a consumer applying
// an event) is one span whose ids are the ones tracectx carries into logs,
// outbox rows and events, so a trace id found in a log line finds the
// spans too.
//
// With no endpoint there is no tracer, nothing is exported and no span is
// built: each hop only gets its tracectx ids.
package tracing

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/surge-commerce/surge/internal/tracing/tracectx"
)

// Config says where spans go.
type Config struct {
	// Endpoint is the OTLP/HTTP collector's base URL, e.g.
	// http://127.0.0.1:4318; spans go to its /v1/traces. Empty: no export.
	Endpoint string
	// SampleRatio is the share of new traces recorded (0..1); a request
	// that arrives with a sampled or unsampled parent follows its parent.
	SampleRatio float64
	// Service, Version and Role name this process in every span.
	Service, Version, Role string
	// Logger receives the exporter's errors (a collector down, say) as
	// warnings instead of the SDK's plain lines on stderr.
	Logger *slog.Logger
}

// exportTimeout bounds one export to the collector: a slow collector costs
// spans (the queue drops them when full), never requests.
const exportTimeout = 5 * time.Second

// Tracer starts the spans of one process. A nil *Tracer exports nothing:
// its hops only get tracectx ids.
type Tracer struct {
	provider trace.TracerProvider
	tracer   trace.Tracer
}

// Setup builds the tracer for cfg: nil when no endpoint is configured.
// Shut it down on exit, with a deadline, to flush the last spans.
func Setup(ctx context.Context, cfg Config) (*Tracer, error) {
	if cfg.Endpoint == "" {
		return nil, nil
	}
	if cfg.SampleRatio < 0 || cfg.SampleRatio > 1 {
		return nil, fmt.Errorf("trace sample ratio %v: want 0..1", cfg.SampleRatio)
	}
	if u, err := url.Parse(cfg.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("OTLP endpoint %q: want an http(s) base URL such as http://127.0.0.1:4318", cfg.Endpoint)
	}
	if cfg.Logger != nil {
		// The SDK reports through one process-wide handler: the last
		// Setup's logger gets every tracer's errors.
		log := cfg.Logger
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			log.Warn("trace export failed; spans are dropped, requests are not affected", "err", err)
		}))
	}
	exp, err := otlptracehttp.New(ctx,
		otlptracehttp.WithEndpointURL(strings.TrimRight(cfg.Endpoint, "/")+"/v1/traces"),
		otlptracehttp.WithTimeout(exportTimeout))
	if err != nil {
		return nil, fmt.Errorf("otlp exporter: %w", err)
	}
	res := resource.NewSchemaless(
		attribute.String("service.name", cfg.Service),
		attribute.String("service.version", cfg.Version),
		attribute.String("surge.role", cfg.Role))
	return New(sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithExportTimeout(exportTimeout)),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))))), nil
}

// New returns a tracer whose spans go to tp (tests pass a provider with an
// in-memory exporter).
func New(tp trace.TracerProvider) *Tracer {
	return &Tracer{provider: tp, tracer: tp.Tracer("github.com/surge-commerce/surge")}
}

// Shutdown exports the spans still queued and stops the exporter.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	if p, ok := t.provider.(interface{ Shutdown(context.Context) error }); ok {
		return p.Shutdown(ctx)
	}
	return nil
}

// Start begins this hop's span as a child of parent (zero: a new trace)
// and returns ctx carrying it and its ids (tracectx.From). End the span
// when the hop is done. On a nil tracer the span does nothing and the ids
// are tracectx's own.
func (t *Tracer) Start(ctx context.Context, name string, kind trace.SpanKind, parent tracectx.Parent) (context.Context, trace.Span) {
	if t == nil {
		return tracectx.With(ctx, tracectx.Child(parent)), noop.Span{}
	}
	if sc, ok := spanContext(parent); ok {
		ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
	}
	ctx, span := t.tracer.Start(ctx, name, trace.WithSpanKind(kind))
	sc := span.SpanContext()
	hop := tracectx.Parent{TraceID: sc.TraceID().String(), SpanID: sc.SpanID().String(), Flags: "00"}
	if sc.IsSampled() {
		hop.Flags = "01"
	}
	return tracectx.With(ctx, hop), span
}

func spanContext(p tracectx.Parent) (trace.SpanContext, bool) {
	tid, err1 := trace.TraceIDFromHex(p.TraceID)
	sid, err2 := trace.SpanIDFromHex(p.SpanID)
	flags, err3 := hex.DecodeString(p.Flags)
	if err1 != nil || err2 != nil || err3 != nil || len(flags) != 1 {
		return trace.SpanContext{}, false
	}
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: sid, TraceFlags: trace.TraceFlags(flags[0]), Remote: true,
	}), true
}
