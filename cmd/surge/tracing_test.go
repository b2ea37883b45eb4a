package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/surge-commerce/surge/internal/testrig"
	"github.com/surge-commerce/surge/internal/tracing/tracectx"
)

// A checkout that arrives with a traceparent is one trace from the client
// to the consumers that apply its events, in the spans a real collector
// receives and in the ids the response carries.
func TestTracesFollowACheckoutToItsConsumers(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			col := testrig.StartCollector(t)
			env := eng.env(t)
			env["OTEL_EXPORTER_OTLP_ENDPOINT"] = col.URL
			s := startSurge(t, ckLoadEnv(env))
			shop := newShop(t, s.URL, s.AdminKey, "traced")
			shop.product(t, "SKU-T", 10, 0)
			token := shop.customers(t, 1)[0]

			client, _ := tracectx.Parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
			r := api.call("POST", s.URL+"/v1/shops/traced/checkout", token, ckItems("SKU-T", 1),
				"Idempotency-Key", "traced", "traceparent", client.String())
			if r.code != http.StatusCreated {
				t.Fatalf("checkout: %s", r)
			}
			hop, ok := tracectx.Parse(r.header.Get("traceparent"))
			if !ok || hop.TraceID != client.TraceID || hop.SpanID == client.SpanID {
				t.Fatalf("response traceparent %q does not continue %q", r.header.Get("traceparent"), client)
			}

			// The exporter sends in batches every few seconds.
			var server testrig.Span
			consumers := map[string]bool{}
			testrig.Eventually(t, "the server's span and four consumer spans", func() bool {
				for _, sp := range col.Spans() {
					switch {
					case sp.TraceID != client.TraceID:
					case sp.Kind == "SPAN_KIND_SERVER" && sp.SpanID == hop.SpanID:
						server = sp
					case sp.Kind == "SPAN_KIND_CONSUMER" && sp.ParentSpanID == hop.SpanID:
						consumers[strings.Fields(sp.Name)[0]] = true
					}
				}
				return server.SpanID != "" && len(consumers) >= 4
			})
			if server.Name != "POST /v1/shops/{shop}/checkout" || server.ParentSpanID != client.SpanID || server.Service != "surge" {
				t.Errorf("server span %+v: want the checkout route, child of the client's span, from surge", server)
			}
			if len(consumers) < 4 {
				t.Errorf("consumer spans under the checkout's span from %v; want the four consumers", consumers)
				for _, sp := range col.Spans() {
					t.Logf("%+v", sp)
				}
			}
		})
	}
}
