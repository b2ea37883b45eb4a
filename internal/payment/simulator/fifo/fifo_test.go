package fifo

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestArrivalOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New()
		release, err := l.Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var order []int
		for i := range 20 {
			go func() {
				r, err := l.Acquire(t.Context())
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				r()
			}()
			synctest.Wait() // waiter i is queued before waiter i+1 arrives
		}
		release()
		synctest.Wait()
		if len(order) != 20 {
			t.Fatalf("%d of 20 waiters got the lock", len(order))
		}
		for i, got := range order {
			if got != i {
				t.Fatalf("grant order %v, want arrival order", order)
			}
		}
	})
}

func TestGiveUpWhenContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New()
		release, _ := l.Acquire(t.Context())
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := l.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v, want the deadline", err)
		}
		// The waiter that gave up holds nothing: the lock passes on.
		release()
		r, err := l.Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		r()
	})
}
