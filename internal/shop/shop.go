// Package shop manages tenants: creating shops, issuing and rotating their
// API keys, and resolving a slug or key to a shop.
//
// Every other module scopes its data by the ShopID this package resolves, so
// tenant isolation starts here. It must never import a driver or transport.
package shop

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/surge-commerce/surge/internal/apikey"
	"github.com/surge-commerce/surge/internal/cache"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/precondition"
)

// Shop is a tenant.
type Shop struct {
	ID   int64
	Slug string
	Name string
	// Tier is the shop's quota tier (free, standard, enterprise).
	Tier      string
	CreatedAt time.Time
	// Version moves on with each change of the tier; the shop's admin
	// ETag is "v<version>" (package precondition).
	Version int64
}

// Tiers are the quota tiers a platform admin can give a shop.
var Tiers = []string{"free", "standard", "enterprise"}

// Store is what shops need from persistence.
type Store interface {
	// CreateShop inserts the shop and its first key hash in one transaction.
	// Returns errcode.Conflict when the slug is taken.
	CreateShop(ctx context.Context, slug, name, keyHash string, now time.Time) (Shop, error)
	// ShopBySlug returns errcode.NotFound for an unknown slug.
	ShopBySlug(ctx context.Context, slug string) (Shop, error)
	// ShopKey returns the shop a key hash belongs to and when the key
	// expires, if it has not expired at now, else errcode.Unauthorized.
	ShopKey(ctx context.Context, keyHash string, now time.Time) (Key, error)
	// SetShopTier changes a shop's quota tier if cond holds. Errors:
	// not_found, precondition_failed.
	SetShopTier(ctx context.Context, slug, tier string, cond precondition.Condition) (Shop, error)
	// RotateShopKey adds a new key hash and makes every older key of the shop
	// expire at oldExpireAt (unless it already expires sooner). When byHash
	// is set (a shop rotating its own key), that key must still be the
	// shop's current one when the rotation commits, else errcode.Forbidden
	// with type key_in_grace.
	RotateShopKey(ctx context.Context, shopID int64, byHash, keyHash string, now, oldExpireAt time.Time) error
	// EndGrace makes every key of the shop that is in its grace period
	// expire at now, with the same condition on byHash, and returns how
	// many it ended.
	EndGrace(ctx context.Context, shopID int64, byHash string, now time.Time) (int, error)
}

// Key is a shop API key as stored: its shop, and when it expires (zero for
// the shop's current key, set for an older key in its grace period).
type Key struct {
	ShopID    int64
	ExpiresAt time.Time
}

var slugPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$`)

// plausibleSlug is a cheap check run on every request before a lookup: it
// rejects what can never be a slug without the cost of the regexp.
func plausibleSlug(slug string) bool {
	if len(slug) == 0 || len(slug) > 40 {
		return false
	}
	for i := 0; i < len(slug); i++ {
		c := slug[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ValidateNew checks the fields of a shop about to be created.
func ValidateNew(slug, name string) error {
	var v errcode.Validation
	if !slugPattern.MatchString(slug) {
		v.Add("slug", "must be 1-40 lowercase letters, digits or inner hyphens")
	}
	if n := utf8.RuneCountInString(name); n < 1 || n > 200 || !utf8.ValidString(name) || strings.ContainsRune(name, 0) {
		v.Add("name", "must be 1-200 characters of valid UTF-8 without NUL")
	}
	return v.Err()
}

// Service is the shops use case.
type Service struct {
	store  Store
	now    func() time.Time
	bySlug *cache.Cache[Shop]
}

// NewService returns a Service. Resolved shops are cached briefly: they are
// read on every request and change rarely. Shops are served stale while
// the database is down (up to maxStale), so public catalog reads keep
// working through an outage. Keys are not cached: a rotated key's grace
// must end to the second on every replica, and keys only guard the admin
// API, where one indexed read per call is cheap.
func NewService(store Store, now func() time.Time, ttl, maxStale time.Duration) *Service {
	return &Service{
		store: store,
		now:   now,
		bySlug: cache.New[Shop](cache.Options{
			MaxEntries: 100_000, TTL: ttl, MaxStale: maxStale, LoadTimeout: 5 * time.Second, Now: now,
		}),
	}
}

// Create creates a shop and returns it with its first API key, which is
// never shown again. Errors: invalid, conflict.
func (s *Service) Create(ctx context.Context, slug, name string) (Shop, string, error) {
	if err := ValidateNew(slug, name); err != nil {
		return Shop{}, "", err
	}
	key := apikey.New("sk_")
	sh, err := s.store.CreateShop(ctx, slug, name, apikey.Hash(key), s.now())
	if err != nil {
		return Shop{}, "", err
	}
	s.bySlug.Invalidate(slug) // a lookup before creation may have cached "not found"
	return sh, key, nil
}

// Lookup reads a shop from the store, past the cache Resolve keeps, for
// an admin who must see their own change at once. Errors: not_found.
func (s *Service) Lookup(ctx context.Context, slug string) (Shop, error) {
	if !plausibleSlug(slug) {
		return Shop{}, errcode.Typed(errcode.NotFound, "shop_not_found", "no shop %q", slug)
	}
	return s.store.ShopBySlug(ctx, slug)
}

// Resolve returns the shop with the given slug. Errors: not_found.
func (s *Service) Resolve(ctx context.Context, slug string) (Shop, error) {
	if !plausibleSlug(slug) {
		return Shop{}, errcode.Typed(errcode.NotFound, "shop_not_found", "no shop %q", slug)
	}
	sh, _, err := s.bySlug.Get(ctx, slug, func(ctx context.Context) (Shop, error) {
		return s.store.ShopBySlug(ctx, slug)
	})
	return sh, err
}

// Authenticate resolves slug and checks that key belongs to that shop.
// Errors: not_found (no such shop), unauthorized (no, unknown or expired
// key), forbidden (a valid key of another shop).
func (s *Service) Authenticate(ctx context.Context, slug, key string) (Shop, error) {
	sh, _, err := s.authenticate(ctx, slug, key)
	return sh, err
}

func (s *Service) authenticate(ctx context.Context, slug, key string) (Shop, Key, error) {
	sh, err := s.Resolve(ctx, slug)
	if err != nil {
		return Shop{}, Key{}, err
	}
	if key == "" {
		return Shop{}, Key{}, errcode.New(errcode.Unauthorized, "a shop API key is required")
	}
	k, err := s.store.ShopKey(ctx, apikey.Hash(key), s.now())
	if err != nil {
		return Shop{}, Key{}, err
	}
	if k.ShopID != sh.ID {
		return Shop{}, Key{}, errcode.New(errcode.Forbidden, "this key does not belong to shop %q", slug)
	}
	return sh, k, nil
}

// errKeyInGrace refuses key management to a key in its grace period: such a
// key may be the one that leaked, so it can do the shop's work until it
// expires but never issue or revoke keys (which would lock the owner out).
var errKeyInGrace = errcode.Typed(errcode.Forbidden, "key_in_grace",
	"this key was rotated and is in its grace period: it cannot rotate or revoke keys; use the current key")

// RotateKey issues a new key for the shop and returns it with the time
// older keys stop working: after grace, or at once for 0. byKey is the
// caller's shop key, which must be the current one; "" is the platform
// admin. Errors: not_found, invalid, unauthorized, forbidden (key_in_grace).
func (s *Service) RotateKey(ctx context.Context, slug, byKey string, grace time.Duration) (string, time.Time, error) {
	if grace < 0 || grace > MaxGrace {
		var v errcode.Validation
		v.Add("grace_seconds", "must be between 0 and 604800 (7 days)")
		return "", time.Time{}, v.Err()
	}
	sh, byHash, err := s.keyManager(ctx, slug, byKey)
	if err != nil {
		return "", time.Time{}, err
	}
	key := apikey.New("sk_")
	now := s.now()
	if err := s.store.RotateShopKey(ctx, sh.ID, byHash, apikey.Hash(key), now, now.Add(grace)); err != nil {
		return "", time.Time{}, err
	}
	return key, now.Add(grace), nil
}

// RevokeOldKeys ends the grace period of every older key of the shop now,
// leaving only the current key, and returns how many it ended. byKey as
// for RotateKey.
func (s *Service) RevokeOldKeys(ctx context.Context, slug, byKey string) (int, error) {
	sh, byHash, err := s.keyManager(ctx, slug, byKey)
	if err != nil {
		return 0, err
	}
	return s.store.EndGrace(ctx, sh.ID, byHash, s.now())
}

// keyManager resolves the shop of a key-management call and checks that a
// shop key making it is the shop's current key.
func (s *Service) keyManager(ctx context.Context, slug, byKey string) (Shop, string, error) {
	if byKey == "" {
		sh, err := s.Resolve(ctx, slug)
		return sh, "", err
	}
	sh, k, err := s.authenticate(ctx, slug, byKey)
	if err != nil {
		return Shop{}, "", err
	}
	if !k.ExpiresAt.IsZero() {
		return Shop{}, "", errKeyInGrace
	}
	return sh, apikey.Hash(byKey), nil
}

// MaxGrace is the longest an old key may outlive its rotation.
const MaxGrace = 7 * 24 * time.Hour

// SetTier changes a shop's quota tier. Errors: invalid, not_found.
func (s *Service) SetTier(ctx context.Context, slug, tier string, cond precondition.Condition) (Shop, error) {
	if !slices.Contains(Tiers, tier) {
		var v errcode.Validation
		v.Add("tier", "must be one of free, standard, enterprise")
		return Shop{}, v.Err()
	}
	sh, err := s.store.SetShopTier(ctx, slug, tier, cond)
	if err != nil {
		return Shop{}, err
	}
	s.bySlug.Invalidate(slug)
	return sh, nil
}
