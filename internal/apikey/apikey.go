// Package apikey generates and hashes the secrets that authenticate the
// platform admin and shops.
//
// Keys are 256-bit random values, shown once and stored only as a SHA-256
// hash: the key's own entropy makes a slow password hash unnecessary, and a
// fast hash keeps authentication off the request path's critical budget.
// This package must never log or persist a key in clear.
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
)

// New returns a fresh key with the given prefix (e.g. "sk_" for shop keys),
// so a leaked key is recognisable in logs and secret scanners.
func New(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("apikey: no randomness: " + err.Error()) // crypto/rand never fails on supported platforms
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// Hash returns the hex SHA-256 of key, the only form a key is stored in.
func Hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Equal compares two keys in constant time.
func Equal(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
