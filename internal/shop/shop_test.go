package shop

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/surge-commerce/surge/internal/apikey"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/precondition"
)

func TestValidateNew(t *testing.T) {
	good := []struct{ slug, name string }{
		{"a", "A"},
		{"acme", "Acme Inc."},
		{"9", "Nine"},
		{"a-b", "x"},
		{"a--b", "x"},
		{strings.Repeat("a", 40), strings.Repeat("é", 200)},
	}
	for _, c := range good {
		if err := ValidateNew(c.slug, c.name); err != nil {
			t.Errorf("ValidateNew(%q, %q): %v", c.slug, c.name, err)
		}
	}
	bad := []struct{ slug, name, field string }{
		{"", "Acme", "slug"},
		{"-acme", "Acme", "slug"},
		{"acme-", "Acme", "slug"},
		{"Acme", "Acme", "slug"},
		{"ac me", "Acme", "slug"},
		{"ac_me", "Acme", "slug"},
		{"acmé", "Acme", "slug"},
		{strings.Repeat("a", 41), "Acme", "slug"},
		{"acme\n", "Acme", "slug"},
		{"acme", "", "name"},
		{"acme", strings.Repeat("n", 201), "name"},
	}
	for _, c := range bad {
		assertField(t, ValidateNew(c.slug, c.name), c.field)
	}
	err := ValidateNew("", "")
	assertField(t, err, "slug")
	assertField(t, err, "name")
}

// FuzzValidateNew feeds arbitrary shop-create payloads: no panic, rejections
// are field errors, accepted slugs have the documented shape (and pass the
// cheap per-request check, or the shop could never be reached) and
// accepted names are 1-200 characters.
func FuzzValidateNew(f *testing.F) {
	f.Add("acme", "Acme")
	f.Add("", "")
	f.Add("-a", strings.Repeat("n", 201))
	f.Add("a-", "\xff")
	f.Add(strings.Repeat("a", 40), "x")
	f.Add("ACME", "x")
	f.Fuzz(func(t *testing.T, slug, name string) {
		err := ValidateNew(slug, name)
		if err != nil {
			if e, ok := err.(*errcode.Error); !ok || e.Code != errcode.Invalid || len(e.Fields) == 0 {
				t.Fatalf("rejection is not a field validation error: %#v", err)
			}
			return
		}
		if len(slug) < 1 || len(slug) > 40 || slug[0] == '-' || slug[len(slug)-1] == '-' {
			t.Fatalf("accepted slug %q", slug)
		}
		for _, c := range slug {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				t.Fatalf("accepted slug %q with %q", slug, c)
			}
		}
		if !plausibleSlug(slug) {
			t.Fatalf("slug %q is valid but fails plausibleSlug, so its shop could never be resolved", slug)
		}
		if n := utf8.RuneCountInString(name); n < 1 || n > 200 {
			t.Fatalf("accepted name %q of %d characters", name, n)
		}
	})
}

// FuzzPlausibleSlug checks the cheap pre-check never rejects a slug the
// regexp accepts (it may accept more: the lookup then says not found).
func FuzzPlausibleSlug(f *testing.F) {
	f.Add("acme")
	f.Add("-")
	f.Add("a-")
	f.Add("")
	f.Fuzz(func(t *testing.T, slug string) {
		if slugPattern.MatchString(slug) && !plausibleSlug(slug) {
			t.Fatalf("plausibleSlug rejects valid slug %q", slug)
		}
		if plausibleSlug(slug) && (len(slug) == 0 || len(slug) > 40) {
			t.Fatalf("plausibleSlug accepts %q", slug)
		}
	})
}

// memStore is a minimal in-memory Store for the service's own logic
// (caching, key checks); the real stores are tested in internal/store.
type memStore struct {
	mu     sync.Mutex
	shops  map[string]Shop
	keys   map[string]int64 // hash -> shop id
	lookup int              // ShopBySlug calls
}

func (m *memStore) CreateShop(_ context.Context, slug, name, keyHash string, now time.Time) (Shop, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.shops[slug]; ok {
		return Shop{}, errcode.New(errcode.Conflict, "slug taken")
	}
	sh := Shop{ID: int64(len(m.shops) + 1), Slug: slug, Name: name, Tier: "standard", CreatedAt: now}
	m.shops[slug] = sh
	m.keys[keyHash] = sh.ID
	return sh, nil
}

func (m *memStore) ShopBySlug(_ context.Context, slug string) (Shop, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lookup++
	sh, ok := m.shops[slug]
	if !ok {
		return Shop{}, errcode.Typed(errcode.NotFound, "shop_not_found", "no shop %q", slug)
	}
	return sh, nil
}

func (m *memStore) ShopKey(_ context.Context, keyHash string, _ time.Time) (Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.keys[keyHash]
	if !ok {
		return Key{}, errcode.New(errcode.Unauthorized, "unknown key")
	}
	return Key{ShopID: id}, nil
}

func (m *memStore) EndGrace(context.Context, int64, string, time.Time) (int, error) { return 0, nil }

