package httpapi

import (
	"context"
	"net/http"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/event"
)

// DeadLetters reads and replays the event pipeline's dead letters
// (worker.DeadLetters in the event pipeline).
type DeadLetters interface {
	List(ctx context.Context) ([]event.DeadLetterGroup, error)
	Replay(ctx context.Context, consumer string) ([]event.ReplayReport, error)
}

// noBroker answers for a server that runs without an event broker.
var noBroker = errcode.Typed(errcode.Unavailable, "broker_unavailable", "this server runs without an event broker")

// listDeadLetters lists the dead letters by consumer and error.
func (s *Server) listDeadLetters() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.authAdmin(r); err != nil {
			s.problem(w, r, err)
			return
		}
		if s.deadLetters == nil {
			s.problem(w, r, noBroker)
			return
		}
		groups, err := s.deadLetters.List(r.Context())
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusOK, map[string]any{"items": nonNil(groups)})
	})
}

// replayDeadLetters runs dead letters through their consumer again: the
// body's consumer, or every consumer with none. The status is 200 when
// the replay ran, whether or not every letter now succeeds; the report
// says which still fail.
func (s *Server) replayDeadLetters() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.authAdmin(r); err != nil {
			s.problem(w, r, err)
			return
		}
		var req struct {
			Consumer string `json:"consumer"`
		}
		if r.ContentLength != 0 {
			if err := decode(r, &req); err != nil {
				s.problem(w, r, err)
				return
			}
		}
		if s.deadLetters == nil {
			s.problem(w, r, noBroker)
			return
		}
		reports, err := s.deadLetters.Replay(r.Context(), req.Consumer)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusOK, map[string]any{"items": reports})
	})
}
