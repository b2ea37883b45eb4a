// Package tracectx carries W3C Trace Context (the traceparent header)
// through Surge: from the incoming request into logs, into the outbox row
// written in the same transaction, onto the published event, and into the
// logs of the workers that apply it — so one trace id follows an order
// across every hop.
//
// It must never trust its input: a malformed traceparent starts a new trace.
package tracectx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// Parent is a parsed traceparent: version 00, trace id, parent span id,
// flags.
type Parent struct {
	TraceID string // 32 lowercase hex digits, not all zero
	SpanID  string // 16 lowercase hex digits, not all zero
	Flags   string // 2 hex digits
}

// String renders the traceparent header value.
func (p Parent) String() string {
	if p.TraceID == "" {
		return ""
	}
	return "00-" + p.TraceID + "-" + p.SpanID + "-" + p.Flags
}

// Parse reads a traceparent header value; ok is false for anything that is
// not a valid version-00 value.
func Parse(h string) (Parent, bool) {
	h = strings.TrimSpace(h)
	if len(h) != 55 || h[2] != '-' || h[35] != '-' || h[52] != '-' || h[:2] != "00" {
		return Parent{}, false
	}
	p := Parent{TraceID: h[3:35], SpanID: h[36:52], Flags: h[53:55]}
	if !isHex(p.TraceID) || !isHex(p.SpanID) || !isHex(p.Flags) ||
		p.TraceID == strings.Repeat("0", 32) || p.SpanID == strings.Repeat("0", 16) {
		return Parent{}, false
	}
	return p, true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Child continues the trace of parent (or starts one when parent is zero)
// with a new span id: this hop's.
func Child(parent Parent) Parent {
	if parent.TraceID == "" {
		return Parent{TraceID: randomHex(16), SpanID: randomHex(8), Flags: "01"}
	}
	return Parent{TraceID: parent.TraceID, SpanID: randomHex(8), Flags: parent.Flags}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type key struct{}

// With returns ctx carrying p.
func With(ctx context.Context, p Parent) context.Context { return context.WithValue(ctx, key{}, p) }

// From returns the trace context of ctx (zero if none).
func From(ctx context.Context) Parent {
	p, _ := ctx.Value(key{}).(Parent)
	return p
}
