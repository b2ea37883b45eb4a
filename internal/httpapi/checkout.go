package httpapi

import (
	"net/http"
	"strings"

	"github.com/surge-commerce/surge/internal/checkout"
)

type checkoutRequest struct {
	Items  []checkout.Item `json:"items"`
	CartID string          `json:"cart_id"`
}

// idempotencyKey reads the Idempotency-Key header. The IETF draft makes it
// a structured-field string ("..."); bare tokens are accepted too.
func idempotencyKey(r *http.Request) string {
	k := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if len(k) >= 2 && k[0] == '"' && k[len(k)-1] == '"' {
		k = k[1 : len(k)-1]
	}
	return k
}

func (s *Server) checkout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The token's revocation is checked by PlaceOrder, in its
		// transaction (checkout.Token).
		sh, err := s.shops.Resolve(r.Context(), r.PathValue("shop"))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		tok, err := s.customers.VerifySigned(bearer(r), sh.ID)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		var req checkoutRequest
		if err := decode(r, &req); err != nil {
			s.problem(w, r, err)
			return
		}
		resp, err := s.checkoutSvc.Checkout(r.Context(), checkout.Request{
			ShopID: sh.ID, CustomerID: tok.CustomerID, Key: idempotencyKey(r), Items: req.Items, CartID: req.CartID,
			QueueTicket: r.Header.Get("Surge-Queue-Ticket"),
			Token:       checkout.Token{Hash: tok.Hash, Expires: tok.Expires},
		})
		if err != nil {
			s.problem(w, r, err)
			return
		}
		writeStored(w, sh.Slug, resp)
	})
}

// writeStored writes a checkout response exactly as it was stored.
func writeStored(w http.ResponseWriter, shop string, resp checkout.Response) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if resp.Status >= 400 {
		h.Set("Content-Type", "application/problem+json")
	}
	h.Set("Cache-Control", "no-store")
	if resp.OrderID != "" {
		h.Set("Location", "/v1/shops/"+shop+"/orders/"+resp.OrderID)
	}
	if resp.Replayed {
		h.Set("Idempotent-Replayed", "true")
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}
