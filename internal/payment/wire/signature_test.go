package wire

import (
	"strings"
	"testing"
	"time"
)

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
