package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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

// SQLite's writer reports the shortest wait for it since the last look,
// and background writes, however many arrive at once, all commit.
func TestSQLiteWriterQueue(t *testing.T) {
	t.Parallel()
	s := openMigrated(t, store.Config{DataDir: t.TempDir(), MaxConns: 4})
	ctx := t.Context()
	s.WriterQueueDelay() // forget the migrations' writes
	if _, ok := s.WriterQueueDelay(); ok {
		t.Fatal("a wait reported with no write since the last look")
	}
	bg := store.Background(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			c := ctx
			if i%2 == 0 {
				c = bg
			}
			errs <- s.SetFlag(c, fmt.Sprintf("flag-%d", i), true, time.Now())
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	flags, err := s.Flags(ctx)
	if err != nil || len(flags) < 40 {
		t.Fatalf("%d flags stored (%v), want 40", len(flags), err)
	}
	if d, ok := s.WriterQueueDelay(); !ok || d < 0 {
		t.Fatalf("after 40 writes: shortest wait %v, reported %v", d, ok)
	}
	if _, ok := s.WriterQueueDelay(); ok {
		t.Fatal("the shortest wait was not reset by the look")
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(s.WriterMetrics()...)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			counts[f.GetName()] += m.GetHistogram().GetSampleCount()
		}
	}
	// The migrations wrote too, so at least: 40 waits, and one group.
	if counts["surge_db_writer_wait_seconds"] < 40 || counts["surge_db_writer_commit_seconds"] < 1 {
		t.Fatalf("writer histograms: %v", counts)
	}
}

func TestPostgresHasNoWriterQueue(t *testing.T) {
	t.Parallel()
	s := openMigrated(t, store.Config{DatabaseURL: testrig.PostgresURL(t), MaxConns: 4})
	if err := s.SetFlag(t.Context(), "flag", true, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.WriterQueueDelay(); ok {
		t.Fatal("PostgreSQL reported a writer queue")
	}
	if m := s.WriterMetrics(); len(m) != 0 {
		t.Fatalf("PostgreSQL has writer metrics: %v", m)
	}
}
