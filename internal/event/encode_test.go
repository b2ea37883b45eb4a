package event

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func sample() Envelope {
	return Envelope{Spec: Spec, ID: "evt_1", Type: "order.paid", Shop: "acme", ShopID: 7, Aggregate: "order",
		AggregateID: "ord_1", OccurredAt: time.Date(2026, 11, 26, 17, 0, 0, 123456000, time.UTC),
		TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", Data: json.RawMessage(`{"order_id":"ord_1","total":1000}`)}
}

// TestAppendJSON checks the hand-written encoder against encoding/json,
// byte for byte, on the cases that differ in escaping.
func TestAppendJSON(t *testing.T) {
	cases := []func(*Envelope){
		func(*Envelope) {},
		func(e *Envelope) { e.TraceParent = "" },
		func(e *Envelope) { e.Data = nil },
		func(e *Envelope) { e.Shop = "a\"b\\c\n\r\t\b\f\x00\x1f<>&" },
		func(e *Envelope) { e.AggregateID = "café \u2028\u2029 ✓ \xff\xfe end" },
		func(e *Envelope) { e.OccurredAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)) },
		func(e *Envelope) { e.ShopID = -42 },
	}
	for i, change := range cases {
		e := sample()
		change(&e)
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// FuzzAppendJSON holds the encoder to encoding/json for any strings.
func FuzzAppendJSON(f *testing.F) {
	f.Add("acme", "ord_1", "00-4bf9", int64(1))
	f.Add("<a&b>", "\xff\u2028", "\x00\"\\", int64(-1))
	f.Fuzz(func(t *testing.T, shop, aggregateID, traceParent string, shopID int64) {
		e := sample()
		e.Shop, e.AggregateID, e.TraceParent, e.ShopID = shop, aggregateID, traceParent, shopID
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}
