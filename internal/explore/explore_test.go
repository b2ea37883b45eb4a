package explore_test

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/explore"
	"github.com/surge-commerce/surge/internal/store"
	"github.com/surge-commerce/surge/internal/store/storetest"
)

var (
	seedFlag   = flag.Uint64("seed", 0, "run only this seed (0: run -seeds seeds from -from)")
	engineFlag = flag.String("engine", "both", "sqlite, postgres or both")
	fromFlag   = flag.Uint64("from", 1, "the first seed")
	seedsFlag  = flag.Int("seeds", 300, "how many seeds to run per engine, at most")
	budgetFlag = flag.Duration("budget", 90*time.Second, "start no seed after this long per engine (0: no limit)")
)

// fullSchedules bounds how many breaching seeds print their whole
// schedule; the others print what broke and their replay command.
const fullSchedules = 5

// TestExplore runs seeded schedules on both engines. By default it is the
// CI slice: seeds from 1 until the seed count or the time budget runs out,
// whichever comes first. The budget bounds the work, never a verdict.
func TestExplore(t *testing.T) {
	for _, e := range storetest.Engines {
		if *engineFlag != "both" && *engineFlag != e.Name {
			continue
		}
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			exploreEngine(t, e.Name, e.Open)
		})
	}
}

// exploreEngine runs the seeds on one engine, each on a fresh store.
func exploreEngine(t *testing.T, engine string, open storetest.Open) {
	first, count := *fromFlag, uint64(*seedsFlag)
	if *seedFlag != 0 {
		first, count = *seedFlag, 1
	}
	began := time.Now()
	found := map[string][]uint64{} // check -> breaching seeds
	ran, breached := 0, 0
	for seed := first; seed < first+count; seed++ {
		if *budgetFlag > 0 && time.Since(began) > *budgetFlag {
			break
		}
		ran++
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			breaches := runSeed(t, open(t), seed)
			if len(breaches) == 0 {
				return
			}
			breached++
			checks := map[string]bool{}
			for _, b := range breaches {
				if !checks[b.Check] {
					checks[b.Check] = true
					found[b.Check] = append(found[b.Check], seed)
				}
			}
			t.Error(report(seed, engine, breaches, breached <= fullSchedules || *seedFlag != 0))
		})
	}
	elapsed := time.Since(began)
	t.Logf("%s: %d seeds from %d in %s (%.2f seeds/s)", engine, ran, first, elapsed.Round(time.Millisecond), float64(ran)/elapsed.Seconds())
	checks := make([]string, 0, len(found))
	for c := range found {
		checks = append(checks, c)
	}
	sort.Strings(checks)
	for _, c := range checks {
		t.Logf("%s: %q broken by %d seed(s): %v", engine, c, len(found[c]), found[c])
	}
}

func runSeed(t *testing.T, st *store.Store, seed uint64) []explore.Breach {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	breaches, err := explore.Run(ctx, st, explore.Generate(seed))
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	return breaches
}

func report(seed uint64, engine string, breaches []explore.Breach, withSchedule bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "explorer breach: seed %d, engine %s\nwhat broke:\n", seed, engine)
	for _, br := range breaches {
		fmt.Fprintf(&b, "  - %s\n", br)
	}
	if withSchedule {
		fmt.Fprintf(&b, "schedule:\n%s", explore.Generate(seed))
	}
	fmt.Fprintf(&b, "replay: %s\n", explore.Replay(seed, engine))
	return b.String()
}

// TestGenerateIsPure: a seed always gives the same schedule, and
// neighbouring seeds give different ones.
func TestGenerateIsPure(t *testing.T) {
	t.Parallel()
	seen := map[string]uint64{}
	for seed := uint64(1); seed <= 200; seed++ {
		s := explore.Generate(seed).String()
		if again := explore.Generate(seed).String(); again != s {
			t.Fatalf("seed %d gave two schedules:\n%s\n%s", seed, s, again)
		}
		body := s[strings.Index(s, "\n"):] // without the line naming the seed
		if other, dup := seen[body]; dup {
			t.Fatalf("seeds %d and %d gave the same schedule", other, seed)
		}
		seen[body] = seed
	}
}
