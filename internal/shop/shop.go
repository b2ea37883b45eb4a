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

	"github.com/maypok86/otter/v2"

	"github.com/surge-commerce/surge/internal/apikey"
	"github.com/surge-commerce/surge/internal/cache"
	"github.com/surge-commerce/surge/internal/errcode"
)

// Shop is a tenant.
type Shop struct {
	ID   int64
	Slug string
	Name string
	// Tier is the shop's quota tier (free, standard, enterprise).
	Tier      string
	CreatedAt time.Time
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
	// ShopIDByKey returns the shop a key hash belongs to if the key has not
	// expired at now, else errcode.Unauthorized.
	ShopIDByKey(ctx context.Context, keyHash string, now time.Time) (int64, error)
	// SetShopTier changes a shop's quota tier. Errors: not_found.
	SetShopTier(ctx context.Context, slug, tier string) (Shop, error)
	// RotateShopKey adds a new key hash and makes every older key of the shop
	// expire at oldExpireAt (unless it already expires sooner).
	RotateShopKey(ctx context.Context, shopID int64, keyHash string, now, oldExpireAt time.Time) error
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
	byKey  *otter.Cache[string, int64]
}

// NewService returns a Service. Resolved shops and keys are cached briefly:
// they are read on every request and change rarely. Shops are served stale
// while the database is down (up to maxStale), so public catalog reads
// keep working through an outage.
func NewService(store Store, now func() time.Time, ttl, maxStale time.Duration) *Service {
	return &Service{
		store: store,
		now:   now,
		bySlug: cache.New[Shop](cache.Options{
			MaxEntries: 100_000, TTL: ttl, MaxStale: maxStale, LoadTimeout: 5 * time.Second, Now: now,
		}),
		byKey: otter.Must(&otter.Options[string, int64]{
			MaximumSize:      100_000,
			ExpiryCalculator: otter.ExpiryWriting[string, int64](ttl),
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
// Errors: not_found (no such shop), unauthorized (no or unknown key),
// forbidden (a valid key of another shop).
func (s *Service) Authenticate(ctx context.Context, slug, key string) (Shop, error) {
	sh, err := s.Resolve(ctx, slug)
	if err != nil {
		return Shop{}, err
	}
	if key == "" {
		return Shop{}, errcode.New(errcode.Unauthorized, "a shop API key is required")
	}
	id, err := s.byKey.Get(ctx, apikey.Hash(key), otter.LoaderFunc[string, int64](func(ctx context.Context, hash string) (int64, error) {
		return s.store.ShopIDByKey(ctx, hash, s.now())
	}))
	if err != nil {
		return Shop{}, err
	}
	if id != sh.ID {
		return Shop{}, errcode.New(errcode.Forbidden, "this key does not belong to shop %q", slug)
	}
	return sh, nil
}

// RotateKey issues a new key for the shop and returns it with the time
// older keys stop working: after grace, or at once for 0.
// Errors: not_found, invalid.
func (s *Service) RotateKey(ctx context.Context, slug string, grace time.Duration) (string, time.Time, error) {
	if grace < 0 || grace > MaxGrace {
		var v errcode.Validation
		v.Add("grace_seconds", "must be between 0 and 604800 (7 days)")
		return "", time.Time{}, v.Err()
	}
	sh, err := s.Resolve(ctx, slug)
	if err != nil {
		return "", time.Time{}, err
	}
	key := apikey.New("sk_")
	now := s.now()
	if err := s.store.RotateShopKey(ctx, sh.ID, apikey.Hash(key), now, now.Add(grace)); err != nil {
		return "", time.Time{}, err
	}
	// Only this replica forgets at once; others within the cache TTL.
	s.byKey.InvalidateAll()
	return key, now.Add(grace), nil
}

// MaxGrace is the longest an old key may outlive its rotation.
const MaxGrace = 7 * 24 * time.Hour

// SetTier changes a shop's quota tier. Errors: invalid, not_found.
func (s *Service) SetTier(ctx context.Context, slug, tier string) (Shop, error) {
	if !slices.Contains(Tiers, tier) {
		var v errcode.Validation
		v.Add("tier", "must be one of free, standard, enterprise")
		return Shop{}, v.Err()
	}
	sh, err := s.store.SetShopTier(ctx, slug, tier)
	if err != nil {
		return Shop{}, err
	}
	s.bySlug.Invalidate(slug)
	return sh, nil
}
