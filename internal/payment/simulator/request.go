package psp

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/surge-commerce/surge/internal/payment/wire"
)

// maxBody bounds every request body; the API's bodies are a few hundred bytes.
const maxBody = 64 << 10

const (
	maxReferenceLen = 255
	maxAmount       = 1_000_000_000_000
	maxLedgerPage   = 10_000
	defaultLedger   = 1_000
)

// createRequest is the body of POST /v1/payments, with the simulator's
// checks.
type createRequest wire.ChargeRequest

// hash identifies the request for idempotency. It hashes the decoded
// fields, not the raw bytes, so key order and whitespace do not matter.
func (c createRequest) hash() string {
	b, _ := json.Marshal(c) // a struct of strings, ints and bools cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (c createRequest) validate() error {
	switch {
	case c.MerchantReference == "":
		return invalid("merchant_reference is required")
	case len(c.MerchantReference) > maxReferenceLen:
		return invalid("merchant_reference is longer than %d bytes", maxReferenceLen)
	case !utf8.ValidString(c.MerchantReference):
		return invalid("merchant_reference is not valid UTF-8")
	case c.Amount <= 0 || c.Amount > maxAmount:
		return invalid("amount must be between 1 and %d minor units", int64(maxAmount))
	case !isCurrency(c.Currency):
		return invalid("currency must be three upper-case letters (ISO 4217)")
	case c.PaymentMethod != "" && !ValidPaymentMethod(c.PaymentMethod):
		return invalid("payment_method must be 1 to 64 letters, digits, '_' or '-'")
	}
	return nil
}

// ValidPaymentMethod reports whether s can name a payment method: 1 to 64
// letters, digits, '_' or '-'.
func ValidPaymentMethod(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range len(s) {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// decodeCreate reads and validates a create request.
func decodeCreate(r io.Reader) (createRequest, error) {
	var c createRequest
	if err := decodeJSON(r, &c); err != nil {
		return createRequest{}, err
	}
	return c, c.validate()
}

// decodeFaults reads and validates a fault-knob document.
func decodeFaults(r io.Reader) (Faults, error) {
	var f Faults
	if err := decodeJSON(r, &f); err != nil {
		return Faults{}, err
	}
	if err := f.Validate(); err != nil {
		return Faults{}, invalid("%v", err)
	}
	return f, nil
}

// decodeJSON decodes exactly one JSON object into v, rejecting unknown
// fields so that a misspelt field is an error rather than a silent default.
func decodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(io.LimitReader(r, maxBody+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return malformed(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return malformed(errors.New("trailing data after the JSON object"))
	}
	return nil
}

// ledgerParams reads the cursor and page size of GET /v1/ledger.
func ledgerParams(r *http.Request) (after int64, limit int, err error) {
	q := r.URL.Query()
	limit = defaultLedger
	if s := q.Get("after"); s != "" {
		after, err = strconv.ParseInt(s, 10, 64)
		if err != nil || after < 0 {
			return 0, 0, invalid("after must be a cursor returned as next")
		}
	}
	if s := q.Get("limit"); s != "" {
		limit, err = strconv.Atoi(s)
		if err != nil || limit < 1 || limit > maxLedgerPage {
			return 0, 0, invalid("limit must be between 1 and %d", maxLedgerPage)
		}
	}
	return after, limit, nil
}

func malformed(err error) error {
	return &problemError{status: http.StatusBadRequest, typ: typeMalformedJSON, detail: fmt.Sprintf("malformed JSON body: %v", err)}
}

func invalid(format string, args ...any) error {
	return &problemError{status: http.StatusBadRequest, typ: typeInvalidRequest, detail: fmt.Sprintf(format, args...)}
}
