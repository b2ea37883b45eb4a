package loadshed_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/surge-commerce/surge/internal/gateway/loadshed"
)

func TestBulkheadIsolatesClasses(t *testing.T) {
	t.Parallel()
	cfg := loadshed.DefaultConfig(16)
	cfg.Bulkheads[loadshed.Extras] = 2
	s := loadshed.New(cfg, prometheus.NewRegistry())
	var releases []func()
	for range 2 {
		release, err := s.Admit(context.Background(), loadshed.Extras)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, release)
	}
	if _, err := s.Admit(context.Background(), loadshed.Extras); !errors.Is(err, loadshed.ErrShed) {
		t.Fatalf("third extras request: %v, want ErrShed (bulkhead full)", err)
	}
	release, err := s.Admit(context.Background(), loadshed.Checkout)
	if err != nil {
		t.Fatalf("checkout while extras are full: %v; a flood of one class must not starve another", err)
	}
	release()
	for _, r := range releases {
		r()
	}
	if release, err = s.Admit(context.Background(), loadshed.Extras); err != nil {
		t.Fatalf("extras after release: %v", err)
	}
	release()
}

// A queue standing at the writer shrinks the checkout limit to its floor,
// checkouts beyond it are shed at once, and the limit climbs back to the
// bulkhead once the queue drains.
func TestStandingQueueLimitsCheckouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		delay := 20 * time.Millisecond
		cfg := loadshed.DefaultConfig(16)
		cfg.QueueDelay = func() (time.Duration, bool) {
			mu.Lock()
			defer mu.Unlock()
			return delay, true
		}
		s := loadshed.New(cfg, prometheus.NewRegistry())
		if err := s.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer s.Stop()

		time.Sleep(2 * time.Second) // twenty intervals of a standing queue
		var releases []func()
		for range 2 {
			release, err := s.Admit(t.Context(), loadshed.Checkout)
			if err != nil {
				t.Fatalf("checkout within the floor of 2: %v", err)
			}
			releases = append(releases, release)
		}
		if _, err := s.Admit(t.Context(), loadshed.Checkout); !errors.Is(err, loadshed.ErrShed) {
			t.Fatalf("third checkout under a standing queue: %v, want ErrShed", err)
		}
		if release, err := s.Admit(t.Context(), loadshed.Browse); err != nil {
			t.Fatalf("browse under a standing queue at the writer: %v; only checkouts queue there", err)
		} else {
			release()
		}

		mu.Lock()
		delay = 0 // the queue drained
		mu.Unlock()
		time.Sleep(2 * time.Second)
		for range 14 {
			release, err := s.Admit(t.Context(), loadshed.Checkout)
			if err != nil {
				t.Fatalf("checkout %d of the bulkhead's 16 after the queue drained: %v", len(releases)+1, err)
			}
			releases = append(releases, release)
		}
		if _, err := s.Admit(t.Context(), loadshed.Checkout); !errors.Is(err, loadshed.ErrShed) {
			t.Fatalf("seventeenth checkout: %v, want ErrShed (bulkhead)", err)
		}
		for _, r := range releases {
			r()
		}
		s.Stop()
		synctest.Wait()
	})
}

// Checkouts that all take far longer than the fastest seen lately (eight
// times) shrink the checkout limit as a standing queue does; quick ones
// bring it back. Five times longer leaves it alone.
func TestSlowCheckoutsLimitCheckouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := loadshed.DefaultConfig(16)
		cfg.FollowLatency = true
		s := loadshed.New(cfg, prometheus.NewRegistry())
		if err := s.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer s.Stop()
		// Half an interval off the shedder's ticks, so that no checkout is
		// recorded at the instant an interval ends.
		time.Sleep(50 * time.Millisecond)
		checkouts := func(d time.Duration, intervals int) {
			for range intervals {
				s.RecordCheckout(d)
				time.Sleep(100 * time.Millisecond)
			}
		}
		admit := func(n int) []func() {
			t.Helper()
			var releases []func()
			for i := range n {
				release, err := s.Admit(t.Context(), loadshed.Checkout)
				if err != nil {
					t.Fatalf("checkout %d of %d: %v", i+1, n, err)
				}
				releases = append(releases, release)
			}
			if _, err := s.Admit(t.Context(), loadshed.Checkout); !errors.Is(err, loadshed.ErrShed) {
				t.Fatalf("checkout %d: %v, want ErrShed", n+1, err)
			}
			return releases
		}

		checkouts(2*time.Millisecond, 10) // the baseline
		time.Sleep(time.Second)           // idle intervals judge nothing
		for _, r := range admit(16) {
			r()
		}
		// Five times slower is what a full bulkhead sharing two busy cores
		// looks like: the system at capacity, not a queue to shed.
		checkouts(10*time.Millisecond, 20)
		for _, r := range admit(16) {
			r()
		}
		checkouts(20*time.Millisecond, 20) // every checkout ten times slower
		for _, r := range admit(2) {
			r()
		}
		checkouts(2*time.Millisecond, 20)
		for _, r := range admit(16) {
			r()
		}
		s.Stop()
		synctest.Wait()
	})
}

// A checkout that finds its bulkhead full waits up to CheckoutWait for a
// slot: one freed meanwhile admits it, none freed sheds it when the wait is
// up. A browse request is shed at once.
func TestCheckoutWaitsBrieflyForItsBulkhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := loadshed.DefaultConfig(4)
		cfg.Bulkheads[loadshed.Browse] = 1
		cfg.CheckoutWait = 20 * time.Millisecond
		s := loadshed.New(cfg, prometheus.NewRegistry())
		var held []func()
		for _, c := range []loadshed.Class{loadshed.Checkout, loadshed.Checkout, loadshed.Checkout, loadshed.Checkout, loadshed.Browse} {
			release, err := s.Admit(t.Context(), c)
			if err != nil {
				t.Fatalf("%s within its bulkhead: %v", c, err)
			}
			held = append(held, release)
		}

		start := time.Now()
		if _, err := s.Admit(t.Context(), loadshed.Browse); !errors.Is(err, loadshed.ErrShed) || time.Since(start) != 0 {
			t.Fatalf("browse beyond its bulkhead: %v after %v, want ErrShed at once", err, time.Since(start))
		}
		if _, err := s.Admit(t.Context(), loadshed.Checkout); !errors.Is(err, loadshed.ErrShed) || time.Since(start) != cfg.CheckoutWait {
			t.Fatalf("checkout with no slot freed: %v after %v, want ErrShed after %v", err, time.Since(start), cfg.CheckoutWait)
		}

		go func() {
			time.Sleep(cfg.CheckoutWait / 2)
			held[0]()
		}()
		start = time.Now()
		release, err := s.Admit(t.Context(), loadshed.Checkout)
		if err != nil || time.Since(start) != cfg.CheckoutWait/2 {
			t.Fatalf("checkout with a slot freed after %v: %v after %v", cfg.CheckoutWait/2, err, time.Since(start))
		}
		release()
		for _, r := range held[1:] {
			r()
		}
	})
}
