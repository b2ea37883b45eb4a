package event

import "context"

// OutboxEvent is an unpublished event and its position in the outbox: the
// table every state change writes its events to in its own transaction,
// and the relay publishes from (docs/adr/0005).
type OutboxEvent struct {
	Seq int64
	Envelope
}

// Publish is how the relay hands a batch of events to the broker; it
// returns the ids of the events the broker acknowledged.
type Publish func(ctx context.Context, batch []Envelope) (acked []string, err error)
