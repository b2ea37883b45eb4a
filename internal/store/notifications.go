package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/surge-commerce/surge/internal/notify"
)

// ApplyNotifications stores rendered notifications once per event, in one
// transaction for the batch, and returns how many it stored.
func (s *Store) ApplyNotifications(ctx context.Context, rendered []notify.Rendered) (int, error) {
	if len(rendered) == 0 {
		return 0, nil
	}
	stored := 0
	err := s.pipelined(ctx, func(ctx context.Context, t *pipeTx) error {
		fresh, err := claimNow(ctx, t, "notify", rendered,
			func(r notify.Rendered) claimed { return claimed{r.EventID, r.ShopID} }, rendered[0].CreatedAt)
		stored = len(fresh)
		if err != nil || len(fresh) == 0 {
			return err
		}
		query := `INSERT INTO notifications (shop_id, notification_id, order_id, kind, recipient, subject, body, created_at) VALUES `
		args := make([]any, 0, 8*len(fresh))
		for i, r := range fresh {
			query += valuesRow(i, 8)
			args = append(args, r.ShopID, r.ID, r.OrderID, r.Kind, r.Recipient, r.Subject, r.Body, micros(r.CreatedAt))
		}
		t.exec(nil, query, args...) // goes out with the commit
		return nil
	})
	if err != nil {
		return 0, err
	}
	return stored, nil
}

// CustomerEmail returns a customer's email ("" when none was given).
func (s *Store) CustomerEmail(ctx context.Context, shopID int64, customerID string) (string, error) {
	var email string
	err := s.read.QueryRowContext(ctx, s.q(`SELECT email FROM customers WHERE shop_id = ? AND customer_id = ?`),
		shopID, customerID).Scan(&email)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return email, classify(err)
}

// Notifications lists a shop's notifications, newest first, optionally for
// one order.
func (s *Store) Notifications(ctx context.Context, shopID int64, orderID string, limit int) ([]notify.Notification, error) {
	query := `SELECT shop_id, notification_id, order_id, kind, recipient, subject, body, created_at, sent_at
		FROM notifications WHERE shop_id = ?`
	args := []any{shopID}
	if orderID != "" {
		query += ` AND order_id = ?`
		args = append(args, orderID)
	}
	query += ` ORDER BY created_at DESC, notification_id DESC LIMIT ?`
	return s.queryNotifications(ctx, query, append(args, limit)...)
}

// UnsentNotifications returns notifications waiting for SMTP delivery,
// oldest first. Those without an email address stay in the shop's sink.
func (s *Store) UnsentNotifications(ctx context.Context, limit int) ([]notify.Notification, error) {
	return s.queryNotifications(ctx, `SELECT shop_id, notification_id, order_id, kind, recipient, subject, body, created_at, sent_at
		FROM notifications WHERE sent_at IS NULL AND recipient LIKE '%@%' ORDER BY created_at, notification_id LIMIT ?`, limit)
}

// MarkNotificationSent records an SMTP delivery.
func (s *Store) MarkNotificationSent(ctx context.Context, shopID int64, id string, now time.Time) error {
	_, err := s.exec(ctx, s.q(`UPDATE notifications SET sent_at = ? WHERE shop_id = ? AND notification_id = ?`),
		micros(now), shopID, id)
	return classify(err)
}

func (s *Store) queryNotifications(ctx context.Context, query string, args ...any) ([]notify.Notification, error) {
	rows, err := s.read.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []notify.Notification
	for rows.Next() {
		var n notify.Notification
		var created int64
		var sent sql.NullInt64
		if err := rows.Scan(&n.ShopID, &n.ID, &n.OrderID, &n.Kind, &n.Recipient, &n.Subject, &n.Body, &created, &sent); err != nil {
			return nil, classify(err)
		}
		n.CreatedAt = fromMicros(created)
		if sent.Valid {
			n.SentAt = fromMicros(sent.Int64)
		}
		out = append(out, n)
	}
	return out, classify(rows.Err())
}
