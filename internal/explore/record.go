package explore

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/errcode"
)

// attempt is one checkout as its client saw it. start and end are ticks
// of one counter shared by every actor: a.end < b.start means a had its
// answer before b was sent.
type attempt struct {
	step        int
	customer    int
	key         string
	fingerprint string // the request's body, as checkout compares it
	cartID      string
	items       []checkout.Item
	start, end  int64
	// at and endAt are the clock when it was sent and answered.
	at, endAt time.Time
	result    checkout.Outcome // none on an error
	orderID   string
	code, typ string // the error's code and type
	sku       string // the SKU an out_of_stock or purchase_limit names
}

// holdsNothing reports whether the attempt surely ended holding no stock:
// refused outright, or declined (checkout releases a declined order's
// stock before answering). Other errors may come after a commit.
func (a attempt) holdsNothing() bool {
	return a.result == checkout.OutcomeDeclined || a.code == errcode.Conflict || a.code == errcode.Invalid
}

func (a attempt) units(sku string) int64 {
	var n int64
	for _, it := range a.items {
		if it.SKU == sku {
			n += it.Quantity
		}
	}
	return n
}

// adminWrite is one admin write that may change a SKU's stock.
type adminWrite struct {
	step       int
	op         Op
	sku        string
	start, end int64
	// before and asked are the stock configured before the write and the
	// stock it asked for (equal for writes that move no stock).
	before, asked int64
	ok            bool
	// uncertain: it failed in a way that does not say whether it committed.
	uncertain bool
	code      string
	err       string
}

// recorder keeps what the model judges. The admin lane is the only
// writer of configured stock and limits, so they are exact.
type recorder struct {
	tick atomic.Int64

	mu         sync.Mutex
	attempts   []attempt
	writes     []adminWrite
	initial    map[string]int64
	configured map[string]int64
	onSale     map[string]bool    // on flash sale when the run began
	limits     map[string][]int64 // every per-customer limit in force, in order
	keyTTL     time.Duration
}

func newRecorder(s Schedule) *recorder {
	r := &recorder{initial: map[string]int64{}, configured: map[string]int64{}, limits: map[string][]int64{}, keyTTL: s.KeyTTL,
		onSale: map[string]bool{}}
	for _, p := range s.Products {
		r.initial[p.SKU], r.configured[p.SKU] = p.Stock, p.Stock
		r.limits[p.SKU] = []int64{p.Limit}
		r.onSale[p.SKU] = p.Buckets > 0
	}
	return r
}

func (r *recorder) now() int64 { return r.tick.Add(1) }

func (r *recorder) addAttempt(a attempt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, a)
}

// earlier returns a finished attempt picked by ref, if there is one.
func (r *recorder) earlier(ref int, withOrder bool) (attempt, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var pool []attempt
	for _, a := range r.attempts {
		if !withOrder || a.orderID != "" {
			pool = append(pool, a)
		}
	}
	if len(pool) == 0 {
		return attempt{}, false
	}
	return pool[ref%len(pool)], true
}

func (r *recorder) stockOf(sku string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.configured[sku]
}

func (r *recorder) addWrite(w adminWrite, limit *int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w.before = r.configured[w.sku]
	if w.ok {
		r.configured[w.sku] = w.asked
		if limit != nil {
			r.limits[w.sku] = append(r.limits[w.sku], *limit)
		}
	}
	r.writes = append(r.writes, w)
}

// outcome fills an attempt's answer.
func (a *attempt) outcome(resp checkout.Response, err error) {
	if err == nil {
		a.result, a.orderID = resp.Outcome, resp.OrderID
		return
	}
	a.code = errcode.Code(err)
	var e *errcode.Error
	if errors.As(err, &e) {
		a.typ = e.Type
		if sku, ok := e.Extra["sku"].(string); ok {
			a.sku = sku
		}
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
