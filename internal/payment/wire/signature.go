package wire

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header that carries a webhook's signature.
const SignatureHeader = "Psp-Signature"

// Errors returned by VerifySignature.
var (
	ErrSignatureMalformed = errors.New("payment signature: malformed signature header")
	ErrSignatureMismatch  = errors.New("payment signature: no matching signature")
	ErrSignatureExpired   = errors.New("payment signature: signature timestamp outside tolerance")
)

// maxSignatureHeader bounds the header a receiver will parse.
const maxSignatureHeader = 4096

// Sign returns the Psp-Signature header value for body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">".
func Sign(secret string, body []byte, t time.Time) string {
	ts := t.Unix()
	return "t=" + strconv.FormatInt(ts, 10) + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

// VerifySignature checks a Psp-Signature header against body: one of its v1
// signatures must be the HMAC of the body under secret, and its timestamp
// must be within tolerance of now in either direction, so that a captured
// webhook cannot be replayed later.
func VerifySignature(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, sigs, err := parseSignatureHeader(header)
	if err != nil {
		return err
	}
	age := now.Sub(time.Unix(ts, 0))
	if age > tolerance || age < -tolerance {
		return ErrSignatureExpired
	}
	want := mac(secret, ts, body)
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			return nil
		}
	}
	return ErrSignatureMismatch
}

func mac(secret string, ts int64, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(strconv.FormatInt(ts, 10)))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// parseSignatureHeader splits "t=<unix>,v1=<hex>[,v1=<hex>...]". Several v1
// entries allow secret rotation; unknown schemes are ignored so senders can
// add stronger ones later.
func parseSignatureHeader(header string) (int64, [][]byte, error) {
	if len(header) > maxSignatureHeader {
		return 0, nil, ErrSignatureMalformed
	}
	var ts int64
	var sigs [][]byte
	seenTime := false
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return 0, nil, ErrSignatureMalformed
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 || seenTime {
				return 0, nil, ErrSignatureMalformed
			}
			ts, seenTime = n, true
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return 0, nil, ErrSignatureMalformed
			}
			sigs = append(sigs, sig)
		}
	}
	if !seenTime || len(sigs) == 0 {
		return 0, nil, ErrSignatureMalformed
	}
	return ts, sigs, nil
}
