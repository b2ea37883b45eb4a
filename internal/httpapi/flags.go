package httpapi

import (
	"net/http"
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
		name := r.PathValue("flag")
		if err := s.flags.Set(r.Context(), name, *req.Enabled); err != nil {
			s.problem(w, r, err)
			return
		}
		encode(w, http.StatusOK, map[string]any{"name": name, "enabled": *req.Enabled})
	})
}
