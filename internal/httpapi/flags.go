package httpapi

import (
	"net/http"

	"github.com/surge-commerce/surge/internal/precondition"
)

func (s *Server) listFlags() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.authAdmin(r); err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusOK, map[string]any{"flags": s.flags.All()})
	})
}

type flagRequest struct {
	Enabled *bool `json:"enabled"`
}

func (s *Server) setFlag() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.authAdmin(r); err != nil {
			s.problem(w, r, err)
			return
		}
		var req flagRequest
		if err := decode(r, &req); err != nil {
			s.problem(w, r, err)
			return
		}
		if req.Enabled == nil {
			s.problem(w, r, fieldError("enabled", "is required (true or false)"))
			return
		}
		f, err := s.flags.SetIf(r.Context(), r.PathValue("flag"), *req.Enabled, condition(r))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("ETag", precondition.ETag(f.Version))
		encode(w, http.StatusOK, f)
	})
}

// getFlag reads one flag with the ETag a change's If-Match compares.
func (s *Server) getFlag() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.authAdmin(r); err != nil {
			s.problem(w, r, err)
			return
		}
		f, err := s.flags.Get(r.Context(), r.PathValue("flag"))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("ETag", precondition.ETag(f.Version))
		encode(w, http.StatusOK, f)
	})
}
