package customer_test

import (
	"strings"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/customer"
	"github.com/surge-commerce/surge/internal/errcode"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func setup(t *testing.T) (*customer.Tokens, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	secrets := []customer.Secret{{KID: "new", Secret: []byte("0123456789abcdef0123456789abcdef")}, {KID: "old", Secret: []byte("fedcba9876543210fedcba9876543210")}}
	return customer.NewTokens(secrets, time.Hour, c.now), c
}

func TestTokens(t *testing.T) {
	t.Parallel()
	tokens, clk := setup(t)
	tok, exp := tokens.Issue(7, "cus_1")
	oldOnly := customer.NewTokens([]customer.Secret{{KID: "old", Secret: []byte("fedcba9876543210fedcba9876543210")}}, time.Hour, clk.now)
	oldTok, _ := oldOnly.Issue(7, "cus_2")
	tests := []struct {
		name  string
		token string
		shop  int64
		at    time.Time
		want  string // error code, "" for success
	}{
		{"valid", tok, 7, clk.t, ""},
		{"signed with a rotated-out key still accepted", oldTok, 7, clk.t, ""},
		{"another shop", tok, 8, clk.t, errcode.Forbidden},
		{"expired", tok, 7, exp, errcode.Unauthorized},
		{"missing", "", 7, clk.t, errcode.Unauthorized},
		{"tampered", strings.Replace(tok, "ct1.", "ct1.A", 1), 7, clk.t, errcode.Unauthorized},
		{"garbage", "ct1.x.y", 7, clk.t, errcode.Unauthorized},
	}
	for _, tc := range tests {
		clk.t = tc.at
		_, err := tokens.Verify(tc.token, tc.shop)
		if got := errcode.Code(err); got != tc.want {
			t.Errorf("%s: code %q (%v), want %q", tc.name, got, err, tc.want)
		}
	}
}

// FuzzVerify feeds arbitrary bearer tokens to Verify: it must never panic
// and never accept anything it did not issue.
func FuzzVerify(f *testing.F) {
	tokens, _ := setup(&testing.T{})
	tok, _ := tokens.Issue(7, "cus_1")
	f.Add(tok)
	f.Add("ct1.")
	f.Add("ct1..")
	f.Fuzz(func(t *testing.T, in string) {
		id, err := tokens.Verify(in, 7)
		if err == nil && in != tok {
			t.Fatalf("accepted a token it never issued: %q (customer %q)", in, id)
		}
	})
}
