package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/tracing/tracectx"
)

// statusOf maps an error code to its HTTP status. This is the only place
// that does so.
func statusOf(code, typ string) int {
	switch typ {
	case "malformed_json", "idempotency_key_missing", "idempotency_key_invalid", "non_canonical_path":
		return http.StatusBadRequest
	case "unsupported_media_type":
		return http.StatusUnsupportedMediaType
	case "body_timeout":
		return http.StatusRequestTimeout
	}
	switch code {
	case errcode.Invalid:
		return http.StatusUnprocessableEntity
	case errcode.NotFound:
		return http.StatusNotFound
	case errcode.Conflict:
		return http.StatusConflict
	case errcode.Unauthorized:
		return http.StatusUnauthorized
	case errcode.Forbidden:
		return http.StatusForbidden
	case errcode.Unavailable:
		return http.StatusServiceUnavailable
	case errcode.RateLimited:
		return http.StatusTooManyRequests
	case errcode.TooLarge:
		return http.StatusRequestEntityTooLarge
	case errcode.PreconditionFailed:
		return http.StatusPreconditionFailed
	}
	return http.StatusInternalServerError
}

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type      string               `json:"type"`
	Title     string               `json:"title"`
	Status    int                  `json:"status"`
	Detail    string               `json:"detail,omitempty"`
	Instance  string               `json:"instance,omitempty"`
	RequestID string               `json:"request_id,omitempty"`
	Errors    []errcode.FieldError `json:"errors,omitempty"`
	// Extra members (RFC 9457 §3.2), e.g. the SKU that is out of stock.
	Extra map[string]any `json:"-"`
}

// MarshalJSON adds the extension members beside the standard ones.
func (p Problem) MarshalJSON() ([]byte, error) {
	type plain Problem
	b, err := json.Marshal(plain(p))
	if err != nil || len(p.Extra) == 0 {
		return b, err
	}
	m := map[string]any{}
	for k, v := range p.Extra {
		m[k] = v
	}
	if err := json.Unmarshal(b, &m); err != nil { // standard members win over extras
		return nil, err
	}
	return json.Marshal(m)
}

// ProblemTypeBase prefixes every problem type; it is errcode's, named here
// too because handlers and tests of this package spell it so.
const ProblemTypeBase = errcode.ProblemTypeBase

var titles = map[string]string{
	errcode.Invalid:            "Invalid request",
	errcode.NotFound:           "Not found",
	errcode.Conflict:           "Conflict",
	errcode.Unauthorized:       "Unauthorized",
	errcode.Forbidden:          "Forbidden",
	errcode.Unavailable:        "Service unavailable",
	errcode.RateLimited:        "Too many requests",
	errcode.TooLarge:           "Request too large",
	errcode.PreconditionFailed: "Precondition failed",
	errcode.Internal:           "Internal error",
}

// problem writes err as problem+json. Internal errors are logged with their
// cause and shown to the client without it.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, err error) {
	code := errcode.Code(err)
	if errors.Is(err, context.DeadlineExceeded) && code == errcode.Internal {
		code = errcode.Unavailable
	}
	p := Problem{
		Title:     titles[code],
		Instance:  r.URL.Path,
		RequestID: requestID(r.Context()),
	}
	typ := code
	var e *errcode.Error
	if errors.As(err, &e) {
		p.Detail, p.Errors, p.Extra = e.Message, e.Fields, e.Extra
		if e.Type != "" {
			typ = e.Type
		}
	}
	p.Status = statusOf(code, typ)
	p.Type = ProblemTypeBase + strings.ReplaceAll(typ, "_", "-")
	switch code {
	case errcode.Unauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="surge"`)
	case errcode.Internal:
		p.Detail = "the server failed; the request id identifies it in the logs"
		s.log.ErrorContext(r.Context(), "request failed", "request_id", p.RequestID, "trace_id", tracectx.From(r.Context()).TraceID, "err", err)
	case errcode.Conflict:
		if retryableConflicts[typ] {
			// Nothing is wrong with the request; it only came too early.
			w.Header().Set("Retry-After", "1")
		}
	case errcode.RateLimited:
		if w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "1")
		}
	case errcode.Unavailable:
		w.Header().Set("Retry-After", "1")
		if typ == "overloaded" {
			// A line per shed request would add work exactly when there is
			// too much: surge_shed_total counts them.
			break
		}
		if ok, held := s.unavailable.allow(time.Now()); ok {
			s.log.WarnContext(r.Context(), "dependency unavailable", "request_id", p.RequestID, "trace_id", tracectx.From(r.Context()).TraceID,
				"err", err, "held_back_since_last", held)
		}
	}
	writeProblem(w, p)
}

// retryableConflicts are the 409s that the same request, sent again a
// moment later, can pass: they carry Retry-After.
var retryableConflicts = map[string]bool{
	"request_in_progress": true, // the first request with this key still runs
	"conflict_retry":      true, // lost a lock race with another transaction
}

func writeProblem(w http.ResponseWriter, p Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	if err := jsonEncoder(w).Encode(p); err != nil {
		slog.Debug("write problem", "err", err)
	}
}
