package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/analytics"
	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/customer"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/invoice"
	"github.com/surge-commerce/surge/internal/notify"
	"github.com/surge-commerce/surge/internal/order"
	"github.com/surge-commerce/surge/internal/recommend"
	"github.com/surge-commerce/surge/internal/store"
	"github.com/surge-commerce/surge/internal/testrig"
)

// Engines lists how to open a migrated, empty store on each engine, for
// tests outside this package that must run against both. PostgreSQL comes
// from the test run's shared server (skipped without one, except in CI).
var Engines = []struct {
	Name string
	Open Open
}{
	{"sqlite", OpenSQLite},
	{"postgres", OpenPostgres},
}

// OpenSQLite returns a migrated SQLite store in a temporary directory.
func OpenSQLite(t *testing.T) *store.Store {
	t.Helper()
	return openMigrated(t, store.Config{DataDir: t.TempDir(), MaxConns: 4})
}

// OpenPostgres returns a migrated store in a PostgreSQL schema of the
// test's own.
func OpenPostgres(t *testing.T) *store.Store {
	t.Helper()
	return openMigrated(t, store.Config{DatabaseURL: testrig.PostgresURL(t), MaxConns: 8})
}

func openMigrated(t *testing.T, cfg store.Config) *store.Store {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := store.Open(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(c); err != nil {
		t.Fatal(err)
	}
	return s
}

// Seller is a shop with products and a customer that places real orders,
// so tests of the event pipeline work on the events checkout writes.
type Seller struct {
	Store    *store.Store
	ShopID   int64
	Slug     string
	Customer string // has an email address: Slug + "@example.com"
	// Now stamps orders and their events; time.Now unless set.
	Now func() time.Time
	seq atomic.Int64
}

// SellerPrice is the unit price of every product a Seller sells.
const SellerPrice = 1999

// NewSeller creates shop slug selling skus (plenty of stock each) and a
// customer with an email address.
func NewSeller(t *testing.T, s *store.Store, slug string, skus ...string) *Seller {
	t.Helper()
	c := ctx(t)
	sh, err := s.CreateShop(c, slug, slug, slug+"-key", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, sku := range skus {
		p := product(sh.ID, sku, 1_000_000)
		p.Price = SellerPrice
		if _, _, err := s.PutProduct(c, p, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	sl := &Seller{Store: s, ShopID: sh.ID, Slug: slug, Customer: "cus_" + slug, Now: time.Now}
	err = s.CreateCustomer(c, customer.Customer{ShopID: sh.ID, ID: sl.Customer, Email: slug + "@example.com", CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return sl
}

// Order places an order for one unit of each SKU and takes it to status
// through the transitions a real order takes, each writing its event:
// pending_payment (order.created), paid, cancelled, fulfilled.
func (sl *Seller) Order(t *testing.T, status order.Status, skus ...string) order.Order {
	t.Helper()
	o, err := sl.PlaceOrder(context.Background(), status, skus...)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// PlaceOrder is Order for goroutines other than the test's: it returns the
// error instead of failing the test.
func (sl *Seller) PlaceOrder(c context.Context, status order.Status, skus ...string) (order.Order, error) {
	c, cancel := context.WithTimeout(c, 30*time.Second)
	defer cancel()
	n := sl.seq.Add(1)
	now := sl.Now()
	items := make([]checkout.Item, 0, len(skus))
	for _, sku := range slices.Sorted(slices.Values(skus)) {
		items = append(items, checkout.Item{SKU: sku, Quantity: 1})
	}
	respond := func(o order.Order) checkout.Response {
		return checkout.Response{Outcome: checkout.OutcomeCreated, Body: []byte(`{}`), OrderID: o.ID}
	}
	o, _, err := sl.Store.PlaceOrder(c, checkout.Placement{
		ShopID: sl.ShopID, CustomerID: sl.Customer, Key: fmt.Sprintf("key-%d", n), Fingerprint: fmt.Sprint(skus),
		OrderID: fmt.Sprintf("ord_%s_%d", sl.Slug, n), Items: items, Now: now,
		ReservationExpiry: now.Add(15 * time.Minute), LockUntil: now.Add(time.Minute), KeyExpiry: now.Add(24 * time.Hour),
	}, respond)
	if err != nil || status == order.PendingPayment {
		return o, err
	}
	if status == order.Cancelled {
		return sl.Store.CancelOrder(c, sl.ShopID, o.ID, "declined", sl.Now(), respond)
	}
	if o, err = sl.Store.CompletePayment(c, sl.ShopID, o.ID, "pay_"+o.ID, sl.Now(), respond); err != nil || status == order.Paid {
		return o, err
	}
	return sl.Store.TransitionOrder(c, o.ID, order.Paid, status, sl.Now())
}

// Published records what a relay handed to the broker, acknowledging all
// of it unless told otherwise.
type Published struct {
	mu      sync.Mutex
	batches [][]event.Envelope
	// Refuse, when set, makes the broker refuse an event (not acked).
	Refuse func(event.Envelope) bool
}

var errRefused = errors.New("broker refused the event")

// Publish is a event.Publish.
func (p *Published) Publish(_ context.Context, batch []event.Envelope) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.batches = append(p.batches, slices.Clone(batch))
	var acked []string
	var err error
	for _, e := range batch {
		if p.Refuse != nil && p.Refuse(e) {
			err = errRefused
			continue
		}
		acked = append(acked, e.ID)
	}
	return acked, err
}

// Events returns every event handed over, in order, duplicates included.
func (p *Published) Events() []event.Envelope {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []event.Envelope
	for _, b := range p.batches {
		out = append(out, b...)
	}
	return out
}

// Batches returns the batches handed over.
func (p *Published) Batches() [][]event.Envelope {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.batches)
}

// RelayAll runs relay rounds until the outbox has nothing ready and
// returns how many events were marked published.
func RelayAll(t *testing.T, s *store.Store, publish event.Publish) int {
	t.Helper()
	total := 0
	for range 100 {
		n, err := s.RelayOutbox(ctx(t), 100, time.Now(), publish)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
	t.Fatal("the outbox never ran empty")
	return total
}

func testEvents(t *testing.T, open Open) {
	t.Run("RelayOutbox", func(t *testing.T) { t.Parallel(); testRelayOutbox(t, open(t)) })
	t.Run("RelayOutboxFailures", func(t *testing.T) { t.Parallel(); testRelayOutboxFailures(t, open(t)) })
	t.Run("OutboxByPosition", func(t *testing.T) { t.Parallel(); testOutboxByPosition(t, open(t)) })
	t.Run("WritesDuringPublish", func(t *testing.T) { t.Parallel(); testWritesDuringPublish(t, open(t)) })
	t.Run("OutboxLag", func(t *testing.T) { t.Parallel(); testOutboxLag(t, open(t)) })
	t.Run("PruneOutbox", func(t *testing.T) { t.Parallel(); testPruneOutbox(t, open(t)) })
	t.Run("RepublishSince", func(t *testing.T) { t.Parallel(); testRepublishSince(t, open(t)) })
	t.Run("ApplyOnce", func(t *testing.T) { t.Parallel(); testApplyOnce(t, open(t)) })
	t.Run("InvoiceBatch", func(t *testing.T) { t.Parallel(); testInvoiceBatch(t, open(t)) })
	t.Run("InvoiceHandler", func(t *testing.T) { t.Parallel(); testInvoiceHandler(t, open(t)) })
	t.Run("SalesBatch", func(t *testing.T) { t.Parallel(); testSalesBatch(t, open(t)) })
	t.Run("NotificationBatch", func(t *testing.T) { t.Parallel(); testNotificationBatch(t, open(t)) })
	t.Run("BoughtTogetherBatch", func(t *testing.T) { t.Parallel(); testBoughtTogetherBatch(t, open(t)) })
	t.Run("OrderStatus", func(t *testing.T) { t.Parallel(); testOrderStatus(t, open(t)) })
}

// OrderStatus reads what Order reads as the status, and NotFound for an
// unknown order.
func testOrderStatus(t *testing.T, s *store.Store) {
	sl := NewSeller(t, s, "status", "A")
	for _, want := range []order.Status{order.PendingPayment, order.Paid, order.Cancelled} {
		o := sl.Order(t, want, "A")
		got, err := s.OrderStatus(context.Background(), o.ID)
		if err != nil || got != want {
			t.Errorf("order taken to %s: OrderStatus %q, %v", want, got, err)
		}
	}
	if _, err := s.OrderStatus(context.Background(), "ord_unknown"); !errcode.Is(err, errcode.NotFound) {
		t.Fatalf("unknown order: %v, want NotFound", err)
	}
}

// typesByOrder groups event types by aggregate, in the order given.
func typesByOrder(events []event.Envelope) map[string][]string {
	out := map[string][]string{}
	for _, e := range events {
		out[e.AggregateID] = append(out[e.AggregateID], e.Type)
	}
	return out
}

func testRelayOutbox(t *testing.T, s *store.Store) {
	sl := NewSeller(t, s, "relay", "A", "B")
	orders := map[string]order.Order{
		"paid":      sl.Order(t, order.Paid, "A", "B"),
		"fulfilled": sl.Order(t, order.Fulfilled, "A"),
		"cancelled": sl.Order(t, order.Cancelled, "B"),
		"pending":   sl.Order(t, order.PendingPayment, "A"),
	}
	want := map[string][]string{
		orders["paid"].ID:      {"order.created", "order.paid"},
		orders["fulfilled"].ID: {"order.created", "order.paid", "order.fulfilled"},
		orders["cancelled"].ID: {"order.created", "order.cancelled"},
		orders["pending"].ID:   {"order.created"},
	}
	var pub Published
	if n := RelayAll(t, s, pub.Publish); n != 8 {
		t.Fatalf("relayed %d events, want 8", n)
	}
	events := pub.Events()
	if got := typesByOrder(events); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events per order = %v, want %v", got, want)
	}
	seen := map[string]bool{}
	for _, e := range events {
		if seen[e.ID] {
			t.Fatalf("event %s handed over twice", e.ID)
		}
		seen[e.ID] = true
	}
	// An order's next event waits until the one before it is published,
	// which is what keeps order even with several relays.
	for i, b := range pub.Batches() {
		aggs := map[string]bool{}
		for _, e := range b {
			if aggs[e.AggregateID] {
				t.Fatalf("batch %d holds two events of order %s", i, e.AggregateID)
			}
			aggs[e.AggregateID] = true
		}
	}
	checkEnvelope(t, sl, events, orders["paid"])
	lag, n, err := s.OutboxLag(ctx(t), time.Now())
	if err != nil || lag != 0 || n != 0 {
		t.Fatalf("after relaying: lag %v, %d unpublished, %v", lag, n, err)
	}
	if RelayAll(t, s, pub.Publish) != 0 || len(pub.Events()) != 8 {
		t.Fatal("published events were handed over again")
	}
}

// testOutboxByPosition reads the outbox as the only relay does: by
// position, oldest first, each order's events in order; marking by
// position publishes exactly those events.
func testOutboxByPosition(t *testing.T, s *store.Store) {
	sl := NewSeller(t, s, "position", "A", "B")
	paid := sl.Order(t, order.Paid, "A", "B")
	fulfilled := sl.Order(t, order.Fulfilled, "A")
	var all []event.OutboxEvent
	for after := int64(0); ; {
		batch, err := s.NextOutbox(ctx(t), after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		if len(batch) > 2 {
			t.Fatalf("a batch of %d, limit 2", len(batch))
		}
		all = append(all, batch...)
		after = batch[len(batch)-1].Seq
	}
	var events []event.Envelope
	for i, e := range all {
		if i > 0 && e.Seq <= all[i-1].Seq {
			t.Fatalf("positions out of order: %d after %d", e.Seq, all[i-1].Seq)
		}
		events = append(events, e.Envelope)
	}
	want := map[string][]string{paid.ID: {"order.created", "order.paid"}, fulfilled.ID: {"order.created", "order.paid", "order.fulfilled"}}
	if got := typesByOrder(events); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events per order = %v, want %v", got, want)
	}
	checkEnvelope(t, sl, events, paid)

	// Marking the first two and the last leaves exactly the others.
	marked := []int64{all[0].Seq, all[1].Seq, all[len(all)-1].Seq}
	if err := s.MarkOutbox(ctx(t), marked, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkOutbox(ctx(t), nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	rest, err := s.NextOutbox(ctx(t), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != len(all)-3 || rest[0].Seq != all[2].Seq || rest[len(rest)-1].Seq != all[len(all)-2].Seq {
		t.Fatalf("after marking 3 of %d, %d unpublished remain: %+v", len(all), len(rest), rest)
	}
	if _, n, err := s.OutboxLag(ctx(t), time.Now()); err != nil || n != len(rest) {
		t.Fatalf("lag counts %d unpublished (%v), want %d", n, err, len(rest))
	}
}

// checkEnvelope checks the order.paid envelope of o field by field.
func checkEnvelope(t *testing.T, sl *Seller, events []event.Envelope, o order.Order) {
	t.Helper()
	i := slices.IndexFunc(events, func(e event.Envelope) bool { return e.AggregateID == o.ID && e.Type == "order.paid" })
	if i < 0 {
		t.Fatalf("no order.paid for %s", o.ID)
	}
	e := events[i]
	if e.Spec != event.Spec || e.Shop != sl.Slug || e.ShopID != sl.ShopID || e.Aggregate != "order" ||
		e.OccurredAt.IsZero() || e.Subject() != "surge."+sl.Slug+".order.paid" {
		t.Fatalf("envelope = %+v", e)
	}
	var d event.OrderData
	if err := json.Unmarshal(e.Data, &d); err != nil {
		t.Fatal(err)
	}
	if d.OrderID != o.ID || d.CustomerID != sl.Customer || d.Status != "paid" || d.Currency != "EUR" ||
		d.Total != 2*SellerPrice || len(d.Lines) != 2 || d.Lines[0].SKU != "A" || d.Lines[0].Title != "Title A" ||
		d.Lines[0].UnitPrice != SellerPrice || d.Lines[0].Quantity != 1 {
		t.Fatalf("payload = %+v", d)
	}
}

func testRelayOutboxFailures(t *testing.T, s *store.Store) {
	sl := NewSeller(t, s, "fail", "A")
	for range 3 {
		sl.Order(t, order.Paid, "A")
	}
	down := func(context.Context, []event.Envelope) ([]string, error) { return nil, errors.New("broker down") }
	if n, err := s.RelayOutbox(ctx(t), 100, time.Now(), down); n != 0 || err == nil {
		t.Fatalf("relay with the broker down = %d, %v; want 0 and an error", n, err)
	}
	wantUnpublished(t, s, 6)

	// A broker that acknowledges part of a batch: the acknowledged events
	// are marked, the others stay for the next round.
	var first string
	pub := Published{Refuse: func(e event.Envelope) bool {
		if first == "" {
			first = e.ID
		}
		return e.ID != first
	}}
	n, err := s.RelayOutbox(ctx(t), 100, time.Now(), pub.Publish)
	if n != 1 || err == nil {
		t.Fatalf("relay with one event acked = %d, %v; want 1 and an error", n, err)
	}
	wantUnpublished(t, s, 5)
	pub.Refuse = nil
	if n := RelayAll(t, s, pub.Publish); n != 5 {
		t.Fatalf("second relay published %d, want 5", n)
	}
	for _, e := range pub.Events()[len(pub.Batches()[0]):] {
		if e.ID == first {
			t.Fatalf("acknowledged event %s was handed over again", first)
		}
	}
}

func wantUnpublished(t *testing.T, s *store.Store, want int) {
	t.Helper()
	if _, n, err := s.OutboxLag(ctx(t), time.Now()); err != nil || n != want {
		t.Fatalf("unpublished = %d, %v; want %d", n, err, want)
	}
}

// testWritesDuringPublish holds a publish in flight while a checkout
// commits: checkouts must never wait on the broker.
func testWritesDuringPublish(t *testing.T, s *store.Store) {
	sl := NewSeller(t, s, "busy", "A")
	sl.Order(t, order.Paid, "A")
	var placed error
	slow := func(c context.Context, batch []event.Envelope) ([]string, error) {
		wctx, cancel := context.WithTimeout(c, 5*time.Second)
		defer cancel()
		_, placed = sl.PlaceOrder(wctx, order.Paid, "A")
		ids := make([]string, 0, len(batch))
		for _, e := range batch {
			ids = append(ids, e.ID)
		}
		return ids, nil
	}
	if _, err := s.RelayOutbox(ctx(t), 100, time.Now(), slow); err != nil {
		t.Fatal(err)
	}
	if placed != nil {
		t.Fatalf("a checkout during a publish failed: %v", placed)
	}
}

func testOutboxLag(t *testing.T, s *store.Store) {
	sl := NewSeller(t, s, "lag", "A")
	t1 := time.Now().Truncate(time.Second)
	sl.Now = func() time.Time { return t1 }
	sl.Order(t, order.Paid, "A")
	lag, n, err := s.OutboxLag(ctx(t), t1.Add(5*time.Second))
	if err != nil || lag != 5*time.Second || n != 2 {
		t.Fatalf("OutboxLag = %v, %d, %v; want 5s, 2", lag, n, err)
	}
	var pub Published
	RelayAll(t, s, pub.Publish)
	lag, n, err = s.OutboxLag(ctx(t), t1.Add(5*time.Second))
	if err != nil || lag != 0 || n != 0 {
		t.Fatalf("OutboxLag after relaying = %v, %d, %v; want 0, 0", lag, n, err)
	}
}

func testPruneOutbox(t *testing.T, s *store.Store) {
	sl := NewSeller(t, s, "prune", "A")
	for range 3 {
		sl.Order(t, order.Paid, "A")
	}
	sl.Order(t, order.PendingPayment, "A")
	published := time.Now()
	var pub Published
	RelayAll(t, s, pub.Publish)
	sl.Order(t, order.PendingPayment, "A") // unpublished: must survive any prune

	tests := []struct {
		name   string
		before time.Time
		limit  int
		want   int
	}{
		{"nothing published before", published.Add(-time.Hour), 100, 0},
		{"bounded by limit", published.Add(time.Hour), 4, 4},
		{"the rest", published.Add(time.Hour), 100, 3},
		{"unpublished never pruned", published.Add(time.Hour), 100, 0},
	}
	for _, tc := range tests {
		n, err := s.PruneOutbox(ctx(t), tc.before, tc.limit)
		if err != nil || n != tc.want {
			t.Fatalf("%s: pruned %d, %v; want %d", tc.name, n, err, tc.want)
		}
	}
	wantUnpublished(t, s, 1)
}

func testRepublishSince(t *testing.T, s *store.Store) {
	sl := NewSeller(t, s, "again", "A")
	early := sl.Order(t, order.Paid, "A")
	var pub Published
	t1 := time.Now()
	if n, err := s.RelayOutbox(ctx(t), 100, t1, pub.Publish); err != nil || n != 1 {
		t.Fatalf("first round = %d, %v", n, err)
	}
	if n, err := s.RelayOutbox(ctx(t), 100, t1, pub.Publish); err != nil || n != 1 {
		t.Fatalf("second round = %d, %v", n, err)
	}
	late := sl.Order(t, order.Paid, "A")
	t2 := t1.Add(time.Minute)
	for {
		n, err := s.RelayOutbox(ctx(t), 100, t2, pub.Publish)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	n, err := s.RepublishSince(ctx(t), t2)
	if err != nil || n != 2 {
		t.Fatalf("RepublishSince = %d, %v; want the 2 events published at t2", n, err)
	}
	before := len(pub.Events())
	RelayAll(t, s, pub.Publish)
	again := pub.Events()[before:]
	if got := typesByOrder(again); len(got) != 1 || fmt.Sprint(got[late.ID]) != "[order.created order.paid]" {
		t.Fatalf("republished %v; want only %s's events (not %s's)", got, late.ID, early.ID)
	}
}

func testApplyOnce(t *testing.T, s *store.Store) {
	sl := NewSeller(t, s, "once", "A", "B")
	o := sl.Order(t, order.Paid, "A", "B")
	var pub Published
	RelayAll(t, s, pub.Publish)
	i := slices.IndexFunc(pub.Events(), func(e event.Envelope) bool { return e.Type == "order.paid" })
	e := pub.Events()[i]
	var d event.OrderData
	if err := json.Unmarshal(e.Data, &d); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tests := []struct {
		name  string
		apply func() (bool, error)
	}{
		{"notify", func() (bool, error) {
			n, err := s.ApplyNotifications(ctx(t), []notify.Rendered{{EventID: e.ID, Notification: notify.Notification{ShopID: sl.ShopID, ID: "ntf_1", OrderID: o.ID,
				Kind: e.Type, Recipient: "r@example.com", Subject: "s", Body: "b", CreatedAt: now}}})
			return n == 1, err
		}},
		{"invoice", func() (bool, error) {
			n, err := s.ApplyInvoices(ctx(t), []invoice.Paid{{EventID: e.ID, ShopID: sl.ShopID, Order: d}}, now)
			return n == 1, err
		}},
		{"analytics", func() (bool, error) {
			n, err := s.ApplySales(ctx(t), []analytics.Sale{{EventID: e.ID, ShopID: sl.ShopID, At: e.OccurredAt, Lines: d.Lines}}, now)
			return n == 1, err
		}},
		{"recommend", func() (bool, error) {
			n, err := s.ApplyBoughtTogether(ctx(t), []recommend.Bought{{EventID: e.ID, ShopID: sl.ShopID, SKUs: []string{"A", "B"}}}, now)
			return n == 1, err
		}},
	}
	for _, tc := range tests {
		for i, want := range []bool{true, false, false} {
			applied, err := tc.apply()
			if err != nil || applied != want {
				t.Fatalf("%s: application %d = %v, %v; want %v", tc.name, i+1, applied, err, want)
			}
		}
	}
	if ns := must[[]notify.Notification](t)(s.Notifications(ctx(t), sl.ShopID, o.ID, 10)); len(ns) != 1 {
		t.Errorf("%d notifications, want 1", len(ns))
	}
	if inv := must[[]invoice.Invoice](t)(s.Invoices(ctx(t), sl.ShopID, 0, 10)); len(inv) != 1 || inv[0].Number != 1 || inv[0].OrderID != o.ID {
		t.Errorf("invoices = %+v, want number 1 for %s", inv, o.ID)
	}
	best := must[[]analytics.SKUSales](t)(s.BestSellers(ctx(t), sl.ShopID, now.Add(-time.Hour), 10))
	if len(best) != 2 || best[0].Units != 1 || best[0].Revenue != SellerPrice {
		t.Errorf("best-sellers = %+v, want A and B with 1 unit each", best)
	}
	together := must[[]analytics.SKUSales](t)(s.BoughtTogether(ctx(t), sl.ShopID, "A", 10))
	if len(together) != 1 || together[0].SKU != "B" || together[0].Units != 1 {
		t.Errorf("bought with A = %+v, want B once", together)
	}
}
