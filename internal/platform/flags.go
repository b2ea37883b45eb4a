package platform

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/precondition"
)

// The feature flags, all on by default. Turning one off degrades its
// feature gracefully instead of failing requests.
const (
	FlagSearch          = "search"          // off: search answers a plain listing
	FlagRecommendations = "recommendations" // off: recommendations answer an empty list
)

var knownFlags = []string{FlagRecommendations, FlagSearch}

// FlagStore persists flags so every replica sees the same values.
type FlagStore interface {
	Flags(ctx context.Context) (map[string]bool, error)
	// Flag reads one flag; a flag never set has no row: found is false.
	Flag(ctx context.Context, name string) (f Flag, found bool, err error)
	// SetFlagIf sets a flag if cond holds of it (a flag never set is at
	// version 0). Errors: precondition_failed.
	SetFlagIf(ctx context.Context, name string, enabled bool, now time.Time, cond precondition.Condition) error
}

// Flag is one feature flag as an admin sees it.
type Flag struct {
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
	// Version moves on with each change (0: never set, on by default);
	// the flag's ETag is "v<version>" (package precondition).
	Version int64 `json:"version"`
}

// Flags are runtime feature flags, read from memory on the request path
// and refreshed from the store in the background.
type Flags struct {
	store  FlagStore
	now    func() time.Time
	cur    atomic.Pointer[map[string]bool]
	every  time.Duration
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewFlags returns Flags refreshed every interval.
func NewFlags(store FlagStore, now func() time.Time, every time.Duration) *Flags {
	f := &Flags{store: store, now: now, every: every}
	all := map[string]bool{}
	for _, n := range knownFlags {
		all[n] = true
	}
	f.cur.Store(&all)
	return f
}

// Enabled reports whether a flag is on.
func (f *Flags) Enabled(name string) bool {
	on, ok := (*f.cur.Load())[name]
	return on || !ok
}

// All returns every known flag and its value.
func (f *Flags) All() map[string]bool {
	out := map[string]bool{}
	for k, v := range *f.cur.Load() {
		out[k] = v
	}
	return out
}

// Names lists the known flags.
func Names() []string { return slices.Clone(knownFlags) }

// Set changes a flag everywhere (other replicas within a refresh).
// Errors: not_found (unknown flag).
func (f *Flags) Set(ctx context.Context, name string, enabled bool) error {
	_, err := f.SetIf(ctx, name, enabled, precondition.Condition{})
	return err
}

// SetIf is Set when the flag is as cond expects (If-Match); it returns
// the flag as written. Errors: not_found, precondition_failed.
func (f *Flags) SetIf(ctx context.Context, name string, enabled bool, cond precondition.Condition) (Flag, error) {
	if !slices.Contains(knownFlags, name) {
		return Flag{}, unknownFlag(name)
	}
	if err := f.store.SetFlagIf(ctx, name, enabled, f.now(), cond); err != nil {
		return Flag{}, err
	}
	if err := f.Refresh(ctx); err != nil {
		return Flag{}, err
	}
	return f.Get(ctx, name)
}

// Get reads one flag from the store, so an admin sees their own change
// before the next refresh. Errors: not_found.
func (f *Flags) Get(ctx context.Context, name string) (Flag, error) {
	if !slices.Contains(knownFlags, name) {
		return Flag{}, unknownFlag(name)
	}
	fl, found, err := f.store.Flag(ctx, name)
	if err != nil {
		return Flag{}, err
	}
	if !found {
		return Flag{Name: name, Enabled: true}, nil // on by default
	}
	return fl, nil
}

func unknownFlag(name string) error {
	return errcode.Typed(errcode.NotFound, "flag_not_found", "no feature flag %q (known: %v)", name, knownFlags)
}

// Refresh reloads the flags from the store.
func (f *Flags) Refresh(ctx context.Context) error {
	stored, err := f.store.Flags(ctx)
	if err != nil {
		return err
	}
	all := map[string]bool{}
	for _, n := range knownFlags {
		on, ok := stored[n]
		all[n] = on || !ok
	}
	f.cur.Store(&all)
	return nil
}

// Start refreshes in the background until Stop. A failed refresh keeps
// the last known values.
func (f *Flags) Start(ctx context.Context) error {
	ctx, f.cancel = context.WithCancel(ctx)
	_ = f.Refresh(ctx)
	f.wg.Go(func() {
		t := time.NewTicker(f.every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				_ = f.Refresh(rctx)
				cancel()
			}
		}
	})
	return nil
}

// Stop ends the refreshing.
func (f *Flags) Stop() {
	if f.cancel != nil {
		f.cancel()
	}
	f.wg.Wait()
}
