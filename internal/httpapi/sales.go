package httpapi

import (
	"net/http"
	"time"

	"github.com/surge-commerce/surge/internal/flashsale"
)

type saleRequest struct {
	Stock            *int64    `json:"stock"`
	StartsAt         time.Time `json:"starts_at"`
	PerCustomerLimit int64     `json:"per_customer_limit"`
	Buckets          int       `json:"buckets"`
}

func (s *Server) putSale() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, err := s.authShop(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		var req saleRequest
		if err := decode(r, &req); err != nil {
			s.problem(w, r, err)
			return
		}
		stock := int64(-1) // missing: rejected by validation
		if req.Stock != nil {
			stock = *req.Stock
		}
		sale, err := s.sales.Start(r.Context(), sh.ID, flashsale.Sale{
			SKU: r.PathValue("sku"), Stock: stock, StartsAt: req.StartsAt,
			PerCustomerLimit: req.PerCustomerLimit, Buckets: req.Buckets,
		})
		if err != nil {
			s.problem(w, r, err)
			return
		}
		s.catalog.Changed(sh.ID, sale.SKU) // the purchase limit is part of the product
		encode(w, http.StatusOK, sale)
	})
}

func (s *Server) getSale() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, err := s.authShop(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		sale, err := s.sales.Get(r.Context(), sh.ID, r.PathValue("sku"))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusOK, sale)
	})
}

func (s *Server) deleteSale() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, err := s.authShop(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		if err := s.sales.End(r.Context(), sh.ID, r.PathValue("sku")); err != nil {
			s.problem(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
