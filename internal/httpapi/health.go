package httpapi

import (
	"context"
	_ "embed"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
)

func (s *Server) healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

type checkResult struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

type readiness struct {
	Status   string                 `json:"status"`
	Draining bool                   `json:"draining"`
	Checks   map[string]checkResult `json:"checks"`
	Detail   map[string]any         `json:"detail,omitempty"`
}

// readyz answers 200 only when every dependency answers and the instance
// is not draining. Checks run in parallel, each bounded to 2 s.
func (s *Server) readyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res := readiness{Status: "ready", Draining: s.draining.Load(), Checks: map[string]checkResult{}}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for name, check := range s.checks {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
				defer cancel()
				cr := checkResult{Status: "ok"}
				if err := check(ctx); err != nil {
					cr = checkResult{Status: "failing", Error: err.Error()}
				}
				mu.Lock()
				res.Checks[name] = cr
				mu.Unlock()
			})
		}
		for name, info := range s.info {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
				defer cancel()
				v := info(ctx)
				mu.Lock()
				if res.Detail == nil {
					res.Detail = map[string]any{}
				}
				res.Detail[name] = v
				mu.Unlock()
			})
		}
		wg.Wait()
		status := http.StatusOK
		for _, c := range res.Checks {
			if c.Status != "ok" {
				res.Status, status = "not_ready", http.StatusServiceUnavailable
			}
		}
		if res.Draining {
			res.Status, status = "draining", http.StatusServiceUnavailable
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, status, res)
	})
}

//go:embed openapi.json
var openapiDoc []byte

func (s *Server) openapi() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(openapiDoc)
	})
}

// notFound answers requests no route matched: 405 with Allow when the path
// exists under another method, else 404, both as problem+json.
func (s *Server) notFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range methods {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := s.mux.Handler(probe); pattern != "/" && pattern != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeProblem(w, Problem{
				Type: ProblemTypeBase + "method-not-allowed", Title: "Method not allowed",
				Status: http.StatusMethodNotAllowed, Instance: r.URL.Path, RequestID: requestID(r.Context()),
			})
			return
		}
		s.problem(w, r, errcode.Typed(errcode.NotFound, "route_not_found", "no route for %s %s", r.Method, r.URL.Path))
	})
}
