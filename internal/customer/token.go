package customer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
)

// Secret is one HMAC key for customer tokens, named by a key id so tokens
// signed before a rotation still verify.
type Secret struct {
	KID    string
	Secret []byte
}

// Tokens issues and verifies customer bearer tokens:
//
//	ct1.<base64url(kid|shop|customer|expiry)>.<base64url(hmac-sha256)>
//
// They are stateless, so any replica verifies them without a lookup.
type Tokens struct {
	sign Secret
	keys map[string][]byte
	ttl  time.Duration
	now  func() time.Time
}

// NewTokens returns Tokens signing with secrets[0] and accepting all of
// secrets. It panics on an empty list: that is a wiring bug.
func NewTokens(secrets []Secret, ttl time.Duration, now func() time.Time) *Tokens {
	if len(secrets) == 0 {
		panic("customer: no token secrets")
	}
	keys := map[string][]byte{}
	for _, s := range secrets {
		keys[s.KID] = s.Secret
	}
	return &Tokens{sign: secrets[0], keys: keys, ttl: ttl, now: now}
}

const tokenPrefix = "ct1."

// Issue returns a token for the customer of the shop and its expiry.
func (t *Tokens) Issue(shopID int64, customerID string) (string, time.Time) {
	exp := t.now().Add(t.ttl).UTC().Truncate(time.Second)
	claims := t.sign.KID + "|" + strconv.FormatInt(shopID, 10) + "|" + customerID + "|" + strconv.FormatInt(exp.Unix(), 10)
	body := tokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(claims))
	return body + "." + base64.RawURLEncoding.EncodeToString(mac(t.sign.Secret, body)), exp
}

// Verify checks a token presented at shopID and returns its customer id.
// Errors: unauthorized (missing, malformed, forged, expired), forbidden
// (a valid token of another shop).
func (t *Tokens) Verify(token string, shopID int64) (string, error) {
	id, _, err := t.claims(token, shopID)
	return id, err
}

// claims is Verify that also returns the token's expiry.
func (t *Tokens) claims(token string, shopID int64) (string, time.Time, error) {
	id, exp, err := t.parse(token, shopID)
	return id, time.Unix(exp, 0).UTC(), err
}

func (t *Tokens) parse(token string, shopID int64) (string, int64, error) {
	if token == "" {
		return "", 0, errcode.New(errcode.Unauthorized, "a customer token is required")
	}
	bad := errcode.New(errcode.Unauthorized, "the customer token is invalid")
	i := strings.LastIndexByte(token, '.')
	if !strings.HasPrefix(token, tokenPrefix) || i < len(tokenPrefix) || len(token) > 512 || !tokenChars(token) {
		return "", 0, bad
	}
	body, sig := token[:i], token[i+1:]
	raw, err := base64.RawURLEncoding.DecodeString(body[len(tokenPrefix):])
	if err != nil {
		return "", 0, bad
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 4 {
		return "", 0, bad
	}
	key, ok := t.keys[parts[0]]
	gotSig, err := base64.RawURLEncoding.DecodeString(sig)
	if !ok || err != nil || !hmac.Equal(gotSig, mac(key, body)) {
		return "", 0, bad
	}
	exp, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil || !t.now().Before(time.Unix(exp, 0)) {
		return "", 0, errcode.Typed(errcode.Unauthorized, "token_expired", "the customer token has expired")
	}
	if parts[1] != strconv.FormatInt(shopID, 10) {
		return "", 0, errcode.New(errcode.Forbidden, "the customer token belongs to another shop")
	}
	return parts[2], exp, nil
}

func mac(key []byte, body string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(body))
	return m.Sum(nil)
}

// tokenChars reports whether s holds only base64url characters and dots:
// the decoder would skip stray newlines, letting one token have many
// spellings.
func tokenChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