func (m *memStore) SetShopTier(_ context.Context, slug, tier string, _ precondition.Condition) (Shop, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sh, ok := m.shops[slug]
	if !ok {
		return Shop{}, errcode.New(errcode.NotFound, "no shop")
	}
	sh.Tier = tier
	m.shops[slug] = sh
	return sh, nil
}

func (m *memStore) RotateShopKey(_ context.Context, shopID int64, _, keyHash string, _, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys[keyHash] = shopID
	return nil
}

func newTestService() (*Service, *memStore) {
	st := &memStore{shops: map[string]Shop{}, keys: map[string]int64{}}
	return NewService(st, time.Now, time.Hour, time.Hour), st
}

func TestCreateResolveAuthenticate(t *testing.T) {
	s, st := newTestService()
	ctx := context.Background()
	// A lookup before creation caches "not found"; Create must drop it.
	if _, err := s.Resolve(ctx, "acme"); !errcode.Is(err, errcode.NotFound) {
		t.Fatalf("resolve before create: %v", err)
	}
	sh, key, err := s.Create(ctx, "acme", "Acme")
	if err != nil || !strings.HasPrefix(key, "sk_") {
		t.Fatalf("create: %+v %q %v", sh, key, err)
	}
	if _, _, err := s.Create(ctx, "acme", "Again"); !errcode.Is(err, errcode.Conflict) {
		t.Fatalf("second create: %v, want conflict", err)
	}
	if _, _, err := s.Create(ctx, "-bad", "Bad"); !errcode.Is(err, errcode.Invalid) {
		t.Fatalf("create bad slug: %v, want invalid", err)
	}
	if got, err := s.Resolve(ctx, "acme"); err != nil || got.ID != sh.ID {
		t.Fatalf("resolve after create: %+v, %v", got, err)
	}
	other, otherKey, err := s.Create(ctx, "other", "Other")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Authenticate(ctx, "acme", key); err != nil || got.ID != sh.ID {
		t.Fatalf("authenticate own key: %+v, %v", got, err)
	}
	if _, err := s.Authenticate(ctx, "acme", otherKey); !errcode.Is(err, errcode.Forbidden) {
		t.Fatalf("another shop's key: %v, want forbidden (other shop %d)", err, other.ID)
	}
	if _, err := s.Authenticate(ctx, "acme", ""); !errcode.Is(err, errcode.Unauthorized) {
		t.Fatalf("no key: %v, want unauthorized", err)
	}
	if _, err := s.Authenticate(ctx, "acme", "sk_nope"); !errcode.Is(err, errcode.Unauthorized) {
		t.Fatalf("unknown key: %v, want unauthorized", err)
	}
	if _, err := s.Authenticate(ctx, "nobody", key); !errcode.Is(err, errcode.NotFound) {
		t.Fatalf("unknown shop: %v, want not_found", err)
	}
	lookups := st.lookup
	if _, err := s.Resolve(ctx, "NOT A SLUG"); !errcode.Is(err, errcode.NotFound) || st.lookup != lookups {
		t.Fatalf("implausible slug: %v, store lookups %d -> %d", err, lookups, st.lookup)
	}
	if _, ok := st.keys[apikey.Hash(key)]; !ok {
		t.Fatal("the store did not receive the key's hash")
	}
}

func TestRotateKeyAndSetTier(t *testing.T) {
	s, _ := newTestService()
	ctx := context.Background()
	if _, _, err := s.Create(ctx, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	for _, g := range []time.Duration{-time.Second, MaxGrace + time.Second} {
		_, _, err := s.RotateKey(ctx, "acme", "", g)
		assertField(t, err, "grace_seconds")
	}
	key, until, err := s.RotateKey(ctx, "acme", "", time.Hour)
	if err != nil || !strings.HasPrefix(key, "sk_") || time.Until(until) < 59*time.Minute {
		t.Fatalf("rotate: %q until %v, %v", key, until, err)
	}
	if _, err := s.Authenticate(ctx, "acme", key); err != nil {
		t.Fatalf("new key: %v", err)
	}
	if _, _, err := s.RotateKey(ctx, "nobody", "", 0); !errcode.Is(err, errcode.NotFound) {
		t.Fatalf("rotate unknown shop: %v", err)
	}
	_, err = s.SetTier(ctx, "acme", "gold", precondition.Condition{})
	assertField(t, err, "tier")
	if _, err := s.SetTier(ctx, "acme", "enterprise", precondition.Condition{}); err != nil {
		t.Fatal(err)
	}
	if sh, err := s.Resolve(ctx, "acme"); err != nil || sh.Tier != "enterprise" {
		t.Fatalf("tier after SetTier: %+v, %v; the cached shop should be dropped", sh, err)
	}
}

func assertField(t *testing.T, err error, field string) {
	t.Helper()
	e, ok := err.(*errcode.Error)
	if !ok || e.Code != errcode.Invalid || e.Type != "validation" {
		t.Fatalf("error %v (%T) is not an invalid/validation *errcode.Error", err, err)
	}
	for _, f := range e.Fields {
		if f.Field == field {
			return
		}
	}
	t.Fatalf("error fields %+v do not name %q", e.Fields, field)
}
