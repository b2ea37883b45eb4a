package flashsale

import (
	"testing"
	"time"
)

// FuzzVerifyTicket feeds arbitrary queue tickets to verify: it must never
// panic and never accept a ticket it did not sign for this customer.
func FuzzVerifyTicket(f *testing.F) {
	s := NewService(nil, nil, []byte("0123456789abcdef0123456789abcdef"), time.Now)
	good := s.sign(1, "SKU", "cus_1", 3)
	f.Add(good)
	f.Add("qt1.")
	f.Add("qt1.x.y")
	f.Fuzz(func(t *testing.T, in string) {
		pos, err := s.verify(in, 1, "SKU", "cus_1")
		if err == nil && (in != good || pos != 3) {
			t.Fatalf("accepted %q as position %d", in, pos)
		}
	})
}
