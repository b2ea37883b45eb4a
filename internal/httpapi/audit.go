package httpapi

import (
	"net/http"
)

// audit runs the invariant checks against the live system, so a load test
// or an operator can audit a remote deployment. The report says whether it
// passed; the status is 200 either way because the audit itself ran.
func (s *Server) audit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.authAdmin(r); err != nil {
			s.problem(w, r, err)
			return
		}
		rep, err := s.auditor(r.Context())
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusOK, rep)
	})
}
