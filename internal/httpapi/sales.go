package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/surge-commerce/surge/internal/flashsale"
	"github.com/surge-commerce/surge/internal/precondition"
)

type saleRequest struct {
	Stock            *int64    `json:"stock"`
	StartsAt         time.Time `json:"starts_at"`
	PerCustomerLimit int64     `json:"per_customer_limit"`
	Buckets          int       `json:"buckets"`
	AdmissionRate    int64     `json:"admission_rate"`
	AdmissionBurst   int64     `json:"admission_burst"`
	PowDifficulty    int       `json:"pow_difficulty"`
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
		sale, err := s.sales.StartIf(r.Context(), sh.ID, flashsale.Sale{
			SKU: r.PathValue("sku"), Stock: stock, StartsAt: req.StartsAt,
			PerCustomerLimit: req.PerCustomerLimit, Buckets: req.Buckets,
			AdmissionRate: req.AdmissionRate, AdmissionBurst: req.AdmissionBurst, PowDifficulty: req.PowDifficulty,
		}, condition(r))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		s.catalog.Changed(sh.ID, sale.SKU) // the purchase limit is part of the product
		w.Header().Set("ETag", precondition.ETag(sale.Version))
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
		w.Header().Set("ETag", precondition.ETag(sale.Version)) // what If-Match on the next write compares
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
		if err := s.sales.EndIf(r.Context(), sh.ID, r.PathValue("sku"), condition(r)); err != nil {
			s.problem(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// saleInfo is what anyone may know of a flash sale before joining it.
// Now is the server's clock, so a page counts down to StartsAt right even
// when the buyer's clock is off.
type saleInfo struct {
	SKU           string    `json:"sku"`
	StartsAt      time.Time `json:"starts_at"`
	Now           time.Time `json:"now"`
	WaitingRoom   bool      `json:"waiting_room"`
	PowDifficulty int       `json:"pow_difficulty"`
	SoldOut       bool      `json:"sold_out"`
}

// saleCacheControl lets browsers and edge caches absorb the crowd that
// reloads a sale's page before its start, while the sold-out state and
// the server's clock stay no more than a second old.
const saleCacheControl = "public, max-age=1"

// getPublicSale tells a buyer when a sale starts and what joining asks,
// without the stock figures only the shop sees.
func (s *Server) getPublicSale() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, err := s.shops.Resolve(r.Context(), r.PathValue("shop"))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		sale, err := s.sales.Get(r.Context(), sh.ID, r.PathValue("sku"))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", saleCacheControl)
		encode(w, http.StatusOK, saleInfo{
			SKU: sale.SKU, StartsAt: sale.StartsAt.UTC(), Now: s.now().UTC(),
			WaitingRoom: sale.AdmissionRate > 0, PowDifficulty: sale.PowDifficulty,
			SoldOut: sale.UnitsLeft != nil && *sale.UnitsLeft <= 0,
		})
	})
}

// joinQueue puts the customer in a sale's waiting room. Joining again
// returns the same place.
func (s *Server) joinQueue() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, cust, err := s.authCustomer(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		// The body is optional: a proof of work, for a sale that asks one.
		var proof flashsale.Proof
		if r.ContentLength != 0 {
			if err := decode(r, &proof); err != nil {
				s.problem(w, r, err)
				return
			}
		}
		t, err := s.sales.Join(r.Context(), sh.ID, r.PathValue("sku"), cust, proof)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		writeTicket(w, t)
	})
}

// queueChallenge issues the proof-of-work challenge a customer answers to
// join a sale's waiting room.
func (s *Server) queueChallenge() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, cust, err := s.authCustomer(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		c, err := s.sales.Challenge(r.Context(), sh.ID, r.PathValue("sku"), cust)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusOK, c)
	})
}

// queueStatus re-reads a ticket (header Surge-Queue-Ticket).
func (s *Server) queueStatus() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, cust, err := s.authCustomer(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		t, err := s.sales.Status(r.Context(), sh.ID, r.PathValue("sku"), cust, r.Header.Get("Surge-Queue-Ticket"))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		writeTicket(w, t)
	})
}

func writeTicket(w http.ResponseWriter, t flashsale.Ticket) {
	w.Header().Set("Cache-Control", "no-store")
	if t.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(t.RetryAfter))
	}
	encode(w, http.StatusOK, t)
}
