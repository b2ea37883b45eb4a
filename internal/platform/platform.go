// Package platform holds what belongs to the operator of a Surge
// installation rather than to any one shop: the platform admin key
// (platform.go) and the runtime feature flags every replica shares
// (flags.go).
//
// It must never import a driver or a transport; it reaches the store only
// through the Store interface declared here.
package platform

import (
	"context"
	"time"

	"github.com/surge-commerce/surge/internal/apikey"
)

// Store is what the platform needs from persistence.
type Store interface {
	// AdminKeyCount returns how many admin key hashes are stored.
	AdminKeyCount(ctx context.Context) (int, error)
	// AddAdminKey stores the hash of a new admin key.
	AddAdminKey(ctx context.Context, hash string, now time.Time) error
	// AdminKeyExists reports whether hash belongs to a stored admin key.
	AdminKeyExists(ctx context.Context, hash string) (bool, error)
}

// Admin authenticates the platform admin.
type Admin struct {
	store    Store
	fixedKey string // from SURGE_ADMIN_KEY; when set, stored keys are ignored
	now      func() time.Time
}

// NewAdmin returns an Admin. fixedKey, when non-empty, is the only key
// accepted.
func NewAdmin(store Store, fixedKey string, now func() time.Time) *Admin {
	return &Admin{store: store, fixedKey: fixedKey, now: now}
}

// EnsureKey makes sure an admin key exists. When no key is configured and
// none is stored, it generates one, stores its hash and returns it so the
// caller can print it once; otherwise it returns "".
func (a *Admin) EnsureKey(ctx context.Context) (string, error) {
	if a.fixedKey != "" {
		return "", nil
	}
	n, err := a.store.AdminKeyCount(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	key := apikey.New("ak_")
	if err := a.store.AddAdminKey(ctx, apikey.Hash(key), a.now()); err != nil {
		return "", err
	}
	return key, nil
}

// Authenticate reports whether key is a valid platform admin key.
func (a *Admin) Authenticate(ctx context.Context, key string) (bool, error) {
	if key == "" {
		return false, nil
	}
	if a.fixedKey != "" {
		return apikey.Equal(key, a.fixedKey), nil
	}
	return a.store.AdminKeyExists(ctx, apikey.Hash(key))
}
