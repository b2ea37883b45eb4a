package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/payment/wire"
)

// Webhooks remembers which provider events were applied, by the
// provider's event id.
type Webhooks interface {
	WebhookSeen(ctx context.Context, eventID string) (bool, error)
	RecordWebhook(ctx context.Context, eventID string, now time.Time) error
}

// paymentWebhook receives the provider's signed payment events. A bad
// signature is refused before anything is read into the system; a good
// event is applied idempotently, so the provider's redeliveries are safe,
// and an event id already applied is acknowledged without being applied
// again (a signed event replayed within its signature's window costs a
// lookup, nothing more). The id is recorded after the event was applied:
// a failure in between means one more idempotent application, never a
// lost one.
func (s *Server) paymentWebhook() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			s.problem(w, r, errcode.New(errcode.TooLarge, "the body exceeds the size limit"))
			return
		}
		if s.webhookSecret == "" ||
			wire.VerifySignature(s.webhookSecret, r.Header.Get(wire.SignatureHeader), body, time.Now(), 5*time.Minute) != nil {
			s.problem(w, r, errcode.New(errcode.Unauthorized, "the webhook signature is missing or wrong"))
			return
		}
		var ev wire.Event
		if err := json.Unmarshal(body, &ev); err != nil || ev.Payment.MerchantReference == "" {
			s.problem(w, r, malformed("the body is not a payment event"))
			return
		}
		p := checkout.Payment{Ref: ev.Payment.ID, Amount: ev.Payment.Amount, Currency: ev.Payment.Currency}
		switch ev.Payment.Status {
		case wire.StatusCaptured:
			p.Outcome = checkout.PaymentPaid
		case wire.StatusDeclined:
			p.Outcome = checkout.PaymentDeclined
		default:
			w.WriteHeader(http.StatusNoContent) // nothing checkout acts on
			return
		}
		if s.webhooks != nil && ev.ID != "" {
			seen, err := s.webhooks.WebhookSeen(r.Context(), ev.ID)
			if err != nil {
				s.problem(w, r, err)
				return
			}
			if seen {
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		err = s.checkoutSvc.ApplyProviderEvent(r.Context(), ev.Payment.MerchantReference, p)
		if err != nil && !errcode.Is(err, errcode.NotFound) {
			s.problem(w, r, err)
			return
		}
		if s.webhooks != nil && ev.ID != "" {
			if err := s.webhooks.RecordWebhook(r.Context(), ev.ID, time.Now()); err != nil {
				s.problem(w, r, err)
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
