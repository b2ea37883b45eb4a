package tracectx_test

import (
	"testing"

	"github.com/surge-commerce/surge/internal/tracing/tracectx"
)

func TestParse(t *testing.T) {
	t.Parallel()
	valid := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"valid", valid, true},
		{"uppercase hex", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false},
		{"zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", false},
		{"zero span id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false},
		{"unknown version", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false},
		{"short", valid[:54], false},
		{"empty", "", false},
	}
	for _, tc := range tests {
		p, ok := tracectx.Parse(tc.in)
		if ok != tc.ok {
			t.Errorf("%s: ok = %v, want %v", tc.name, ok, tc.ok)
		}
		if ok && p.String() != tc.in {
			t.Errorf("%s: round trip %q", tc.name, p.String())
		}
	}
	child := tracectx.Child(tracectx.Parent{})
	if _, ok := tracectx.Parse(child.String()); !ok {
		t.Fatalf("a new trace is not a valid traceparent: %q", child)
	}
	p, _ := tracectx.Parse(valid)
	if c := tracectx.Child(p); c.TraceID != p.TraceID || c.SpanID == p.SpanID {
		t.Fatalf("child %v does not continue %v with a new span", c, p)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, in string) {
		p, ok := tracectx.Parse(in)
		if !ok {
			return
		}
		if q, ok := tracectx.Parse(p.String()); !ok || q != p {
			t.Fatalf("accepted %q but its rendering %q does not parse back", in, p.String())
		}
	})
}
