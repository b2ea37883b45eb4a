// Package customer registers a shop's customers and issues the signed
// bearer tokens they present to carts, checkout and orders.
//
// A token names its shop: a token of shop A is worthless at shop B. This
// package must never import a driver or a transport.
package customer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/mail"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/surge-commerce/surge/internal/errcode"
)

// Customer is a buyer of one shop.
type Customer struct {
	ShopID    int64
	ID        string
	Email     string
	Name      string
	CreatedAt time.Time
}

// Store is what customers need from persistence.
type Store interface {
	CreateCustomer(ctx context.Context, c Customer) error
	// TokenSecrets returns the stored token secrets, newest first.
	TokenSecrets(ctx context.Context) ([]Secret, error)
	AddTokenSecret(ctx context.Context, s Secret, now time.Time) error
	// TokenRevoked reports whether a customer's token (by hash, with its
	// expiry) was signed out or revoked with all the customer's tokens.
	TokenRevoked(ctx context.Context, shopID int64, customerID, tokenHash string, expires time.Time) (bool, error)
	// RevokeToken signs one token out until its expiry.
	RevokeToken(ctx context.Context, shopID int64, customerID, tokenHash string, expires time.Time) error
	// RevokeTokens ends every token of the customer that expires at or
	// before until. Errors: not_found (no such customer).
	RevokeTokens(ctx context.Context, shopID int64, customerID string, until time.Time) error
}

// Service registers customers.
type Service struct {
	store  Store
	tokens *Tokens
	now    func() time.Time
}

// NewService returns a Service issuing tokens with tokens.
func NewService(store Store, tokens *Tokens, now func() time.Time) *Service {
	return &Service{store: store, tokens: tokens, now: now}
}

// Tokens returns the token verifier.
func (s *Service) Tokens() *Tokens { return s.tokens }

// Create registers a customer and returns it with a token and its expiry.
// Errors: invalid.
func (s *Service) Create(ctx context.Context, shopID int64, email, name string) (Customer, string, time.Time, error) {
	var v errcode.Validation
	if email != "" {
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
			v.Add("email", "must be a plain email address")
		}
	}
	if utf8.RuneCountInString(name) > 200 || !utf8.ValidString(name) {
		v.Add("name", "must be at most 200 characters")
	}
	if err := v.Err(); err != nil {
		return Customer{}, "", time.Time{}, err
	}
	c := Customer{ShopID: shopID, ID: "cus_" + uuid.Must(uuid.NewV7()).String(), Email: email, Name: name, CreatedAt: s.now()}
	if err := s.store.CreateCustomer(ctx, c); err != nil {
		return Customer{}, "", time.Time{}, err
	}
	tok, exp := s.tokens.Issue(shopID, c.ID)
	return c, tok, exp, nil
}

// LoadSecrets returns configured secrets if any, else the stored ones,
// creating and storing one on first use so every replica sharing the
// database verifies every other replica's tokens.
func LoadSecrets(ctx context.Context, store Store, configured []Secret, now time.Time) ([]Secret, error) {
	if len(configured) > 0 {
		return configured, nil
	}
	stored, err := store.TokenSecrets(ctx)
	if err != nil || len(stored) > 0 {
		return stored, err
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	s := Secret{KID: "k" + now.UTC().Format("20060102150405"), Secret: []byte(base64.RawURLEncoding.EncodeToString(b))}
	if err := store.AddTokenSecret(ctx, s, now); err != nil {
		// Another replica may have won the race; use what is stored.
		if stored, err2 := store.TokenSecrets(ctx); err2 == nil && len(stored) > 0 {
			return stored, nil
		}
		return nil, err
	}
	return []Secret{s}, nil
}

// Authenticate verifies a customer token presented at shopID, as
// Tokens.Verify does, and that it was not signed out or revoked: one
// indexed read. Errors: unauthorized (also token_revoked), forbidden.
func (s *Service) Authenticate(ctx context.Context, token string, shopID int64) (string, error) {
	id, exp, err := s.tokens.claims(token, shopID)
	if err != nil {
		return "", err
	}
	revoked, err := s.store.TokenRevoked(ctx, shopID, id, tokenHash(token), exp)
	if err != nil {
		return "", err
	}
	if revoked {
		return "", errcode.Typed(errcode.Unauthorized, "token_revoked", "the customer token was signed out or revoked")
	}
	return id, nil
}

// Presented is a customer token verified by its signature, shop and
// expiry, with what a revocation check needs.
type Presented struct {
	CustomerID string
	Hash       string
	Expires    time.Time
}

// VerifySigned checks a token as Authenticate does, except whether it was
// revoked: the caller checks that in its own transaction (checkout does,
// so a checkout pays no round trip of its own for it). Errors:
// unauthorized, forbidden.
func (s *Service) VerifySigned(token string, shopID int64) (Presented, error) {
	id, exp, err := s.tokens.claims(token, shopID)
	if err != nil {
		return Presented{}, err
	}
	return Presented{CustomerID: id, Hash: tokenHash(token), Expires: exp}, nil
}

// SignOut ends one token (the one presented) for good.
func (s *Service) SignOut(ctx context.Context, token string, shopID int64) error {
	id, exp, err := s.tokens.claims(token, shopID)
	if err != nil {
		return err
	}
	return s.store.RevokeToken(ctx, shopID, id, tokenHash(token), exp)
}

// RevokeAll ends every token the customer holds now: every token issued
// so far expires at or before now plus the token lifetime. (A token issued
// within the same second, after the revocation, ends with them.)
func (s *Service) RevokeAll(ctx context.Context, shopID int64, customerID string) error {
	return s.store.RevokeTokens(ctx, shopID, customerID, s.now().Add(s.tokens.ttl).UTC().Truncate(time.Second))
}

// tokenHash names a token in storage without storing the token itself.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
