package loadshed_test

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/surge-commerce/surge/internal/loadshed"
)

func TestBulkheadIsolatesClasses(t *testing.T) {
	t.Parallel()
	cfg := loadshed.DefaultConfig(16)
	cfg.Bulkheads[loadshed.Extras] = 2
	s := loadshed.New(cfg, prometheus.NewRegistry())
	var releases []func()
	for range 2 {
		release, err := s.Admit(context.Background(), loadshed.Extras)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, release)
	}
	if _, err := s.Admit(context.Background(), loadshed.Extras); !errors.Is(err, loadshed.ErrShed) {
		t.Fatalf("third extras request: %v, want ErrShed (bulkhead full)", err)
	}
	release, err := s.Admit(context.Background(), loadshed.Checkout)
	if err != nil {
		t.Fatalf("checkout while extras are full: %v; a flood of one class must not starve another", err)
	}
	release()
	for _, r := range releases {
		r()
	}
	if release, err = s.Admit(context.Background(), loadshed.Extras); err != nil {
		t.Fatalf("extras after release: %v", err)
	}
	release()
}
