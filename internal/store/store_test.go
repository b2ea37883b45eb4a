package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/store"
	"github.com/surge-commerce/surge/internal/store/storetest"
	"github.com/surge-commerce/surge/internal/testrig"
)

func openMigrated(t *testing.T, cfg store.Config) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSQLite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) *store.Store {
		return openMigrated(t, store.Config{DataDir: t.TempDir(), MaxConns: 4})
	})
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) *store.Store {
		return openMigrated(t, store.Config{DatabaseURL: testrig.PostgresURL(t), MaxConns: 4})
	})
}
