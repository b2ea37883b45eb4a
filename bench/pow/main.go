// Command pow prices the waiting room's proof of work: what verifying one
// proof costs Surge, against a floor of its parts measured beside it (one
// HMAC-SHA-256 and one SHA-256 of the same sizes), and what solving one
// costs a buyer at several difficulties.
//
//	go run ./bench/pow [-n 200000]
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"flag"
	"fmt"
	"time"

	"github.com/surge-commerce/surge/internal/flashsale"
)

func main() {
	n := flag.Int("n", 200_000, "proofs verified")
	flag.Parse()
	secret := []byte("0123456789abcdef0123456789abcdef")
	s := flashsale.NewService(nil, nil, secret, time.Now)
	sale := flashsale.Sale{SKU: "DROP", Epoch: 7, PowDifficulty: 16}
	c := s.NewChallenge(1, sale, "cus_0123456789")
	p := flashsale.Proof{Challenge: c.Challenge, Nonce: flashsale.SolvePoW(c.Challenge, sale.PowDifficulty)}

	start := time.Now()
	for range *n {
		if err := s.CheckProof(p, 1, sale, "cus_0123456789"); err != nil {
			panic(err)
		}
	}
	verify := time.Since(start) / time.Duration(*n)

	start = time.Now()
	for range *n {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(c.Challenge))
		_ = m.Sum(nil)
		_ = sha256.Sum256([]byte(c.Challenge + ":" + p.Nonce))
	}
	floor := time.Since(start) / time.Duration(*n)
	fmt.Printf("verify one proof: %v (floor of one HMAC and one SHA-256: %v, ratio %.2f)\n", verify, floor, float64(verify)/float64(floor))

	for _, bits := range []int{8, 12, 16, 20} {
		const tries = 5
		start := time.Now()
		for i := range tries {
			ch := s.NewChallenge(1, flashsale.Sale{SKU: "DROP", Epoch: int64(i), PowDifficulty: bits}, "cus_0123456789").Challenge
			flashsale.SolvePoW(ch, bits)
		}
		fmt.Printf("solve at %2d bits: %v a proof (mean of %d)\n", bits, time.Since(start)/tries, tries)
	}
}
