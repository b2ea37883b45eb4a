package order

import (
	"strings"
	"testing"
)

var allStatuses = []Status{PendingPayment, Paid, Cancelled, Fulfilled, Refunded}

// TestTransitions lists every pair of statuses: exactly these moves are
// legal, and the final statuses have no way out.
func TestTransitions(t *testing.T) {
	legal := map[[2]Status]bool{
		{PendingPayment, Paid}:      true,
		{PendingPayment, Cancelled}: true,
		{Paid, Fulfilled}:           true,
		{Paid, Refunded}:            true,
	}
	for _, from := range allStatuses {
		for _, to := range allStatuses {
			if got, want := CanTransition(from, to), legal[[2]Status{from, to}]; got != want {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
	for _, s := range []Status{"", "PAID", "shipped"} {
		for _, other := range allStatuses {
			if CanTransition(s, other) || CanTransition(other, s) {
				t.Errorf("a transition between %q and %s is allowed", s, other)
			}
		}
	}
	for _, final := range []Status{Cancelled, Fulfilled, Refunded} {
		for _, to := range allStatuses {
			if CanTransition(final, to) {
				t.Errorf("final status %s can move to %s", final, to)
			}
		}
	}
}

func TestStatusValid(t *testing.T) {
	for _, s := range allStatuses {
		if !s.Valid() {
			t.Errorf("%s not valid", s)
		}
	}
	for _, s := range []Status{"", "Paid", "pending", "paid "} {
		if s.Valid() {
			t.Errorf("%q valid", s)
		}
	}
}

func TestOrderCursor(t *testing.T) {
	for _, id := range []string{"ord_0193", "", "x:y"} {
		got, err := decodeCursor(encodeCursor(id))
		if err != nil || got != id {
			t.Errorf("round trip of %q: %q, %v", id, got, err)
		}
	}
	for _, bad := range []string{"!!", "b3Ix", encodeCursor(strings.Repeat("x", 98)) + "=="} {
		if _, err := decodeCursor(bad); err == nil {
			t.Errorf("decodeCursor(%q) accepted", bad)
		}
	}
}

// FuzzOrderCursor feeds arbitrary cursors (a query parameter): no panic,
// anything accepted re-encodes to a cursor that decodes to the same id,
// and the decoded id is bounded.
func FuzzOrderCursor(f *testing.F) {
	f.Add(encodeCursor("ord_0193"))
	f.Add("")
	f.Add("!!")
	f.Add(encodeCursor(strings.Repeat("x", 200)))
	f.Fuzz(func(t *testing.T, c string) {
		id, err := decodeCursor(c)
		if err != nil {
			return
		}
		if len(id) > 97 {
			t.Fatalf("cursor %q decoded to a %d-byte id", c, len(id))
		}
		again, err := decodeCursor(encodeCursor(id))
		if err != nil || again != id {
			t.Fatalf("re-encoding %q: %q, %v", id, again, err)
		}
	})
}
