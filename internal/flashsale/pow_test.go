package flashsale

import (
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
)

func powService(now func() time.Time) *Service {
	return NewService(nil, nil, []byte("0123456789abcdef0123456789abcdef"), now)
}

func TestProofOfWork(t *testing.T) {
	t.Parallel()
	clock := time.Now()
	s := powService(func() time.Time { return clock })
	sale := Sale{SKU: "DROP", Epoch: 7, PowDifficulty: 12}
	c := s.NewChallenge(1, sale, "cus_1")
	if c.Difficulty != 12 || !c.ExpiresAt.After(clock) {
		t.Fatalf("challenge %+v", c)
	}
	nonce := SolvePoW(c.Challenge, c.Difficulty)
	if LeadingZeroBits(c.Challenge, nonce) < 12 {
		t.Fatalf("SolvePoW's nonce %q reaches %d bits", nonce, LeadingZeroBits(c.Challenge, nonce))
	}
	if err := s.CheckProof(Proof{Challenge: c.Challenge, Nonce: nonce}, 1, sale, "cus_1"); err != nil {
		t.Fatalf("a solved challenge: %v", err)
	}
	typeOf := func(err error) string {
		if e, ok := err.(*errcode.Error); ok {
			return e.Type
		}
		return ""
	}
	for _, tc := range []struct {
		name     string
		proof    Proof
		shop     int64
		sale     Sale
		customer string
		want     string
	}{
		{"no proof", Proof{}, 1, sale, "cus_1", "pow_required"},
		{"another customer's challenge", Proof{c.Challenge, nonce}, 1, sale, "cus_2", "pow_invalid"},
		{"another sale's challenge", Proof{c.Challenge, nonce}, 1, Sale{SKU: "DROP", Epoch: 8, PowDifficulty: 12}, "cus_1", "pow_invalid"},
		{"another shop's challenge", Proof{c.Challenge, nonce}, 2, sale, "cus_1", "pow_invalid"},
		{"a forged challenge", Proof{c.Challenge[:len(c.Challenge)-2] + "xx", nonce}, 1, sale, "cus_1", "pow_invalid"},
		{"a nonce short of the difficulty", Proof{c.Challenge, nonce}, 1, Sale{SKU: "DROP", Epoch: 7, PowDifficulty: 28}, "cus_1", "pow_invalid"},
	} {
		err := s.CheckProof(tc.proof, tc.shop, tc.sale, tc.customer)
		if errcode.Code(err) != errcode.Forbidden || typeOf(err) != tc.want {
			t.Errorf("%s: %v, want forbidden %s", tc.name, err, tc.want)
		}
	}
	clock = clock.Add(ChallengeTTL + time.Second)
	if err := s.CheckProof(Proof{Challenge: c.Challenge, Nonce: nonce}, 1, sale, "cus_1"); typeOf(err) != "pow_invalid" {
		t.Fatalf("an expired challenge: %v", err)
	}
}

// FuzzCheckProof feeds arbitrary proofs: never a panic, and never an
// acceptance of a proof that does not reach the difficulty of a challenge
// this server signed for this customer.
func FuzzCheckProof(f *testing.F) {
	s := powService(time.Now)
	sale := Sale{SKU: "DROP", Epoch: 7, PowDifficulty: 8}
	c := s.NewChallenge(1, sale, "cus_1")
	f.Add(c.Challenge, SolvePoW(c.Challenge, 8))
	f.Add("pw1.", "0")
	f.Add(c.Challenge, "")
	f.Fuzz(func(t *testing.T, challenge, nonce string) {
		if s.CheckProof(Proof{Challenge: challenge, Nonce: nonce}, 1, sale, "cus_1") != nil {
			return
		}
		if challenge != c.Challenge || LeadingZeroBits(challenge, nonce) < 8 {
			t.Fatalf("accepted %q / %q", challenge, nonce)
		}
	})
}
