package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/notify"
	"github.com/surge-commerce/surge/internal/precondition"
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
	query := `SELECT ` + notificationColumns + `
		FROM notifications WHERE shop_id = ?`
	args := []any{shopID}
	if orderID != "" {
		query += ` AND order_id = ?`
		args = append(args, orderID)
	}
	query += ` ORDER BY created_at DESC, notification_id DESC LIMIT ?`
	return s.queryNotifications(ctx, query, append(args, limit)...)
}

// UnsentNotifications returns notifications due for SMTP delivery at now,
// oldest first: not sent, not given up on, and past their backoff. Those
// without an email address stay in the shop's sink.
func (s *Store) UnsentNotifications(ctx context.Context, now time.Time, limit int) ([]notify.Notification, error) {
	return s.queryNotifications(ctx, `SELECT `+notificationColumns+`
		FROM notifications WHERE sent_at IS NULL AND failed_at IS NULL AND recipient LIKE '%@%'
		AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY created_at, notification_id LIMIT ?`, micros(now), limit)
}

// MarkNotificationSent records an SMTP delivery.
func (s *Store) MarkNotificationSent(ctx context.Context, shopID int64, id string, now time.Time) error {
	_, err := s.exec(ctx, s.q(`UPDATE notifications SET sent_at = ?, next_attempt_at = NULL, version = version + 1 WHERE shop_id = ? AND notification_id = ?`),
		micros(now), shopID, id)
	return classify(err)
}

// NotificationFailed records a failed delivery attempt: the next is due at
// next, or, when failed is set, the notification is given up on (a dead
// letter) at now.
func (s *Store) NotificationFailed(ctx context.Context, shopID int64, id, lastError string, next time.Time, failed bool, now time.Time) error {
	var failedAt any
	if failed {
		failedAt = micros(now)
	}
	_, err := s.exec(ctx, s.q(`UPDATE notifications SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, failed_at = ?, version = version + 1
		WHERE shop_id = ? AND notification_id = ? AND sent_at IS NULL`), lastError, micros(next), failedAt, shopID, id)
	return classify(err)
}

// RetryNotification puts a notification that was given up on back in the
// delivery queue, due at once. Errors: not_found (no such failed
// notification of the shop).
func (s *Store) RetryNotification(ctx context.Context, shopID int64, id string) error {
	return s.RetryNotificationIf(ctx, shopID, id, precondition.Condition{})
}

// RetryNotificationIf is RetryNotification when the notification is at a
// version cond names, checked in the UPDATE's WHERE. Errors: not_found,
// precondition_failed.
func (s *Store) RetryNotificationIf(ctx context.Context, shopID int64, id string, cond precondition.Condition) error {
	where, args := cond.VersionSQL("version")
	if cond.Absent {
		where = " AND 1 = 0" // a failed notification exists
	}
	res, err := s.exec(ctx, s.q(`UPDATE notifications SET attempts = 0, last_error = '', next_attempt_at = NULL, failed_at = NULL,
			version = version + 1
		WHERE shop_id = ? AND notification_id = ? AND failed_at IS NOT NULL`+where), append([]any{shopID, id}, args...)...)
	if err != nil {
		return classify(err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	if cond.Set() {
		var failed sql.NullInt64
		err := s.write.QueryRowContext(ctx, s.q(`SELECT failed_at FROM notifications WHERE shop_id = ? AND notification_id = ?`),
			shopID, id).Scan(&failed)
		if err != nil && err != sql.ErrNoRows {
			return classify(err)
		}
		if err == nil && failed.Valid {
			return cond.Failed(precondition.Name("notification", id))
		}
	}
	return errcode.Typed(errcode.NotFound, "notification_not_failed", "no failed notification %s", id)
}

const notificationColumns = `shop_id, notification_id, order_id, kind, recipient, subject, body, created_at, sent_at,
	attempts, last_error, next_attempt_at, failed_at, version`

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
		var sent, next, failed sql.NullInt64
		if err := rows.Scan(&n.ShopID, &n.ID, &n.OrderID, &n.Kind, &n.Recipient, &n.Subject, &n.Body, &created, &sent,
			&n.Attempts, &n.LastError, &next, &failed, &n.Version); err != nil {
			return nil, classify(err)
		}
		n.CreatedAt = fromMicros(created)
		for _, t := range []struct {
			dst *time.Time
			src sql.NullInt64
		}{{&n.SentAt, sent}, {&n.NextAttemptAt, next}, {&n.FailedAt, failed}} {
			if t.src.Valid {
				*t.dst = fromMicros(t.src.Int64)
			}
		}
		out = append(out, n)
	}
	return out, classify(rows.Err())
}
