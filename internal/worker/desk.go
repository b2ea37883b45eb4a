package worker

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/event"
)

// DeadLetters is the dead-letter queue as an operator sees it from the
// API: the letters grouped by consumer and error, and a replay through the
// consumers' own handlers (what `surge events replay --dlq` does).
type DeadLetters struct {
	JS       jetstream.JetStream
	Handlers []Handler
}

// List groups the dead letters by consumer and error, in the order their
// first letter arrived. Errors: unavailable (broker).
func (d DeadLetters) List(ctx context.Context) ([]event.DeadLetterGroup, error) {
	var out []event.DeadLetterGroup
	at := map[[2]string]int{}
	err := EachMessage(ctx, d.JS, event.DLQ.Name, 0, 0, func(seq uint64, m *jetstream.RawStreamMsg) error {
		k := [2]string{m.Header.Get(event.HeaderConsumer), m.Header.Get(event.HeaderError)}
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, event.DeadLetterGroup{Consumer: k[0], Error: k[1], FirstSeq: seq})
		}
		out[i].Count++
		out[i].LastSeq = seq
		return nil
	})
	if err != nil {
		return nil, unreachable(err)
	}
	return out, nil
}

// Replay runs the dead letters of one consumer, or of every consumer when
// consumer is empty, through its handler again; the letters that succeed
// leave the DLQ, and effects already applied are not applied twice
// (docs/INVARIANTS.md, I5). Errors: invalid (unknown consumer),
// unavailable (broker).
func (d DeadLetters) Replay(ctx context.Context, consumer string) ([]event.ReplayReport, error) {
	var hs []Handler
	for _, h := range d.Handlers {
		if consumer == "" || h.Name() == consumer {
			hs = append(hs, h)
		}
	}
	if len(hs) == 0 {
		var v errcode.Validation
		v.Add("consumer", fmt.Sprintf("no consumer %q", consumer))
		return nil, v.Err()
	}
	out := []event.ReplayReport{}
	for _, h := range hs {
		rep := event.ReplayReport{Consumer: h.Name(), Failures: []string{}}
		r, err := Replay(ctx, d.JS, h, 0, 0, true, func(line string) { rep.Failures = append(rep.Failures, line) })
		if err != nil {
			return nil, unreachable(err)
		}
		rep.Applied, rep.Failed = r.Applied, r.Failed
		out = append(out, rep)
	}
	return out, nil
}

// unreachable reports a broker failure as the dependency being unavailable.
func unreachable(err error) error {
	return errcode.Wrap(errcode.Unavailable, err, "the event broker cannot be reached")
}
