package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
)

// maxAuditSettle bounds ?settle=: an audit holds a connection while it
// waits.
const maxAuditSettle = 10 * time.Minute

// audit runs the invariant checks against the live system, so a load test
// or an operator can audit a remote deployment. ?settle=60s waits up to
// that long for in-flight work to settle first. The report says whether it
// passed; the status is 200 either way because the audit itself ran.
func (s *Server) audit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.authAdmin(r); err != nil {
			s.problem(w, r, err)
			return
		}
		var settle time.Duration
		if raw := r.URL.Query().Get("settle"); raw != "" {
			d, err := time.ParseDuration(raw)
			if err != nil || d < 0 || d > maxAuditSettle {
				s.problem(w, r, errcode.Typed(errcode.Invalid, "invalid_settle",
					"settle must be a duration such as 60s, at most %s", maxAuditSettle))
				return
			}
			settle = d
		}
		// The wait outlives the request deadline every other route keeps;
		// settle bounds it, plus a minute for the checks themselves.
		ctx := r.Context()
		if settle > 0 {
			limit := settle + time.Minute
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), limit)
			defer cancel()
			_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(limit))
		}
		rep, err := s.auditor(ctx, settle)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusOK, rep)
	})
}
