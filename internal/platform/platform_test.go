package platform

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/apikey"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/precondition"
)

// memStore holds admin key hashes and flags in memory: the admin and flag
// logic is under test here; the SQL side is tested in internal/store.
type memStore struct {
	mu     sync.Mutex
	hashes []string
	flags  map[string]bool
	err    error
}

func (m *memStore) AdminKeyCount(context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.hashes), m.err
}

func (m *memStore) AddAdminKey(_ context.Context, hash string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hashes = append(m.hashes, hash)
	return nil
}

func (m *memStore) AdminKeyExists(_ context.Context, hash string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, h := range m.hashes {
		if h == hash {
			return true, nil
		}
	}
	return false, nil
}

func (m *memStore) Flags(context.Context) (map[string]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]bool{}
	for k, v := range m.flags {
		out[k] = v
	}
	return out, m.err
}

func (m *memStore) SetFlagIf(_ context.Context, name string, on bool, _ time.Time, _ precondition.Condition) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.flags[name] = on
	return nil
}

func (m *memStore) Flag(_ context.Context, name string) (Flag, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	on, ok := m.flags[name]
	return Flag{Name: name, Enabled: on, Version: 1}, ok, m.err
}

func TestEnsureKeyGeneratesOnceAndStoresOnlyTheHash(t *testing.T) {
	st := &memStore{}
	a := NewAdmin(st, "", time.Now)
	ctx := context.Background()
	key, err := a.EnsureKey(ctx)
	if err != nil || !strings.HasPrefix(key, "ak_") {
		t.Fatalf("first EnsureKey: %q, %v", key, err)
	}
	if len(st.hashes) != 1 || st.hashes[0] != apikey.Hash(key) {
		t.Fatalf("stored %v; want only the key's hash", st.hashes)
	}
	if again, err := a.EnsureKey(ctx); again != "" || err != nil || len(st.hashes) != 1 {
		t.Fatalf("second EnsureKey: %q, %v, %d keys", again, err, len(st.hashes))
	}
	for k, want := range map[string]bool{key: true, "": false, key + "x": false, "ak_other": false} {
		if ok, err := a.Authenticate(ctx, k); ok != want || err != nil {
			t.Errorf("Authenticate(%q) = %v, %v", k, ok, err)
		}
	}
}

func TestFixedKeyIsTheOnlyKey(t *testing.T) {
	st := &memStore{hashes: []string{apikey.Hash("ak_stored")}}
	a := NewAdmin(st, "ak_fixed", time.Now)
	ctx := context.Background()
	if key, err := a.EnsureKey(ctx); key != "" || err != nil {
		t.Fatalf("EnsureKey with a fixed key: %q, %v", key, err)
	}
	for k, want := range map[string]bool{"ak_fixed": true, "ak_stored": false, "": false, "ak_fixe": false} {
		if ok, _ := a.Authenticate(ctx, k); ok != want {
			t.Errorf("Authenticate(%q) = %v, want %v", k, ok, want)
		}
	}
	down := &memStore{err: errors.New("db down")}
	if key, err := NewAdmin(down, "", time.Now).EnsureKey(ctx); key != "" || err == nil {
		t.Fatalf("EnsureKey with the store down: %q, %v", key, err)
	}
}

func TestFlags(t *testing.T) {
	st := &memStore{flags: map[string]bool{}}
	f := NewFlags(st, time.Now, time.Hour)
	ctx := context.Background()
	for _, n := range Names() {
		if !f.Enabled(n) {
			t.Errorf("%s off by default", n)
		}
	}
	if !f.Enabled("no-such-flag") {
		t.Error("an unknown flag reads as off; unknown flags must not disable anything")
	}
	if err := f.Set(ctx, FlagSearch, false); err != nil {
		t.Fatal(err)
	}
	if f.Enabled(FlagSearch) || !f.Enabled(FlagRecommendations) || f.All()[FlagSearch] {
		t.Fatalf("after turning search off: %v", f.All())
	}
	if err := f.Set(ctx, "nope", false); !errcode.Is(err, errcode.NotFound) {
		t.Fatalf("Set of an unknown flag: %v", err)
	}
	// Another replica's change arrives with a refresh.
	other := NewFlags(st, time.Now, time.Hour)
	if err := other.Refresh(ctx); err != nil || other.Enabled(FlagSearch) {
		t.Fatalf("another replica after refresh: %v, %v", other.All(), err)
	}
	// A failed refresh keeps the last known values.
	st.err = errors.New("db down")
	if err := other.Refresh(ctx); err == nil || other.Enabled(FlagSearch) {
		t.Fatalf("failed refresh: %v, flags %v", err, other.All())
	}
	if len(f.All()) != len(Names()) {
		t.Fatalf("All() = %v, want every known flag", f.All())
	}
}
