package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/surge-commerce/surge/internal/event"
)

// ConsumerStatus is one line of the event pipeline's state: a stream with
// its message count (Consumer empty), or one of its durable consumers.
type ConsumerStatus struct {
	Stream, Consumer                    string
	Messages                            uint64
	Pending, AckPending, NumRedelivered uint64
}

// Status reports every stream Surge uses, the dead letters included, and
// each stream's consumers.
func Status(ctx context.Context, js jetstream.JetStream) ([]ConsumerStatus, error) {
	var out []ConsumerStatus
	for _, s := range append(event.Streams, event.DLQ) {
		stream, err := js.Stream(ctx, s.Name)
		if err != nil {
			return nil, fmt.Errorf("broker unreachable or stream %s missing: %w", s.Name, err)
		}
		info, err := stream.Info(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, ConsumerStatus{Stream: s.Name, Messages: info.State.Msgs})
		names := stream.ConsumerNames(ctx)
		for name := range names.Name() {
			c, err := stream.Consumer(ctx, name)
			if err != nil {
				return nil, err
			}
			ci, err := c.Info(ctx)
			if err != nil {
				return nil, err
			}
			out = append(out, ConsumerStatus{Stream: s.Name, Consumer: name, Pending: ci.NumPending,
				AckPending: uint64(ci.NumAckPending), NumRedelivered: uint64(ci.NumRedelivered)})
		}
	}
	return out, nil
}

// DeadLetter returns one dead letter by its sequence in the DLQ stream.
func DeadLetter(ctx context.Context, js jetstream.JetStream, seq uint64) (*jetstream.RawStreamMsg, error) {
	s, err := js.Stream(ctx, event.DLQ.Name)
	if err != nil {
		return nil, err
	}
	return s.GetMsg(ctx, seq)
}

// EachMessage walks a stream from sequence from to sequence to (0: the
// last), skipping deleted messages.
func EachMessage(ctx context.Context, js jetstream.JetStream, streamName string, from, to uint64, fn func(uint64, *jetstream.RawStreamMsg) error) error {
	s, err := js.Stream(ctx, streamName)
	if err != nil {
		return err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return err
	}
	from, last := max(from, info.State.FirstSeq), info.State.LastSeq
	if to != 0 && to < last {
		last = to
	}
	for seq := from; seq <= last && seq != 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // deleted
		}
		if err != nil {
			return err
		}
		if err := fn(seq, m); err != nil {
			return err
		}
	}
	return nil
}

// Replayed counts what a replay did.
type Replayed struct{ Applied, Failed int }

// Replay runs events through a consumer's handler in this process: the
// event stream's (the handler's subjects only), or with fromDLQ the dead
// letters of that consumer, which are removed once they succeed. The
// handler records every event it applies, so events already applied
// change nothing and only missing effects (a fixed poison event) take
// place. note hears about each event that still fails.
func Replay(ctx context.Context, js jetstream.JetStream, h Handler, from, to uint64, fromDLQ bool, note func(string)) (Replayed, error) {
	var r Replayed
	streamName := event.Streams[0].Name
	if fromDLQ {
		streamName = event.DLQ.Name
	}
	err := EachMessage(ctx, js, streamName, from, to, func(seq uint64, m *jetstream.RawStreamMsg) error {
		if fromDLQ && m.Header.Get(event.HeaderConsumer) != h.Name() {
			return nil
		}
		if !fromDLQ && !matchesAny(m.Subject, h.Subjects()) {
			return nil
		}
		var e event.Envelope
		if err := json.Unmarshal(m.Data, &e); err != nil || e.Spec != event.Spec {
			r.Failed++
			note(fmt.Sprintf("seq %d: unreadable event", seq))
			return nil
		}
		if err := h.Handle(ctx, e); err != nil {
			r.Failed++
			note(fmt.Sprintf("seq %d (%s): still failing: %v", seq, e.ID, err))
			return nil
		}
		r.Applied++
		if fromDLQ {
			s, err := js.Stream(ctx, streamName)
			if err == nil {
				err = s.DeleteMsg(ctx, seq)
			}
			if err != nil {
				return fmt.Errorf("seq %d applied but not removed from the DLQ: %w", seq, err)
			}
		}
		return nil
	})
	return r, err
}

// matchesAny reports whether subject matches one of the NATS filters.
func matchesAny(subject string, filters []string) bool {
	for _, f := range filters {
		if subjectMatch(strings.Split(f, "."), strings.Split(subject, ".")) {
			return true
		}
	}
	return false
}

func subjectMatch(filter, subject []string) bool {
	for i, tok := range filter {
		switch {
		case tok == ">":
			return len(subject) > i
		case i >= len(subject):
			return false
		case tok != "*" && tok != subject[i]:
			return false
		}
	}
	return len(filter) == len(subject)
}
