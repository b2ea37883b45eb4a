package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/customer"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/notify"
	"github.com/surge-commerce/surge/internal/shop"
	"github.com/surge-commerce/surge/internal/store"
)

// A notification with an email address waits for SMTP delivery, oldest
// first, until it is sent or given up on; a failure pushes it back, and a
// shop may send one it gave up on again. A shop reaches only its own
// (docs/INVARIANTS.md, I6).
func testNotificationDelivery(t *testing.T, s *store.Store) {
	c := ctx(t)
	a := must[shop.Shop](t)(createShop(c, s, "notified"))
	b := must[shop.Shop](t)(createShop(c, s, "elsewhere"))
	rendered := func(shopID int64, id, recipient string, at time.Time) notify.Rendered {
		return notify.Rendered{EventID: "evt_" + id, Notification: notify.Notification{ShopID: shopID, ID: id, OrderID: "ord_" + id,
			Kind: "order.paid", Recipient: recipient, Subject: "Paid", Body: "Thank you", CreatedAt: at}}
	}
	batch := []notify.Rendered{
		rendered(a.ID, "ntf_1", "ann@example.com", t0),
		rendered(a.ID, "ntf_2", "bob@example.com", t0.Add(time.Second)),
		rendered(a.ID, "ntf_sink", "cus_without_email", t0.Add(2*time.Second)),
		rendered(b.ID, "ntf_b", "cat@example.com", t0.Add(3*time.Second)),
	}
	if n := must[int](t)(s.ApplyNotifications(c, batch)); n != len(batch) {
		t.Fatalf("stored %d notifications, want %d", n, len(batch))
	}
	later := t0.Add(time.Hour)
	unsent := func(at time.Time, limit int) []string {
		t.Helper()
		return notificationIDs(must[[]notify.Notification](t)(s.UnsentNotifications(c, at, limit)))
	}
	wantStrings(t, "unsent", unsent(later, 10), "ntf_1", "ntf_2", "ntf_b")
	wantStrings(t, "unsent, limit 1", unsent(later, 1), "ntf_1")

	// A failed attempt counts, keeps its cause and waits for its backoff.
	retryAt := t0.Add(2 * time.Hour)
	if err := s.NotificationFailed(c, a.ID, "ntf_1", "451 try later", retryAt, false, later); err != nil {
		t.Fatal(err)
	}
	wantStrings(t, "unsent during the backoff", unsent(later, 10), "ntf_2", "ntf_b")
	wantStrings(t, "unsent after the backoff", unsent(retryAt, 10), "ntf_1", "ntf_2", "ntf_b")
	n := notification(t, s, a.ID, "ntf_1")
	if n.Attempts != 1 || n.LastError != "451 try later" || !n.NextAttemptAt.Equal(retryAt) || !n.FailedAt.IsZero() {
		t.Fatalf("after a failed attempt: %+v", n)
	}

	// Another shop can neither send nor retry this shop's notifications.
	if err := s.MarkNotificationSent(c, b.ID, "ntf_2", later); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.RetryNotification(c, b.ID, "ntf_1"), errcode.NotFound)

	sentAt := later.Add(time.Minute)
	if err := s.MarkNotificationSent(c, a.ID, "ntf_2", sentAt); err != nil {
		t.Fatal(err)
	}
	// A failure reported after the delivery (a slow duplicate) changes nothing.
	if err := s.NotificationFailed(c, a.ID, "ntf_2", "late", retryAt, true, retryAt); err != nil {
		t.Fatal(err)
	}
	if n := notification(t, s, a.ID, "ntf_2"); !n.SentAt.Equal(sentAt) || n.Attempts != 0 || !n.FailedAt.IsZero() || !n.NextAttemptAt.IsZero() {
		t.Fatalf("sent notification: %+v", n)
	}
	wantCode(t, s.RetryNotification(c, a.ID, "ntf_2"), errcode.NotFound)

	// Given up on: a dead letter, until the shop sends it again.
	gaveUp := retryAt.Add(time.Minute)
	if err := s.NotificationFailed(c, a.ID, "ntf_1", "550 no such user", gaveUp.Add(time.Hour), true, gaveUp); err != nil {
		t.Fatal(err)
	}
	wantStrings(t, "unsent after giving up", unsent(gaveUp.Add(24*time.Hour), 10), "ntf_b")
	if n := notification(t, s, a.ID, "ntf_1"); n.Attempts != 2 || !n.FailedAt.Equal(gaveUp) || n.LastError != "550 no such user" {
		t.Fatalf("given up on: %+v", n)
	}
	if err := s.RetryNotification(c, a.ID, "ntf_1"); err != nil {
		t.Fatal(err)
	}
	wantStrings(t, "unsent after a retry", unsent(t0, 10), "ntf_1", "ntf_b")
	if n := notification(t, s, a.ID, "ntf_1"); n.Attempts != 0 || n.LastError != "" || !n.FailedAt.IsZero() || !n.SentAt.IsZero() {
		t.Fatalf("sent again: %+v", n)
	}
}

// A customer's email is read from its shop; none given, or no such
// customer there, reads as "".
func testCustomerEmail(t *testing.T, s *store.Store) {
	c := ctx(t)
	sl := NewSeller(t, s, "mailer")
	other := NewSeller(t, s, "other")
	if err := s.CreateCustomer(c, customer.Customer{ShopID: sl.ShopID, ID: "cus_quiet", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		shopID     int64
		customerID string
		want       string
	}{
		{"own customer", sl.ShopID, sl.Customer, "mailer@example.com"},
		{"no email given", sl.ShopID, "cus_quiet", ""},
		{"another shop's customer", sl.ShopID, other.Customer, ""},
		{"no such customer", sl.ShopID, "cus_nope", ""},
	}
	for _, tc := range tests {
		if got := must[string](t)(s.CustomerEmail(c, tc.shopID, tc.customerID)); got != tc.want {
			t.Errorf("%s: email %q, want %q", tc.name, got, tc.want)
		}
	}
}

func notification(t *testing.T, s *store.Store, shopID int64, id string) notify.Notification {
	t.Helper()
	for _, n := range must[[]notify.Notification](t)(s.Notifications(ctx(t), shopID, "ord_"+id, 10)) {
		if n.ID == id {
			return n
		}
	}
	t.Fatalf("no notification %s", id)
	return notify.Notification{}
}

func notificationIDs(ns []notify.Notification) []string {
	var ids []string
	for _, n := range ns {
		ids = append(ids, n.ID)
	}
	return ids
}

func wantStrings(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: %v, want %v", what, got, want)
	}
}
