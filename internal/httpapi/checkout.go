package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/errcode"
)

type checkoutRequest struct {
	Items         []checkout.Item `json:"items"`
	CartID        string          `json:"cart_id"`
	PaymentMethod string          `json:"payment_method"`
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
			QueueTicket:   r.Header.Get("Surge-Queue-Ticket"),
			Token:         checkout.Token{Hash: tok.Hash, Expires: tok.Expires},
			PaymentMethod: req.PaymentMethod,
		})
		if err != nil {
			s.problem(w, r, err)
			return
		}
		s.writeStored(w, r, sh.Slug, resp)
	})
}

// checkoutStatus is the HTTP status that answers each checkout outcome.
var checkoutStatus = map[checkout.Outcome]int{
	checkout.OutcomeCreated:  http.StatusCreated,
	checkout.OutcomeAccepted: http.StatusAccepted,
	checkout.OutcomeDeclined: http.StatusPaymentRequired,
}

// writeStored answers a checkout with its stored outcome and order, the
// same bytes on every replay (docs/INVARIANTS.md, I4).
func (s *Server) writeStored(w http.ResponseWriter, r *http.Request, shop string, resp checkout.Response) {
	status, ok := checkoutStatus[resp.Outcome]
	body, err := checkoutBody(resp)
	if !ok || err != nil {
		s.problem(w, r, errcode.Wrap(errcode.Internal, err, "checkout response %s of order %s is unreadable", resp.Outcome, resp.OrderID))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if status >= 400 {
		h.Set("Content-Type", "application/problem+json")
	}
	h.Set("Cache-Control", "no-store")
	if resp.OrderID != "" {
		h.Set("Location", "/v1/shops/"+shop+"/orders/"+resp.OrderID)
	}
	if resp.Replayed {
		h.Set("Idempotent-Replayed", "true")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// declinedProblem is the answer to a declined payment: a problem that
// carries the cancelled order. Its fields and their order are the bytes
// every replay repeats.
type declinedProblem struct {
	Type   string          `json:"type"`
	Title  string          `json:"title"`
	Status int             `json:"status"`
	Detail string          `json:"detail"`
	Order  json.RawMessage `json:"order"`
}

// checkoutBody is the body that answers resp: its stored order, wrapped in
// a problem when the payment was declined. A declined key stored by a
// version that rendered the problem in checkout already holds it, and is
// answered as stored.
func checkoutBody(resp checkout.Response) ([]byte, error) {
	if resp.Outcome != checkout.OutcomeDeclined {
		return resp.Body, nil
	}
	var stored struct {
		Type  string          `json:"type"`
		Order json.RawMessage `json:"order"`
	}
	if err := json.Unmarshal(resp.Body, &stored); err != nil {
		return nil, err
	}
	if stored.Type != "" {
		return resp.Body, nil
	}
	return json.Marshal(declinedProblem{
		Type:   ProblemTypeBase + "payment-declined",
		Title:  "Payment declined",
		Status: http.StatusPaymentRequired,
		Detail: "the payment was not accepted; the order is cancelled and its stock released",
		Order:  stored.Order,
	})
}
