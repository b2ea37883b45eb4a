package psp

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/surge-commerce/surge/internal/payment/wire"

	"github.com/surge-commerce/surge/internal/payment/simulator/fifo"
	"github.com/surge-commerce/surge/internal/store/sqlite"
)

// schema is idempotent so that opening an existing data dir is a no-op.
const schema = `
CREATE TABLE IF NOT EXISTS payments (
	seq                INTEGER PRIMARY KEY AUTOINCREMENT,
	id                 TEXT NOT NULL UNIQUE,
	merchant_reference TEXT NOT NULL,
	amount             INTEGER NOT NULL,
	currency           TEXT NOT NULL,
	status             TEXT NOT NULL,
	created_at         TEXT NOT NULL,
	updated_at         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS payments_by_reference ON payments (merchant_reference);
CREATE TABLE IF NOT EXISTS idempotency_keys (
	key          TEXT PRIMARY KEY,
	request_hash TEXT NOT NULL,
	status_code  INTEGER NOT NULL,
	body         BLOB NOT NULL,
	created_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_events (
	seq             INTEGER PRIMARY KEY AUTOINCREMENT,
	id              TEXT NOT NULL UNIQUE,
	body            BLOB NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	done            INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS webhook_events_due ON webhook_events (done, next_attempt_at);
`

var (
	errNotFound      = errors.New("payment not found")
	errKeyReused     = errors.New("idempotency key reused with a different request")
	errBadTransition = errors.New("transition not allowed from the current status")
)

// store keeps payments, stored idempotent responses and the webhook outbox.
// Writes go through one connection whose transactions start IMMEDIATE, so
// check-then-insert sequences are serialised without upgrade failures.
type store struct {
	write, read *sql.DB
	// writer queues writes first come, first served: database/sql hands the
	// one write connection to a random waiter, which stretches the tail.
	writer *fifo.Lock
	// events records webhook events with each state change when set.
	events bool
}

func openStore(ctx context.Context, dir string) (*store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("psp: data dir: %w", err)
	}
	// synchronous=NORMAL in WAL mode: a payment the API acknowledged survives
	// the crash or kill of any process (the OS holds the write); only a power
	// loss could drop the last commits, which a simulator need not survive.
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)"} {
		q.Add("_pragma", p)
	}
	dsn := "file:" + filepath.Join(dir, "psp.db") + "?" + q.Encode()
	write, err := sqlite.OpenDB(dsn + "&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("psp: open store: %w", err)
	}
	write.SetMaxOpenConns(1)
	read, err := sqlite.OpenDB(dsn + "&_pragma=query_only(ON)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("psp: open store: %w", err)
	}
	read.SetMaxOpenConns(8)
	s := &store{write: write, read: read, writer: fifo.New()}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := write.ExecContext(ctx, schema); err != nil {
		s.close()
		return nil, fmt.Errorf("psp: schema: %w", err)
	}
	// Added later: a data directory from before gains the column here.
	if _, err := write.ExecContext(ctx, `ALTER TABLE payments ADD COLUMN card_fingerprint TEXT NOT NULL DEFAULT ''`); err != nil &&
		!strings.Contains(err.Error(), "duplicate column") {
		s.close()
		return nil, fmt.Errorf("psp: schema: %w", err)
	}
	return s, nil
}

func (s *store) close() {
	s.write.Close()
	s.read.Close()
}

// storedResponse is what an idempotency key replays.
type storedResponse struct {
	status int
	body   []byte
}

// createPayment inserts p under key unless the key was used before, in
// which case it returns the stored response (or errKeyReused when hash
// differs). The payment, its event and the stored response commit together.
func (s *store) createPayment(ctx context.Context, key, hash string, p Payment) (storedResponse, error) {
	release, err := s.writer.Acquire(ctx)
	if err != nil {
		return storedResponse{}, err
	}
	defer release()
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return storedResponse{}, err
	}
	defer tx.Rollback()
	prev, found, err := lookupKey(ctx, tx, key)
	if err != nil {
		return storedResponse{}, err
	}
	if found && prev.hash != hash {
		return storedResponse{}, errKeyReused
	}
	if found {
		return prev.response, nil
	}
	body, err := json.Marshal(p)
	if err != nil {
		return storedResponse{}, err
	}
	if err := insertPayment(ctx, tx, p); err != nil {
		return storedResponse{}, err
	}
	if err := s.recordEvent(ctx, tx, p); err != nil {
		return storedResponse{}, err
	}
	resp := storedResponse{status: 201, body: body}
	_, err = tx.ExecContext(ctx,
		`INSERT INTO idempotency_keys (key, request_hash, status_code, body, created_at) VALUES (?, ?, ?, ?, ?)`,
		key, hash, resp.status, resp.body, formatTime(p.CreatedAt))
	if err != nil {
		return storedResponse{}, err
	}
	return resp, tx.Commit()
}

type keyRow struct {
	hash     string
	response storedResponse
}

func lookupKey(ctx context.Context, tx *sql.Tx, key string) (keyRow, bool, error) {
	var k keyRow
	err := tx.QueryRowContext(ctx,
		`SELECT request_hash, status_code, body FROM idempotency_keys WHERE key = ?`, key).
		Scan(&k.hash, &k.response.status, &k.response.body)
	if errors.Is(err, sql.ErrNoRows) {
		return keyRow{}, false, nil
	}
	return k, err == nil, err
}

