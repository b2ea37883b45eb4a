package e2e

import (
	"flag"
	"fmt"
	"testing"

	"github.com/surge-commerce/surge/internal/testrig"
)

var (
	seedFlag   = flag.Uint64("seed", 0, "run only this seed (0: run -seeds seeds from -first)")
	seedsFlag  = flag.Int("seeds", 3, "how many seeds to run per engine")
	firstFlag  = flag.Uint64("first", 1, "the first seed of a run of -seeds")
	engineFlag = flag.String("engine", "both", "sqlite, postgres or both")
)

// TestExploreE2E runs seeded schedules against the surge binary on each
// engine. By default it runs a few fixed seeds, a slice small enough for
// CI; `make explore-e2e SEEDS=N` runs more.
func TestExploreE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	seeds := []uint64{*seedFlag}
	if *seedFlag == 0 {
		seeds = nil
		for i := range *seedsFlag {
			seeds = append(seeds, *firstFlag+uint64(i))
		}
	}
	bin := buildSurge(t, t.TempDir())
	for _, engine := range []string{"sqlite", "postgres"} {
		if *engineFlag != "both" && *engineFlag != engine {
			continue
		}
		t.Run(engine, func(t *testing.T) {
			for _, seed := range seeds {
				t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
					dbURL := ""
					if engine == "postgres" {
						dbURL = testrig.PostgresURL(t)
					}
					out := explore(t, bin, engine, dbURL, seed)
					if len(out.Breaches) > 0 {
						t.Error(out.report(engine))
					}
				})
			}
		})
	}
}

func TestGenerateIsPure(t *testing.T) {
	t.Parallel()
	for seed := range uint64(50) {
		a, b := Generate(seed).String(), Generate(seed).String()
		if a != b {
			t.Fatalf("seed %d: two schedules differ:\n%s\n%s", seed, a, b)
		}
	}
	if Generate(1).String() == Generate(2).String() {
		t.Fatal("seeds 1 and 2 gave the same schedule")
	}
}
