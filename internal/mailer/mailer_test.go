package mailer_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/surge-commerce/surge/internal/customer"
	"github.com/surge-commerce/surge/internal/mailer"
	"github.com/surge-commerce/surge/internal/notify"
	"github.com/surge-commerce/surge/internal/store"
	"github.com/surge-commerce/surge/internal/store/storetest"
)

// sink is a minimal SMTP server on loopback that keeps what it accepts.
// While reject is set it refuses every recipient with a temporary error;
// it always refuses recipients at bounce.example for good.
type sink struct {
	ln       net.Listener
	reject   atomic.Bool
	mu       sync.Mutex
	messages []string
}

func startSink(t *testing.T) *sink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(conn)
		}
	}()
	return s
}

func (s *sink) serve(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(conn)
	reply := func(line string) { fmt.Fprintf(conn, "%s\r\n", line) }
	reply("220 sink ready")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			reply("250 sink")
		case strings.HasPrefix(cmd, "MAIL FROM"):
			reply("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO"):
			if strings.Contains(cmd, "@BOUNCE.EXAMPLE") {
				reply("550 no such user")
			} else if s.reject.Load() {
				reply("451 try again later")
			} else {
				reply("250 ok")
			}
		case cmd == "DATA":
			reply("354 go ahead")
			var msg strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				msg.WriteString(l)
			}
			s.mu.Lock()
			s.messages = append(s.messages, msg.String())
			s.mu.Unlock()
			reply("250 queued")
		case cmd == "QUIT":
			reply("221 bye")
			return
		default:
			reply("250 ok")
		}
	}
}

func (s *sink) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.messages...)
}

func TestDelivery(t *testing.T) {
	for _, e := range storetest.Engines {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			testDelivery(t, e.Open(t))
		})
	}
}

func testDelivery(t *testing.T, st *store.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sh, err := st.CreateShop(ctx, "mail", "Mail", "mail-key", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateCustomer(ctx, customer.Customer{ShopID: sh.ID, ID: "cus_1", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	put := func(id, recipient string) {
		t.Helper()
		_, err := st.ApplyNotifications(ctx, []notify.Rendered{{EventID: "evt_" + id, Notification: notify.Notification{ShopID: sh.ID, ID: id,
			OrderID: "ord_" + id, Kind: "order.paid", Recipient: recipient, Subject: "Your order " + id, Body: "Thanks.\nSee you.", CreatedAt: time.Now()}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	put("ntf_1", "ann@example.com")
	put("ntf_2", "customer:cus_1") // no address: stays in the shop's sink
	put("ntf_3", "bob@example.com")

	smtpd := startSink(t)
	smtpd.reject.Store(true)
	clock := time.Now()
	now := func() time.Time { return clock }
	s, err := mailer.New(st, mailer.Config{URL: "smtp://" + smtpd.ln.Addr().String() + "?from=shop@example.com", Timeout: 5 * time.Second},
		now, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}

	// A server refusing for now: nothing is marked sent, each message is
	// due again after its backoff, not before.
	if err := s.Round(ctx); err != nil {
		t.Fatal(err)
	}
	if due, _ := st.UnsentNotifications(ctx, clock, 10); len(due) != 0 {
		t.Fatalf("%d due again at once after a temporary refusal, want 0 (backoff)", len(due))
	}
	clock = clock.Add(2 * time.Second)
	if due, _ := st.UnsentNotifications(ctx, clock, 10); len(due) != 2 || due[0].Attempts != 1 || due[0].LastError == "" {
		t.Fatalf("after the backoff %d due (%+v), want 2 with one attempt and its error", len(due), due)
	}

	smtpd.reject.Store(false)
	if err := s.Round(ctx); err != nil {
		t.Fatal(err)
	}
	got := smtpd.received()
	if len(got) != 2 || !strings.Contains(got[0], "To: ann@example.com") || !strings.Contains(got[0], "Message-ID: <ntf_1@surge>") ||
		!strings.Contains(got[0], "Subject: Your order ntf_1") || !strings.Contains(got[0], "Thanks.\r\nSee you.") ||
		!strings.Contains(got[1], "To: bob@example.com") {
		t.Fatalf("delivered %q", got)
	}
	if unsent, _ := st.UnsentNotifications(ctx, clock.Add(time.Hour), 10); len(unsent) != 0 {
		t.Fatalf("%d still unsent after delivery", len(unsent))
	}
	if err := s.Round(ctx); err != nil || len(smtpd.received()) != 2 {
		t.Fatalf("a second round sent again: %v, %d messages", err, len(smtpd.received()))
	}
	ns, err := st.Notifications(ctx, sh.ID, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if sent := !n.SentAt.IsZero(); sent != (n.ID != "ntf_2") {
			t.Errorf("%s: sent %v", n.ID, sent)
		}
	}
}

// One address the server refuses for good is given up on at once and
// shown to its shop, while every other message, of its shop and of
// others, goes out in the same round; the shop can send it again.
func TestBadRecipientDoesNotStopMail(t *testing.T) {
	for _, e := range storetest.Engines {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			testBadRecipient(t, e.Open(t))
		})
	}
}

func testBadRecipient(t *testing.T, st *store.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var shops []int64
	for _, slug := range []string{"bounce", "fine"} {
		sh, err := st.CreateShop(ctx, slug, slug, slug+"-key", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		shops = append(shops, sh.ID)
	}
	put := func(shopID int64, id, recipient string) {
		t.Helper()
		_, err := st.ApplyNotifications(ctx, []notify.Rendered{{EventID: "evt_" + id, Notification: notify.Notification{ShopID: shopID, ID: id,
			OrderID: "ord_" + id, Kind: "order.paid", Recipient: recipient, Subject: "Order " + id, Body: "Thanks.", CreatedAt: time.Now()}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	put(shops[0], "ntf_bad", "nobody@bounce.example") // oldest: first in the round
	put(shops[0], "ntf_a", "ann@example.com")
	put(shops[1], "ntf_b", "bob@example.com")
	smtpd := startSink(t)
	s, err := mailer.New(st, mailer.Config{URL: "smtp://" + smtpd.ln.Addr().String(), Timeout: 5 * time.Second},
		time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Round(ctx); err != nil {
		t.Fatal(err)
	}
	if got := smtpd.received(); len(got) != 2 {
		t.Fatalf("%d messages delivered beside the bad recipient, want 2", len(got))
	}
	ns, err := st.Notifications(ctx, shops[0], "ord_ntf_bad", 1)
	if err != nil || len(ns) != 1 {
		t.Fatalf("the bad notification: %v %v", ns, err)
	}
	if bad := ns[0]; bad.FailedAt.IsZero() || !strings.Contains(bad.LastError, "550") || bad.Attempts != 1 {
		t.Fatalf("bad recipient %+v, want failed once with the 550 shown", bad)
	}
	if err := st.RetryNotification(ctx, shops[1], "ntf_bad"); err == nil {
		t.Fatal("another shop retried this shop's notification")
	}
	if err := st.RetryNotification(ctx, shops[0], "ntf_bad"); err != nil {
		t.Fatal(err)
	}
	if due, _ := st.UnsentNotifications(ctx, time.Now(), 10); len(due) != 1 || due[0].ID != "ntf_bad" {
		t.Fatalf("after a retry %v due, want the bad notification", due)
	}
}

func TestBadURL(t *testing.T) {
	for _, raw := range []string{"", "http://host:25", "smtp://host", "smtp://:25", "::"} {
		if _, err := mailer.New(nil, mailer.Config{URL: raw}, time.Now, slog.Default(), prometheus.NewRegistry()); err == nil {
			t.Errorf("%q accepted", raw)
		}
	}
}
