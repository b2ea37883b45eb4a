package tracing_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/surge-commerce/surge/internal/testrig"
	"github.com/surge-commerce/surge/internal/tracing"
	"github.com/surge-commerce/surge/internal/tracing/tracectx"
)

func TestSpansReachTheCollectorWithTheHopsIDs(t *testing.T) {
	col := testrig.StartCollector(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, err := tracing.Setup(ctx, tracing.Config{Endpoint: col.URL, SampleRatio: 1, Service: "surge", Version: "test", Role: "api"})
	if err != nil {
		t.Fatal(err)
	}
	parent, _ := tracectx.Parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	hctx, span := tr.Start(ctx, "GET /v1/things", trace.SpanKindServer, parent)
	hop := tracectx.From(hctx)
	span.End()
	if hop.TraceID != parent.TraceID || hop.SpanID == parent.SpanID || hop.Flags != "01" {
		t.Fatalf("hop %+v does not continue parent %+v", hop, parent)
	}
	if err := tr.Shutdown(ctx); err != nil { // flushes the batch
		t.Fatal(err)
	}
	spans := col.Spans()
	if len(spans) != 1 {
		t.Fatalf("collector got %d spans, want 1", len(spans))
	}
	want := testrig.Span{Service: "surge", Name: "GET /v1/things", Kind: "SPAN_KIND_SERVER",
		TraceID: parent.TraceID, SpanID: hop.SpanID, ParentSpanID: parent.SpanID}
	if spans[0] != want {
		t.Fatalf("span %+v\nwant %+v (the ids logs and events carry)", spans[0], want)
	}
}

func TestAnUnsampledParentIsFollowedAndNothingIsExported(t *testing.T) {
	col := testrig.StartCollector(t)
	ctx := context.Background()
	tr, err := tracing.Setup(ctx, tracing.Config{Endpoint: col.URL, SampleRatio: 1, Service: "surge"})
	if err != nil {
		t.Fatal(err)
	}
	parent, _ := tracectx.Parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
	hctx, span := tr.Start(ctx, "hop", trace.SpanKindServer, parent)
	span.End()
	if hop := tracectx.From(hctx); hop.TraceID != parent.TraceID || hop.Flags != "00" {
		t.Fatalf("hop %+v, want the parent's trace, unsampled", hop)
	}
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if spans := col.Spans(); len(spans) != 0 {
		t.Fatalf("exported %d spans of an unsampled trace", len(spans))
	}
}

func TestWithoutAnEndpointHopsKeepTheirIDs(t *testing.T) {
	tr, err := tracing.Setup(context.Background(), tracing.Config{})
	if err != nil || tr != nil {
		t.Fatalf("without an endpoint: tracer %v, err %v; want none", tr, err)
	}
	parent, _ := tracectx.Parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	hctx, span := tr.Start(context.Background(), "hop", trace.SpanKindConsumer, parent)
	span.End()
	hop := tracectx.From(hctx)
	if hop.TraceID != parent.TraceID || hop.SpanID == parent.SpanID || hop.SpanID == "" {
		t.Fatalf("hop %+v does not continue parent %+v", hop, parent)
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := tracing.Setup(context.Background(), tracing.Config{Endpoint: "http://127.0.0.1:1", SampleRatio: 2}); err == nil {
		t.Fatal("a sample ratio of 2 was accepted")
	}
	for _, bad := range []string{"127.0.0.1:4318", "collector:4318", "ftp://collector", "http://", "http://a b"} {
		if _, err := tracing.Setup(context.Background(), tracing.Config{Endpoint: bad, SampleRatio: 1}); err == nil {
			t.Errorf("endpoint %q was accepted", bad)
		}
	}
}

func TestAFailedExportIsLoggedAsAWarning(t *testing.T) {
	var logs syncBuffer
	ctx := context.Background()
	tr, err := tracing.Setup(ctx, tracing.Config{Endpoint: "http://127.0.0.1:1", SampleRatio: 1, Service: "surge",
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		_, span := tr.Start(ctx, "hop", trace.SpanKindServer, tracectx.Parent{})
		span.End()
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_ = tr.Shutdown(sctx) // the failed export may be reported here or to the logger
	testrig.Eventually(t, "a warning about the failed export in the logs", func() bool {
		return strings.Contains(logs.String(), `"level":"WARN","msg":"trace export failed`)
	})
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
