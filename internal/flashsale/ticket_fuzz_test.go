package flashsale

import (
	"testing"
	"time"
)

// FuzzVerifyTicket feeds arbitrary queue tickets to verify: it must never
// panic and never accept a ticket it did not sign for this customer and
// this sale.
func FuzzVerifyTicket(f *testing.F) {
	s := NewService(nil, nil, []byte("0123456789abcdef0123456789abcdef"), time.Now)
	sale := Sale{SKU: "SKU", Epoch: 7}
	good := s.sign(1, sale, "cus_1", 3)
	f.Add(good)
	f.Add("qt2.")
	f.Add("qt2.x.y")
	f.Fuzz(func(t *testing.T, in string) {
		pos, err := s.verify(in, 1, sale, "cus_1")
		if err == nil && (in != good || pos != 3) {
			t.Fatalf("accepted %q as position %d", in, pos)
		}
	})
}

// A ticket admits only to the sale that issued it: a later sale of the
// same SKU (another epoch) refuses it, however good its place was.
func TestTicketBelongsToItsSale(t *testing.T) {
	s := NewService(nil, nil, []byte("0123456789abcdef0123456789abcdef"), time.Now)
	first, next := Sale{SKU: "SKU", Epoch: 1}, Sale{SKU: "SKU", Epoch: 2}
	token := s.sign(1, first, "cus_1", 1)
	if pos, err := s.verify(token, 1, first, "cus_1"); err != nil || pos != 1 {
		t.Fatalf("its own sale: %d, %v", pos, err)
	}
	if _, err := s.verify(token, 1, next, "cus_1"); err == nil {
		t.Fatal("a ticket of an ended sale admitted to the next one")
	}
}
