package httpapi

import (
	"net/http"
	"strconv"

	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/platform"
)

// recommendations lists products to show next to one; with no bought-
// together signal it falls back to best-sellers, and with the feature
// failing it answers an empty list rather than an error.
func (s *Server) recommendations() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, err := s.shops.Resolve(r.Context(), r.PathValue("shop"))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		sku := r.PathValue("sku")
		if _, _, err := s.catalog.Get(r.Context(), sh.ID, sku); err != nil {
			s.problem(w, r, err)
			return
		}
		out := listJSON{Items: []productJSON{}}
		if !s.flags.Enabled(platform.FlagRecommendations) {
			w.Header().Set("Surge-Degraded", "recommendations-disabled")
			encode(w, http.StatusOK, out)
			return
		}
		skus, _, err := s.recommend.For(r.Context(), sh.ID, sku, 8)
		if err != nil {
			s.log.WarnContext(r.Context(), "recommendations degraded to none", "err", err)
		}
		for _, rec := range skus {
			p, _, err := s.catalog.Get(r.Context(), sh.ID, rec)
			if err == nil {
				out.Items = append(out.Items, toJSON(p))
			}
		}
		w.Header().Set("Cache-Control", s.cacheControl)
		encode(w, http.StatusOK, out)
	})
}

func (s *Server) listNotifications() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, err := s.authShop(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		limit, err := queryLimit(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		if limit == 0 {
			limit = catalog.DefaultPageSize
		}
		items, err := s.readModels.Notifications(r.Context(), sh.ID, r.URL.Query().Get("order_id"), limit)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusOK, map[string]any{"items": nonNil(items)})
	})
}

// retryNotification puts a notification whose delivery was given up on
// (its failed_at is set) back in the mail queue.
func (s *Server) retryNotification() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, err := s.authShop(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		if err := s.readModels.RetryNotificationIf(r.Context(), sh.ID, r.PathValue("notification"), condition(r)); err != nil {
			s.problem(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *Server) listInvoices() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, err := s.authShop(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		limit, err := queryLimit(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		if limit == 0 {
			limit = catalog.DefaultPageSize
		}
		after := int64(0)
		if raw := r.URL.Query().Get("after"); raw != "" {
			if after, err = strconv.ParseInt(raw, 10, 64); err != nil || after < 0 {
				var v errcode.Validation
				v.Add("after", "must be an invoice number")
				s.problem(w, r, v.Err())
				return
			}
		}
		items, err := s.readModels.Invoices(r.Context(), sh.ID, after, limit)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusOK, map[string]any{"items": nonNil(items)})
	})
}

func (s *Server) bestSellers() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, err := s.authShop(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		items, err := s.readModels.BestSellers(r.Context(), sh.ID, s.now().Add(-recommendWindow), 20)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusOK, map[string]any{"items": nonNil(items)})
	})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
