package psp

import (
	"bytes"
	"encoding/json"
	"testing"
)

func FuzzDecodeCreate(f *testing.F) {
	f.Add([]byte(`{"merchant_reference":"order-1","amount":1250,"currency":"EUR","capture":true}`))
	f.Add([]byte(`{"merchant_reference":"","amount":-1,"currency":"eur"}`))
	f.Add([]byte(`{"amount":1e400}`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeCreate(bytes.NewReader(body))
		if err != nil {
			return
		}
		if req.Amount <= 0 || !isCurrency(req.Currency) || req.MerchantReference == "" {
			t.Fatalf("accepted %+v", req)
		}
		// Round trip: what was accepted, written out and read again, is the
		// same request with the same idempotency hash; any other amount
		// hashes differently, so a retried key cannot change what it pays.
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeCreate(bytes.NewReader(b))
		if err != nil || again != req || again.hash() != req.hash() {
			t.Fatalf("%+v did not round trip: %+v, %v", req, again, err)
		}
		other := req
		other.Amount++
		if other.hash() == req.hash() {
			t.Fatalf("amounts %d and %d hash alike", req.Amount, other.Amount)
		}
	})
}

func FuzzDecodeFaults(f *testing.F) {
	f.Add([]byte(`{"latency_ms":5,"latency_jitter_ms":3,"error_rate":0.1,"timeout_rate":0.2,"decline_rate":0.3,"drop_response_rate":1}`))
	f.Add([]byte(`{"error_rate":1.0000001}`))
	f.Add([]byte(`{"latency_ms":-1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := decodeFaults(bytes.NewReader(body))
		if err != nil {
			return
		}
		if got.LatencyMS < 0 || got.LatencyJitterMS < 0 {
			t.Fatalf("accepted negative latency %+v", got)
		}
		for _, rate := range []float64{got.ErrorRate, got.TimeoutRate, got.DeclineRate, got.DropResponseRate} {
			if !(rate >= 0 && rate <= 1) {
				t.Fatalf("accepted a rate outside [0, 1]: %+v", got)
			}
		}
		// What is accepted reads back the same once written out.
		b, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := decodeFaults(bytes.NewReader(b)); err != nil || again != got {
			t.Fatalf("%+v did not round trip: %+v, %v", got, again, err)
		}
	})
}