func insertPayment(ctx context.Context, tx *sql.Tx, p Payment) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO payments (id, merchant_reference, amount, currency, status, created_at, updated_at, card_fingerprint)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.MerchantReference, p.Amount, p.Currency, p.Status, formatTime(p.CreatedAt), formatTime(p.UpdatedAt), p.CardFingerprint)
	return err
}

// transition moves payment id along op at time now. Repeating a transition
// that already happened returns the payment unchanged.
func (s *store) transition(ctx context.Context, id string, op operation, now time.Time) (Payment, error) {
	release, err := s.writer.Acquire(ctx)
	if err != nil {
		return Payment{}, err
	}
	defer release()
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return Payment{}, err
	}
	defer tx.Rollback()
	p, err := scanPayment(tx.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM payments WHERE id = ?`, id))
	if err != nil {
		return Payment{}, err
	}
	next, changed, err := op.apply(p.Status)
	if err != nil || !changed {
		return p, err
	}
	p.Status, p.UpdatedAt = next, now
	_, err = tx.ExecContext(ctx, `UPDATE payments SET status = ?, updated_at = ? WHERE id = ?`,
		p.Status, formatTime(p.UpdatedAt), p.ID)
	if err != nil {
		return Payment{}, err
	}
	if err := s.recordEvent(ctx, tx, p); err != nil {
		return Payment{}, err
	}
	return p, tx.Commit()
}

const paymentColumns = `seq, id, merchant_reference, amount, currency, status, created_at, updated_at, card_fingerprint`

type rowScanner interface{ Scan(dest ...any) error }

func scanPayment(row rowScanner) (Payment, error) {
	p, _, err := scanPaymentSeq(row)
	return p, err
}

func scanPaymentSeq(row rowScanner) (Payment, int64, error) {
	var p Payment
	var seq int64
	var created, updated string
	err := row.Scan(&seq, &p.ID, &p.MerchantReference, &p.Amount, &p.Currency, &p.Status, &created, &updated, &p.CardFingerprint)
	if errors.Is(err, sql.ErrNoRows) {
		return Payment{}, 0, errNotFound
	}
	if err != nil {
		return Payment{}, 0, err
	}
	if p.CreatedAt, err = parseTime(created); err != nil {
		return Payment{}, 0, err
	}
	p.UpdatedAt, err = parseTime(updated)
	return p, seq, err
}

func (s *store) payment(ctx context.Context, id string) (Payment, error) {
	return scanPayment(s.read.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM payments WHERE id = ?`, id))
}

func (s *store) paymentsByReference(ctx context.Context, ref string) ([]Payment, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT `+paymentColumns+` FROM payments WHERE merchant_reference = ? ORDER BY seq`, ref)
	if err != nil {
		return nil, err
	}
	list, _, err := collectPayments(rows)
	return list, err
}

// ledgerPage returns up to limit payments after the cursor, oldest first,
// and the cursor of the next page ("" when this page is the last).
func (s *store) ledgerPage(ctx context.Context, after int64, limit int) ([]Payment, string, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT `+paymentColumns+` FROM payments WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, "", err
	}
	list, last, err := collectPayments(rows)
	if err != nil || len(list) < limit {
		return list, "", err
	}
	return list, strconv.FormatInt(last, 10), nil
}

func collectPayments(rows *sql.Rows) ([]Payment, int64, error) {
	defer rows.Close()
	list := []Payment{}
	var last int64
	for rows.Next() {
		p, seq, err := scanPaymentSeq(rows)
		if err != nil {
			return nil, 0, err
		}
		list, last = append(list, p), seq
	}
	return list, last, rows.Err()
}

// recordEvent queues a webhook for p's new status in the caller's
// transaction, so an event exists if and only if the change committed.
func (s *store) recordEvent(ctx context.Context, tx *sql.Tx, p Payment) error {
	if !s.events {
		return nil
	}
	ev := Event{ID: newID("evt_"), Type: wire.EventType(p.Status), Payment: p}
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx,
		`INSERT INTO webhook_events (id, body, next_attempt_at) VALUES (?, ?, ?)`,
		ev.ID, body, p.UpdatedAt.UnixMilli())
	return err
}

// pendingEvent is a webhook waiting for delivery.
type pendingEvent struct {
	seq      int64
	body     []byte
	attempts int
}

func (s *store) dueEvents(ctx context.Context, now time.Time, limit int) ([]pendingEvent, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT seq, body, attempts FROM webhook_events WHERE done = 0 AND next_attempt_at <= ? ORDER BY seq LIMIT ?`,
		now.UnixMilli(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []pendingEvent
	for rows.Next() {
		var e pendingEvent
		if err := rows.Scan(&e.seq, &e.body, &e.attempts); err != nil {
			return nil, err
		}
		list = append(list, e)
	}
	return list, rows.Err()
}

// nextDue returns when the earliest undelivered event is due, or false.
func (s *store) nextDue(ctx context.Context) (time.Time, bool, error) {
	var ms sql.NullInt64
	err := s.read.QueryRowContext(ctx, `SELECT MIN(next_attempt_at) FROM webhook_events WHERE done = 0`).Scan(&ms)
	if err != nil || !ms.Valid {
		return time.Time{}, false, err
	}
	return time.UnixMilli(ms.Int64), true, nil
}

// markEvent records one delivery attempt: done when delivered or given up,
// otherwise due again at next.
func (s *store) markEvent(ctx context.Context, seq int64, done bool, next time.Time) error {
	release, err := s.writer.Acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	_, err = s.write.ExecContext(ctx,
		`UPDATE webhook_events SET attempts = attempts + 1, done = ?, next_attempt_at = ? WHERE seq = ?`,
		done, next.UnixMilli(), seq)
	return err
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }
