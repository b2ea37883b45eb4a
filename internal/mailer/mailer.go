// Package mailer delivers the notifications the notify consumer stored to
// an SMTP server. Stored notifications are the outbox of mail: a message
// is marked sent only after the server accepted it, so a crash in between
// sends it again (at least once); its Message-ID lets the receiving side
// drop the duplicate.
package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/surge-commerce/surge/internal/notify"
)

// Store is what the mailer needs from persistence.
type Store interface {
	// UnsentNotifications returns notifications due for delivery at now.
	UnsentNotifications(ctx context.Context, now time.Time, limit int) ([]notify.Notification, error)
	MarkNotificationSent(ctx context.Context, shopID int64, id string, now time.Time) error
	// NotificationFailed records a failed attempt; the next is due at next,
	// or with failed set the notification is given up on.
	NotificationFailed(ctx context.Context, shopID int64, id, lastError string, next time.Time, failed bool, now time.Time) error
}

// MaxAttempts is how many times a notification is tried before it is given
// up on. With backoff doubling from a second and capped at an hour, the
// tries span about a day.
const MaxAttempts = 30

// Config says where and how often to deliver.
type Config struct {
	// URL is smtp://[user:password@]host:port[?from=address].
	URL string
	// Interval between delivery rounds; 1 s when zero.
	Interval time.Duration
	// Timeout bounds one message's whole SMTP conversation; 10 s when zero.
	Timeout time.Duration
}

// Sender runs delivery rounds until stopped.
type Sender struct {
	store    Store
	addr     string
	host     string
	from     string
	auth     smtp.Auth
	interval time.Duration
	timeout  time.Duration
	now      func() time.Time
	log      *slog.Logger
	sent     prometheus.Counter
	failed   prometheus.Counter
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// CheckURL reports whether raw is an SMTP URL New accepts, so a bad
// setting is refused at start before anything else happens.
func CheckURL(raw string) error {
	_, err := parseURL(raw)
	return err
}

func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "smtp" || u.Hostname() == "" || u.Port() == "" {
		return nil, fmt.Errorf("--smtp-url (SURGE_SMTP_URL) must look like smtp://[user:password@]host:port[?from=address]")
	}
	return u, nil
}

// New parses cfg.URL and returns a sender; it sends nothing until Start.
func New(store Store, cfg Config, now func() time.Time, log *slog.Logger, reg prometheus.Registerer) (*Sender, error) {
	u, err := parseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	s := &Sender{
		store: store, addr: u.Host, host: u.Hostname(), from: u.Query().Get("from"),
		interval: cfg.Interval, timeout: cfg.Timeout, now: now, log: log,
		sent:   prometheus.NewCounter(prometheus.CounterOpts{Name: "surge_mail_sent_total", Help: "Notifications the SMTP server accepted."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "surge_mail_failures_total", Help: "SMTP deliveries that failed and will be retried."}),
	}
	if s.from == "" {
		s.from = "orders@" + s.host
	}
	if s.interval <= 0 {
		s.interval = time.Second
	}
	if s.timeout <= 0 {
		s.timeout = 10 * time.Second
	}
	if pw, ok := u.User.Password(); ok {
		// net/smtp refuses PLAIN over an unencrypted link except to
		// localhost, which is the protection we want.
		s.auth = smtp.PlainAuth("", u.User.Username(), pw, s.host)
	}
	reg.MustRegister(s.sent, s.failed)
	return s, nil
}

// Start begins delivery rounds.
func (s *Sender) Start(ctx context.Context) error {
	ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Go(func() {
		t := time.NewTicker(s.interval)
		defer t.Stop()
		for {
			if err := s.Round(ctx); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "mail delivery round failed", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	return nil
}

// Stop ends delivery and waits for the message in flight.
func (s *Sender) Stop() {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
}

// Round tries each notification that is due, up to 100, oldest first, each
// on its own: one that fails is retried later with backoff, or given up on
// when the server refuses it for good (a 5xx, such as an unknown
// recipient) or after MaxAttempts, so one bad address or one shop's
// failures never hold back anyone else's mail. Only when the server cannot
// be reached at all does the round stop early: the others would fail the
// same way, and are not charged an attempt for it.
func (s *Sender) Round(ctx context.Context) error {
	batch, err := s.store.UnsentNotifications(ctx, s.now(), 100)
	if err != nil {
		return err
	}
	for _, n := range batch {
		err := s.send(ctx, n)
		if err == nil {
			s.sent.Inc()
			if err := s.store.MarkNotificationSent(ctx, n.ShopID, n.ID, s.now()); err != nil {
				return err
			}
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.failed.Inc()
		now := s.now()
		failed := permanent(err) || n.Attempts+1 >= MaxAttempts
		if err := s.store.NotificationFailed(ctx, n.ShopID, n.ID, err.Error(), now.Add(backoff(n.Attempts)), failed, now); err != nil {
			return err
		}
		if failed {
			s.log.WarnContext(ctx, "mail given up; the shop sees it and may send it again",
				"notification_id", n.ID, "attempts", n.Attempts+1, "err", err)
		}
		if unreachable(err) {
			return fmt.Errorf("SMTP server unreachable: %w", err)
		}
	}
	return nil
}

// backoff is the wait after the given number of earlier failed attempts:
// a second, doubling, at most an hour.
func backoff(attempts int) time.Duration {
	return min(time.Hour, time.Second<<min(attempts, 12))
}

// permanent reports whether the server refused the message for good: an
// SMTP 5xx reply (unknown recipient, policy), or a message Surge must not
// send (header injection).
func permanent(err error) bool {
	var reply *textproto.Error
	if errors.As(err, &reply) {
		return reply.Code >= 500
	}
	return errors.Is(err, errHeaderInjection)
}

// unreachable reports whether the server could not be reached at all.
func unreachable(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

var errHeaderInjection = errors.New("header injection refused")

// send has one SMTP conversation for n, bounded by the timeout.
func (s *Sender) send(ctx context.Context, n notify.Notification) error {
	if strings.ContainsAny(n.Recipient, "\r\n") || strings.ContainsAny(n.Subject, "\r\n") {
		return errHeaderInjection
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: s.host}); err != nil {
			return err
		}
	}
	if s.auth != nil {
		if err := c.Auth(s.auth); err != nil {
			return err
		}
	}
	if err := c.Mail(s.from); err != nil {
		return err
	}
	if err := c.Rcpt(n.Recipient); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	msg := "From: " + s.from + "\r\nTo: " + n.Recipient + "\r\nSubject: " + n.Subject +
		"\r\nMessage-ID: <" + n.ID + "@surge>\r\nDate: " + n.CreatedAt.UTC().Format(time.RFC1123Z) +
		"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + strings.ReplaceAll(n.Body, "\n", "\r\n")
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}
