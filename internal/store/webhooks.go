package store

import (
	"context"
	"time"
)

// webhookConsumer is how applied provider events are named among the
// consumed events: the provider's event ids, kept once each.
const webhookConsumer = "payment-webhook"

// WebhookSeen reports whether a provider event was applied already.
func (s *Store) WebhookSeen(ctx context.Context, eventID string) (bool, error) {
	var n int
	err := s.read.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM consumed_events WHERE consumer = ? AND event_id = ?`),
		webhookConsumer, eventID).Scan(&n)
	return n > 0, classify(err)
}

// RecordWebhook records that a provider event was applied.
func (s *Store) RecordWebhook(ctx context.Context, eventID string, now time.Time) error {
	_, err := s.exec(ctx, s.q(`INSERT INTO consumed_events (consumer, event_id, shop_id, consumed_at) VALUES (?, ?, 0, ?)
		ON CONFLICT (consumer, event_id) DO NOTHING`), webhookConsumer, eventID, micros(now))
	return classify(err)
}
