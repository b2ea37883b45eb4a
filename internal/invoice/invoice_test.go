package invoice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/event"
)

// gatedStore holds the first batch until released and fails any batch
// holding the order "bad". Real stores are tested in storetest; this one
// shows how the handler forms batches.
type gatedStore struct {
	release chan struct{}
	mu      sync.Mutex
	batches [][]string // order ids, per call
}

func (s *gatedStore) ApplyInvoices(_ context.Context, paid []Paid, _ time.Time) (int, error) {
	s.mu.Lock()
	first := len(s.batches) == 0
	var ids []string
	for _, p := range paid {
		ids = append(ids, p.Order.OrderID)
	}
	s.batches = append(s.batches, ids)
	s.mu.Unlock()
	if first {
		<-s.release
	}
	if slices.Contains(ids, "bad") {
		return 0, errors.New("cannot invoice bad")
	}
	return len(paid), nil
}

func paidEvent(orderID string) event.Envelope {
	data, _ := json.Marshal(event.OrderData{OrderID: orderID, Total: 1, Currency: "EUR"})
	return event.Envelope{ID: "evt-" + orderID, ShopID: 1, Type: "order.paid", Data: data}
}

func TestEventsHandledMeanwhileShareABatch(t *testing.T) {
	st := &gatedStore{release: make(chan struct{})}
	h := NewHandler(st, time.Now)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	errs := map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	handle := func(id string) {
		wg.Go(func() {
			err := h.Handle(ctx, paidEvent(id))
			mu.Lock()
			errs[id] = err
			mu.Unlock()
		})
	}
	handle("first")
	waitFor(t, func() bool { st.mu.Lock(); defer st.mu.Unlock(); return len(st.batches) == 1 })
	ids := []string{"bad"}
	for i := range 9 {
		ids = append(ids, fmt.Sprintf("o%d", i))
	}
	for _, id := range ids {
		handle(id)
	}
	waitFor(t, func() bool { h.mu.Lock(); defer h.mu.Unlock(); return len(h.waiting) == len(ids) })
	close(st.release)
	wg.Wait()

	if got := len(st.batches[1]); got != len(ids) {
		t.Fatalf("batches %v: the second should hold the %d events that waited", st.batches, len(ids))
	}
	if len(st.batches) != 2+len(ids) {
		t.Fatalf("batches %v: after the failed batch each event should be tried alone", st.batches)
	}
	for id, err := range errs {
		if (err != nil) != (id == "bad") {
			t.Errorf("%s: %v; only bad should fail", id, err)
		}
	}
}

func TestBadPayloadIsRefused(t *testing.T) {
	h := NewHandler(&gatedStore{}, time.Now)
	for _, data := range []string{`{`, `{"order_id":""}`} {
		if err := h.Handle(context.Background(), event.Envelope{ID: "e", Data: json.RawMessage(data)}); err == nil {
			t.Errorf("payload %s accepted", data)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(time.Millisecond)
	}
}
