package psp

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Problem type slugs (see ProblemTypeBase).
const (
	typeMalformedJSON     = "malformed-json"
	typeInvalidRequest    = "invalid-request"
	typeMissingKey        = "missing-idempotency-key"
	typeKeyReused         = "idempotency-key-reused"
	typeNotFound          = "not-found"
	typeInvalidTransition = "invalid-transition"
	typeInjectedError     = "injected-error"
	typeInjectedTimeout   = "injected-timeout"
	typeInternal          = "internal"
	typeUnauthorized      = "unauthorized"
)

// problemError is an error that knows how it is reported.
type problemError struct {
	status int
	typ    string
	detail string
}

func (e *problemError) Error() string { return e.typ + ": " + e.detail }

// writeError reports err as a problem; errors without a problem of their
// own are internal failures.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var pe *problemError
	switch {
	case errors.As(err, &pe):
		writeProblem(w, pe.status, pe.typ, pe.detail)
	case errors.Is(err, errNotFound):
		writeProblem(w, http.StatusNotFound, typeNotFound, "no payment with this id")
	case errors.Is(err, errKeyReused):
		writeProblem(w, http.StatusUnprocessableEntity, typeKeyReused,
			"this Idempotency-Key was already used with a different request")
	case errors.Is(err, errBadTransition):
		writeProblem(w, http.StatusConflict, typeInvalidTransition, err.Error())
	case r.Context().Err() != nil:
		// The client gave up; nobody reads the answer.
	default:
		s.log.Error("psp: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeProblem(w, http.StatusInternalServerError, typeInternal, "the simulator failed")
	}
}

func writeProblem(w http.ResponseWriter, status int, typ, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(Problem{
		Type:   ProblemTypeBase + typ,
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeProblem(w, http.StatusInternalServerError, typeInternal, "encode response")
		return
	}
	writeBody(w, status, body)
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}
