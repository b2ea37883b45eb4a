package psp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"

	"github.com/surge-commerce/surge/internal/payment/wire"
)

// maxKeyLen bounds the Idempotency-Key header.
const maxKeyLen = 255

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	if err := s.store.read.PingContext(r.Context()); err != nil {
		writeProblem(w, http.StatusServiceUnavailable, typeInternal, "store unavailable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleCreate authorizes (and optionally captures) a payment. The whole
// operation is one transaction keyed by Idempotency-Key, so concurrent
// repeats of a request serialise and all see the first one's response.
func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" || len(key) > maxKeyLen {
		writeProblem(w, http.StatusBadRequest, typeMissingKey,
			fmt.Sprintf("an Idempotency-Key header of 1 to %d bytes is required", maxKeyLen))
		return
	}
	req, err := decodeCreate(r.Body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp, err := s.store.createPayment(r.Context(), key, req.hash(), s.newPayment(req))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.notifyHooks()
	writeBody(w, resp.status, resp.body)
}

// newPayment decides the fate of a new payment. On an idempotent replay the
// decision is discarded in favour of the stored one.
func (s *Server) newPayment(req createRequest) Payment {
	now := s.now()
	status := StatusAuthorized
	switch {
	case s.roll(s.faults.Load().DeclineRate):
		status = StatusDeclined
	case req.Capture:
		status = StatusCaptured
	}
	p := Payment{
		ID:                newID("pay_"),
		MerchantReference: req.MerchantReference,
		Amount:            req.Amount,
		Currency:          req.Currency,
		Status:            status,
		CreatedAt:         now,
		UpdatedAt:         now,
	}
	if req.PaymentMethod != "" {
		p.CardFingerprint = s.fingerprint(req.PaymentMethod)
	}
	return p
}

// fingerprint names the card behind a payment method: in this simulator
// the method is the card, so the same method gives the same fingerprint,
// keyed by the server's secret so that it reveals nothing of the method.
func (s *Server) fingerprint(method string) string {
	m := hmac.New(sha256.New, []byte("surge psp card fingerprints\x00"+s.cfg.APIKey))
	m.Write([]byte(method))
	return "fp_" + hex.EncodeToString(m.Sum(nil))[:24]
}

// handlePaymentMethod tells a payment method's fingerprint.
func (s *Server) handlePaymentMethod(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !ValidPaymentMethod(id) {
		writeProblem(w, http.StatusNotFound, typeNotFound, "no such payment method")
		return
	}
	writeJSON(w, http.StatusOK, PaymentMethod{ID: id, CardFingerprint: s.fingerprint(id)})
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	p, err := s.store.payment(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	ref := r.URL.Query().Get("merchant_reference")
	if ref == "" {
		s.writeError(w, r, invalid("merchant_reference is required; GET /v1/ledger lists every payment"))
		return
	}
	list, err := s.store.paymentsByReference(r.Context(), ref)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.PaymentList{Data: list})
}

func (s *Server) handleLedger(w http.ResponseWriter, r *http.Request) {
	after, limit, err := ledgerParams(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, next, err := s.store.ledgerPage(r.Context(), after, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.PaymentList{Data: list, Next: next})
}

func (s *Server) transition(op operation) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.store.transition(r.Context(), r.PathValue("id"), op, s.now())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.notifyHooks()
		writeJSON(w, http.StatusOK, p)
	}
}

// operation is a state transition of a payment.
type operation struct {
	name string
	from string
	to   string
	// reached lists the statuses in which the transition already happened,
	// where repeating it is a no-op rather than a conflict.
	reached []string
}

var (
	opCapture = operation{name: "capture", from: StatusAuthorized, to: StatusCaptured, reached: []string{StatusCaptured, StatusRefunded}}
	opVoid    = operation{name: "void", from: StatusAuthorized, to: StatusVoided, reached: []string{StatusVoided}}
	opRefund  = operation{name: "refund", from: StatusCaptured, to: StatusRefunded, reached: []string{StatusRefunded}}
)

// apply returns the status after the operation and whether it changed.
func (o operation) apply(status string) (string, bool, error) {
	switch {
	case status == o.from:
		return o.to, true, nil
	case slices.Contains(o.reached, status):
		return status, false, nil
	}
	return "", false, fmt.Errorf("%w: cannot %s a payment that is %s", errBadTransition, o.name, status)
}

func (s *Server) handleGetFaults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.faults.Load())
}

// handlePutFaults replaces all knobs at once; an omitted knob is zero.
func (s *Server) handlePutFaults(w http.ResponseWriter, r *http.Request) {
	f, err := decodeFaults(r.Body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.faults.Store(&f)
	s.log.Info("psp: faults set", "faults", f)
	writeJSON(w, http.StatusOK, f)
}

// newID returns prefix followed by 24 random hex digits.
func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
