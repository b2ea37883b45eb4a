package loadtest

import (
	"context"
	"math/rand/v2"
	"time"
)

// scenario is one kind of traffic.
type scenario interface {
	// setup creates what the traffic needs in the run's shop.
	setup(ctx context.Context, e *env) error
	// profile is the arrival rate of a phase at the given rate.
	profile(rate float64, d time.Duration) Profile
	// op is one arrival's operation; it records its requests through s
	// and ends with s.rec.OpDone.
	op(ctx context.Context, e *env, s *session, rng *rand.Rand)
	// verify runs the scenario's own end-of-run checks.
	verify(ctx context.Context, e *env) ([]Check, *FlashResult, error)
}

func newScenario(name string) scenario {
	switch name {
	case "browse":
		return &browse{}
	case "checkout":
		return &checkoutScenario{}
	case "flash-sale":
		return &flashSale{}
	}
	return &mixed{browse: &browse{}, checkout: &checkoutScenario{}}
}

// zipf picks hot products far more often than cold ones: a few SKUs take
// most of the traffic, as in a real shop.
func zipf(rng *rand.Rand, n int) int {
	return int(rand.NewZipf(rng, 1.2, 1, uint64(n-1)).Uint64())
}

// mixed is mostly browsing with some buying: 90 % browse, 10 % checkout.
type mixed struct {
	browse   *browse
	checkout *checkoutScenario
}

func (m *mixed) setup(ctx context.Context, e *env) error { return m.checkout.setup(ctx, e) }

func (m *mixed) profile(rate float64, _ time.Duration) Profile { return Constant(rate) }

func (m *mixed) op(ctx context.Context, e *env, s *session, rng *rand.Rand) {
	if rng.IntN(10) == 0 {
		m.checkout.op(ctx, e, s, rng)
		return
	}
	m.browse.op(ctx, e, s, rng)
}

func (m *mixed) verify(ctx context.Context, e *env) ([]Check, *FlashResult, error) {
	return m.checkout.verify(ctx, e)
}

func (m *mixed) counts() (acked, lost int) { return m.checkout.counts() }
