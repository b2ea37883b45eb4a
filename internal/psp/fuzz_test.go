package psp

import (
	"bytes"
	"strings"
	"testing"
	"time"
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
		// Whatever decodes must be valid, and must hash the same again.
		//lint:ignore SA4000 hash is called twice on purpose: it must be deterministic
		if req.validate() != nil || req.hash() != req.hash() {
			t.Fatalf("accepted an invalid request %+v", req)
		}
		if req.Amount <= 0 || !isCurrency(req.Currency) || req.MerchantReference == "" {
			t.Fatalf("accepted %+v", req)
		}
	})
}

func FuzzDecodeFaults(f *testing.F) {
	f.Add([]byte(`{"latency_ms":5,"latency_jitter_ms":3,"error_rate":0.1,"timeout_rate":0.2,"decline_rate":0.3,"drop_response_rate":1}`))
	f.Add([]byte(`{"error_rate":1.0000001}`))
	f.Add([]byte(`{"latency_ms":-1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := decodeFaults(bytes.NewReader(body))
		if err == nil && got.Validate() != nil {
			t.Fatalf("accepted invalid faults %+v", got)
		}
	})
}

func FuzzParseSignatureHeader(f *testing.F) {
	now := time.Unix(1_700_000_000, 0)
	f.Add(Sign("s", []byte("{}"), now))
	f.Add("t=1,v1=00")
	f.Add("t=,v1=")
	f.Add(",,,=")
	f.Add("t=-5,v1=" + strings.Repeat("ab", 32))
	f.Fuzz(func(t *testing.T, header string) {
		ts, sigs, err := parseSignatureHeader(header)
		if err != nil {
			return
		}
		if ts <= 0 || len(sigs) == 0 {
			t.Fatalf("parsed %q as t=%d with %d signatures", header, ts, len(sigs))
		}
		// Verification must not panic on anything the parser accepts.
		VerifySignature("s", header, []byte("{}"), now, time.Hour)
	})
}

func TestSignParsesBack(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	ts, sigs, err := parseSignatureHeader(Sign("s", []byte("body"), now))
	if err != nil || ts != now.Unix() || len(sigs) != 1 {
		t.Fatalf("parse(Sign) = %d, %d sigs, %v", ts, len(sigs), err)
	}
}
