package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/surge-commerce/surge/internal/audit"
	"github.com/surge-commerce/surge/internal/config"
	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/store"
	"github.com/surge-commerce/surge/internal/worker"
)

// DefaultAuditGrace is the sweeper's slack the audit allows: how long past
// its expiry a reservation may still be held, and past its charge budget
// an order may wait for the reconciler.
const DefaultAuditGrace = 30 * time.Second

// auditGrace is the sweeper's slack a server's own audit allows: a few
// sweeper rounds beyond the default.
func auditGrace(cfg *config.Config) time.Duration {
	return 5*cfg.ReconcileInterval + DefaultAuditGrace
}

// AuditOptions are the audit's settings for a store run with cfg; the
// caller adds what reads the broker.
func AuditOptions(cfg *config.Config, st *store.Store, settle, grace time.Duration) audit.Options {
	return audit.Options{
		Settle: settle, Grace: grace, ChargeBudget: cfg.ChargeBudget, IdempotencyTTL: cfg.IdempotencyTTL,
		Consumers: consumerTypes(Consumers(st, time.Now)...),
	}
}

// consumerTypes maps each consumer to the event types it applies; their
// filters all have the form surge.*.<aggregate>.<event>.
func consumerTypes(handlers ...worker.Handler) map[string][]string {
	out := map[string][]string{}
	for _, h := range handlers {
		for _, subject := range h.Subjects() {
			out[h.Name()] = append(out[h.Name()], strings.TrimPrefix(subject, "surge.*."))
		}
	}
	return out
}

// DeadLetters reads the dead-letter stream.
func DeadLetters(js jetstream.JetStream) audit.DeadLetters {
	return func(ctx context.Context) ([]audit.DeadLetter, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		var out []audit.DeadLetter
		err := worker.EachMessage(ctx, js, event.DLQ.Name, 0, 0, func(seq uint64, m *jetstream.RawStreamMsg) error {
			var e event.Envelope
			if json.Unmarshal(m.Data, &e) != nil || e.ID == "" {
				e.ID = fmt.Sprintf("(unreadable, DLQ seq %d)", seq)
			}
			out = append(out, audit.DeadLetter{Consumer: m.Header.Get(event.HeaderConsumer), EventID: e.ID, Error: m.Header.Get(event.HeaderError)})
			return nil
		})
		return out, err
	}
}
