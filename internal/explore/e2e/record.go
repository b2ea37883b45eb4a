package e2e

import (
	"fmt"
	"sync"
	"time"
)

// attempt is one checkout request and what came of it.
type attempt struct {
	Step       string // the schedule step it belongs to
	Op         Op
	Key        string
	Body       string // the request body, to tell a retry from another request
	Lines      []Line
	Customer   string
	Sent, Done time.Time
	Reply      reply
	OrderID    string
}

// acknowledged reports whether the server answered with an order.
func (a attempt) acknowledged() bool {
	return a.Reply.Status == 201 || a.Reply.Status == 202
}

// stockSet is an admin write that sets a SKU's received stock (a product
// or sale PUT), recorded whether or not it succeeded.
type stockSet struct {
	SKU  string
	N    int64
	Sent time.Time
}

// saleChange is a write that can start, change or end a purchase limit on
// the hot SKU. Limit is 0 for a sale's end or a product PUT, which may
// replace the limit.
type saleChange struct {
	Limit      int64
	Sent, Done time.Time
	OK         bool
}

// adminAction is a refund or fulfilment and its answer.
type adminAction struct {
	Op      Op
	OrderID string
	Status  int
}

// record is the client-side log of a run, filled concurrently by actors.
type record struct {
	mu       sync.Mutex
	attempts []attempt
	stocks   []stockSet
	sales    []saleChange
	actions  []adminAction
	errors   []string // failures of the harness itself, e.g. a restart
}

func (r *record) addAttempt(a attempt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, a)
}

func (r *record) addStock(s stockSet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stocks = append(r.stocks, s)
}

func (r *record) addSale(s saleChange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sales = append(r.sales, s)
}

func (r *record) addAction(a adminAction) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.actions = append(r.actions, a)
}

func (r *record) addError(e string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, e)
}

// ackedOrders returns the ids of orders acknowledged so far, in order.
func (r *record) ackedOrders() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for _, a := range r.attempts {
		if a.acknowledged() && a.OrderID != "" {
			ids = append(ids, a.OrderID)
		}
	}
	return ids
}

// summary counts the checkout replies by status (0: no answer), so a run
// shows what it exercised.
func (r *record) summary() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	counts := map[int]int{}
	for _, a := range r.attempts {
		counts[a.Reply.Status]++
	}
	return fmt.Sprintf("%d checkout attempts by status %v, %d stock writes, %d sale changes, %d refunds and fulfilments",
		len(r.attempts), counts, len(r.stocks), len(r.sales), len(r.actions))
}
