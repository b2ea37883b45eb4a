package httpapi

import (
	"net/http"
	"strconv"

	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/inventory"
	"github.com/surge-commerce/surge/internal/order"
	"github.com/surge-commerce/surge/internal/precondition"
)

type adminOrderJSON struct {
	checkout.OrderJSON
	CustomerID string `json:"customer_id"`
	PaymentRef string `json:"payment_ref,omitempty"`
	// CancelReason says why a cancelled order was, so a shop sees a
	// refused payment (e.g. payment_mismatch) for what it is.
	CancelReason string `json:"cancel_reason,omitempty"`
	// Version is what the order's ETag names ("v<version>").
	Version int64 `json:"version"`
}

func toAdminOrder(o order.Order) adminOrderJSON {
	return adminOrderJSON{OrderJSON: checkout.ToJSON(o), CustomerID: o.CustomerID, PaymentRef: o.PaymentRef, CancelReason: o.CancelReason,
		Version: o.Version}
}

func (s *Server) getOrder() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, cust, err := s.authCustomer(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		o, err := s.orders.Get(r.Context(), sh.ID, cust, r.PathValue("order"))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusOK, struct {
			Order checkout.OrderJSON `json:"order"`
		}{checkout.ToJSON(o)})
	})
}

type orderListJSON struct {
	Items      []adminOrderJSON `json:"items"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

func (s *Server) listOrders() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, err := s.authShop(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		q := r.URL.Query()
		limit := 0
		if raw := q.Get("limit"); raw != "" {
			if limit, err = strconv.Atoi(raw); err != nil || limit < 1 {
				var v errcode.Validation
				v.Add("limit", "must be an integer between 1 and 100")
				s.problem(w, r, v.Err())
				return
			}
		}
		orders, next, err := s.orders.List(r.Context(), sh.ID, q.Get("status"), q.Get("customer_id"), q.Get("cursor"), limit)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		out := orderListJSON{Items: make([]adminOrderJSON, len(orders)), NextCursor: next}
		for i, o := range orders {
			out.Items[i] = toAdminOrder(o)
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusOK, out)
	})
}

func (s *Server) getAdminOrder() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, err := s.authShop(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		o, err := s.orders.Get(r.Context(), sh.ID, "", r.PathValue("order"))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("ETag", precondition.ETag(o.Version)) // what a refund's or fulfilment's If-Match compares
		encode(w, http.StatusOK, toAdminOrder(o))
	})
}

// orderAction serves the admin transitions: refund and fulfil.
func (s *Server) orderAction(action string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, err := s.authShop(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		var o order.Order
		if action == "refund" {
			o, err = s.orders.Refund(r.Context(), sh.ID, r.PathValue("order"), condition(r))
		} else {
			o, err = s.orders.Fulfil(r.Context(), sh.ID, r.PathValue("order"), condition(r))
		}
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("ETag", precondition.ETag(o.Version))
		encode(w, http.StatusOK, toAdminOrder(o))
	})
}

func (s *Server) getInventory() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, err := s.authShop(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		l, err := s.inventory.Level(r.Context(), sh.ID, r.PathValue("sku"))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("ETag", precondition.ETag(l.Version)) // what a restock's If-Match compares
		encode(w, http.StatusOK, l)
	})
}

type restockRequest struct {
	Quantity int64 `json:"quantity"`
}

func (s *Server) restock() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, err := s.authShop(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		var req restockRequest
		if err := decode(r, &req); err != nil {
			s.problem(w, r, err)
			return
		}
		var l inventory.Level
		if l, err = s.inventory.Restock(r.Context(), sh.ID, r.PathValue("sku"), req.Quantity, condition(r)); err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("ETag", precondition.ETag(l.Version))
		encode(w, http.StatusOK, l)
	})
}
