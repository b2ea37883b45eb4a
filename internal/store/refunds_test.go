package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/order"
	"github.com/surge-commerce/surge/internal/store/storetest"
)

// A refund owed stays owed, attempt after failed attempt, until it is
// confirmed; recording it again changes nothing.
func TestRefundsOwed(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s := e.Open(t)
			t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			r := checkout.Refund{PaymentRef: "pay_1", OrderID: "ord_1", ShopID: 7, Amount: 1, Currency: "EUR",
				Reason: checkout.RefundMismatch, CreatedAt: t0, NextAttemptAt: t0}
			for range 2 {
				if err := s.RecordRefundOwed(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			if due, err := s.DueRefunds(ctx, t0, 10); err != nil || len(due) != 1 || due[0] != r {
				t.Fatalf("due = %+v, %v; want %+v", due, err, r)
			}
			if err := s.RefundFailed(ctx, "pay_1", "provider down", t0.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if due, err := s.DueRefunds(ctx, t0.Add(time.Second), 10); err != nil || len(due) != 0 {
				t.Fatalf("due before its backoff passed: %+v, %v", due, err)
			}
			owed, err := s.OwedRefunds(ctx)
			if err != nil || len(owed) != 1 || owed[0].Attempts != 1 || owed[0].LastError != "provider down" ||
				!owed[0].NextAttemptAt.Equal(t0.Add(time.Minute)) {
				t.Fatalf("owed = %+v, %v", owed, err)
			}
			if err := s.ConfirmRefund(ctx, "pay_1", t0.Add(2*time.Minute)); err != nil {
				t.Fatal(err)
			}
			if owed, err := s.OwedRefunds(ctx); err != nil || len(owed) != 0 {
				t.Fatalf("owed after confirmation = %+v, %v", owed, err)
			}
			if due, err := s.DueRefunds(ctx, t0.Add(time.Hour), 10); err != nil || len(due) != 0 {
				t.Fatalf("a confirmed refund is due again: %+v, %v", due, err)
			}
			all, err := s.Refunds(ctx, "ord_1")
			if err != nil || len(all) != 1 || !all[0].ConfirmedAt.Equal(t0.Add(2*time.Minute)) {
				t.Fatalf("refunds of ord_1 = %+v, %v", all, err)
			}
		})
	}
}

// Only an order older than the given age is stale: an expired
// reservation alone says nothing of a charge still in flight.
func TestStaleOrdersIgnoreReservationExpiry(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s := e.Open(t)
			sl := storetest.NewSeller(t, s, "stale", "A")
			placed := time.Now().Add(-time.Hour) // its 15-minute reservation expired long ago
			sl.Now = func() time.Time { return placed }
			o := sl.Order(t, order.PendingPayment, "A")
			if stale, err := s.StaleOrders(ctx, placed, 10); err != nil || len(stale) != 0 {
				t.Fatalf("stale = %+v, %v; want none created before %s", stale, err, placed)
			}
			stale, err := s.StaleOrders(ctx, placed.Add(time.Second), 10)
			if err != nil || len(stale) != 1 || stale[0].ID != o.ID {
				t.Fatalf("stale = %+v, %v; want %s", stale, err, o.ID)
			}
		})
	}
}
