package order

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/precondition"
)

// memStore and countingRefunder are minimal stand-ins for the service's
// own logic (ownership, which transitions it attempts, refund ordering);
// the real store and provider client are tested in their packages.
type memStore struct {
	mu     sync.Mutex
	orders map[string]Order
	owed   map[string]bool // payment ref -> confirmed
}

func (m *memStore) Order(_ context.Context, id string) (Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.orders[id]
	if !ok {
		return Order{}, errcode.Typed(errcode.NotFound, "order_not_found", "no order %q", id)
	}
	return o, nil
}

func (m *memStore) Orders(_ context.Context, _ int64, f Filter) ([]Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Order
	for _, id := range []string{"o1", "o2", "o3"} {
		if o, ok := m.orders[id]; ok && id > f.After && len(out) < f.Limit {
			out = append(out, o)
		}
	}
	return out, nil
}

func (m *memStore) TransitionOrderIf(_ context.Context, id string, from, to Status, _ time.Time, _ precondition.Condition) (Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.orders[id]
	if o.Status != from {
		return Order{}, errcode.Typed(errcode.Conflict, "order_not_in_status", "order is %s", o.Status)
	}
	o.Status = to
	m.orders[id] = o
	return o, nil
}

func (m *memStore) RefundOrderIf(ctx context.Context, id string, now time.Time, cond precondition.Condition) (Order, error) {
	o, err := m.TransitionOrderIf(ctx, id, Paid, Refunded, now, cond)
	if err == nil {
		m.mu.Lock()
		m.owed[o.PaymentRef] = false
		m.mu.Unlock()
	}
	return o, err
}

func (m *memStore) ConfirmRefund(_ context.Context, ref string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.owed[ref] = true
	return nil
}

type countingRefunder struct {
	refs []string
	err  error
}

func (r *countingRefunder) Refund(_ context.Context, ref string) error {
	r.refs = append(r.refs, ref)
	return r.err
}

func newTestService() (*Service, *memStore, *countingRefunder) {
	st := &memStore{owed: map[string]bool{}, orders: map[string]Order{
		"o1": {ShopID: 1, ID: "o1", CustomerID: "c1", Status: Paid, PaymentRef: "pay_1"},
		"o2": {ShopID: 1, ID: "o2", CustomerID: "c2", Status: PendingPayment},
		"o3": {ShopID: 2, ID: "o3", CustomerID: "c1", Status: Paid, PaymentRef: "pay_3"},
	}}
	r := &countingRefunder{}
	return NewService(st, r, time.Now), st, r
}

func TestGetHidesOtherOwners(t *testing.T) {
	s, _, _ := newTestService()
	ctx := context.Background()
	if o, err := s.Get(ctx, 1, "c1", "o1"); err != nil || o.ID != "o1" {
		t.Fatalf("own order: %+v, %v", o, err)
	}
	if _, err := s.Get(ctx, 1, "", "o2"); err != nil {
		t.Fatalf("shop admin: %v", err)
	}
	for _, c := range []struct {
		shop            int64
		customer, order string
	}{{1, "c2", "o1"}, {1, "c1", "o3"}, {1, "", "o3"}, {1, "c1", "nope"}} {
		if _, err := s.Get(ctx, c.shop, c.customer, c.order); !errcode.Is(err, errcode.NotFound) {
			t.Errorf("shop %d customer %q order %s: %v, want not_found", c.shop, c.customer, c.order, err)
		}
	}
}

func TestRefundAndFulfil(t *testing.T) {
	s, st, r := newTestService()
	ctx := context.Background()
	if _, err := s.Refund(ctx, 1, "o2", precondition.Condition{}); !isType(err, "order_not_refundable") || len(r.refs) != 0 {
		t.Fatalf("refund of a pending order: %v, provider called %v", err, r.refs)
	}
	if _, err := s.Fulfil(ctx, 1, "o2", precondition.Condition{}); !isType(err, "order_not_fulfillable") {
		t.Fatalf("fulfil of a pending order: %v", err)
	}
	if _, err := s.Refund(ctx, 1, "o3", precondition.Condition{}); !errcode.Is(err, errcode.NotFound) || len(r.refs) != 0 {
		t.Fatalf("refund of another shop's order: %v, provider called %v", err, r.refs)
	}
	// A provider failure still refunds the order: the decision is taken,
	// and the money is owed until the reconciler gets it confirmed.
	r.err = errors.New("provider down")
	o, err := s.Refund(ctx, 1, "o1", precondition.Condition{})
	if err != nil || o.Status != Refunded || st.owed["pay_1"] {
		t.Fatalf("refund with the provider down: %+v, %v, owed confirmed %v", o, err, st.owed["pay_1"])
	}
	if _, owed := st.owed["pay_1"]; !owed || len(r.refs) != 1 || r.refs[0] != "pay_1" {
		t.Fatalf("refund with the provider down: owed %v, provider calls %v", st.owed, r.refs)
	}
	r.err = nil
	if _, err := s.Refund(ctx, 1, "o1", precondition.Condition{}); !isType(err, "order_not_refundable") || len(r.refs) != 1 {
		t.Fatalf("second refund: %v, provider calls %v", err, r.refs)
	}
	st.orders["o4"] = Order{ShopID: 1, ID: "o4", CustomerID: "c1", Status: Paid, PaymentRef: "pay_4"}
	if o, err := s.Refund(ctx, 1, "o4", precondition.Condition{}); err != nil || o.Status != Refunded || !st.owed["pay_4"] {
		t.Fatalf("refund: %+v, %v, confirmed %v", o, err, st.owed["pay_4"])
	}
	if _, err := s.Fulfil(ctx, 1, "o1", precondition.Condition{}); !isType(err, "order_not_fulfillable") {
		t.Fatalf("fulfil of a refunded order: %v", err)
	}
}

func TestListValidatesAndPages(t *testing.T) {
	s, _, _ := newTestService()
	ctx := context.Background()
	_, _, err := s.List(ctx, 1, "shipped", "", "!!", 101)
	e, ok := err.(*errcode.Error)
	if !ok || e.Code != errcode.Invalid || len(e.Fields) != 3 {
		t.Fatalf("bad status, cursor and limit: %#v; want all three fields", err)
	}
	page, next, err := s.List(ctx, 1, "", "", "", 1)
	if err != nil || len(page) != 1 || page[0].ID != "o1" || next == "" {
		t.Fatalf("first page: %+v %q %v", page, next, err)
	}
	page, next, err = s.List(ctx, 1, "", "", next, 1)
	if err != nil || len(page) != 1 || page[0].ID != "o2" {
		t.Fatalf("second page: %+v %q %v", page, next, err)
	}
}

func isType(err error, typ string) bool {
	var e *errcode.Error
	return errors.As(err, &e) && e.Type == typ
}
