package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/order"
	"github.com/surge-commerce/surge/internal/store"
	"github.com/surge-commerce/surge/internal/store/storetest"
	"github.com/surge-commerce/surge/internal/testrig"
)

// TestOutboxNotifyReachesOtherProcesses: a relay in another process,
// listening on PostgreSQL, is woken when a checkout commits events, now
// that the NOTIFY is sent after the commit rather than inside it.
func TestOutboxNotifyReachesOtherProcesses(t *testing.T) {
	url := testrig.PostgresURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s := openMigrated(t, store.Config{DatabaseURL: url, MaxConns: 4})
	wake := make(chan struct{}, 1)
	go store.ListenOutbox(ctx, url, wake)
	sl := storetest.NewSeller(t, s, "notify", "A")

	// The listener connects in the background: keep committing orders
	// until one wakes it.
	for {
		if _, err := sl.PlaceOrder(ctx, order.PendingPayment, "A"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-wake:
			return
		case <-ctx.Done():
			t.Fatal("no NOTIFY reached the listener")
		case <-time.After(200 * time.Millisecond): // then commit another order
		}
	}
}
