package httpapi

import (
	"net/http"
	"time"

	"github.com/surge-commerce/surge/internal/cart"
	"github.com/surge-commerce/surge/internal/shop"
)

// authCustomer resolves the {shop} of the path and verifies the customer
// token for it. Errors: not_found, unauthorized, forbidden.
func (s *Server) authCustomer(r *http.Request) (shop.Shop, string, error) {
	sh, err := s.shops.Resolve(r.Context(), r.PathValue("shop"))
	if err != nil {
		return shop.Shop{}, "", err
	}
	id, err := s.customers.Authenticate(r.Context(), bearer(r), sh.ID)
	return sh, id, err
}

// signOut ends the customer token presented (sign-out), or with all set
// every token the customer holds.
func (s *Server) signOut(all bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, cust, err := s.authCustomer(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		if all {
			err = s.customers.RevokeAll(r.Context(), sh.ID, cust)
		} else {
			err = s.customers.SignOut(r.Context(), bearer(r), sh.ID)
		}
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// revokeCustomerTokens lets a shop end every token of one of its
// customers (a stolen device, an account taken over).
func (s *Server) revokeCustomerTokens() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, err := s.authShop(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		if err := s.customers.RevokeAll(r.Context(), sh.ID, r.PathValue("customer")); err != nil {
			s.problem(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

type createCustomerRequest struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

type customerResponse struct {
	ID        string    `json:"id"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Server) createCustomer() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, err := s.shops.Resolve(r.Context(), r.PathValue("shop"))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		var req createCustomerRequest
		if r.ContentLength != 0 {
			if err := decode(r, &req); err != nil {
				s.problem(w, r, err)
				return
			}
		}
		c, token, exp, err := s.customers.Create(r.Context(), sh.ID, req.Email, req.Name)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusCreated, customerResponse{ID: c.ID, Token: token, ExpiresAt: exp})
	})
}

type cartJSON struct {
	ID        string      `json:"id"`
	Lines     []cart.Line `json:"lines"`
	UpdatedAt time.Time   `json:"updated_at"`
}

func toCartJSON(c cart.Cart) cartJSON {
	lines := c.Lines
	if lines == nil {
		lines = []cart.Line{}
	}
	return cartJSON{ID: c.ID, Lines: lines, UpdatedAt: c.UpdatedAt}
}

func (s *Server) createCart() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, cust, err := s.authCustomer(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		c, err := s.carts.Create(r.Context(), sh.ID, cust)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("Location", "/v1/shops/"+sh.Slug+"/carts/"+c.ID)
		encode(w, http.StatusCreated, toCartJSON(c))
	})
}

func (s *Server) getCart() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, cust, err := s.authCustomer(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		c, err := s.carts.Get(r.Context(), sh.ID, cust, r.PathValue("cart"))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusOK, toCartJSON(c))
	})
}

type cartLineRequest struct {
	Quantity int64 `json:"quantity"`
}

// setCartLine serves PUT (set quantity; 0 removes) and DELETE of a line.
func (s *Server) setCartLine() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, cust, err := s.authCustomer(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		var req cartLineRequest
		if r.Method == http.MethodPut {
			if err := decode(r, &req); err != nil {
				s.problem(w, r, err)
				return
			}
		}
		c, err := s.carts.SetLine(r.Context(), sh.ID, cust, r.PathValue("cart"), r.PathValue("sku"), req.Quantity)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		encode(w, http.StatusOK, toCartJSON(c))
	})
}
