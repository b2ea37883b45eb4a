package loadtest

import (
	"context"
	"math/rand/v2"
	"net/url"
	"time"
)

// browse reads the catalog: 60 % product pages (skewed to a few hot
// products), 25 % listings, 15 % searches.
type browse struct{}

func (b *browse) setup(ctx context.Context, e *env) error {
	return e.createProducts(ctx, e.cfg.SKUs, 1_000_000)
}

func (b *browse) profile(rate float64, _ time.Duration) Profile { return Constant(rate) }

func (b *browse) op(ctx context.Context, e *env, s *session, rng *rand.Rand) {
	shop := "/v1/shops/" + e.shop
	var r response
	switch p := rng.IntN(100); {
	case p < 60:
		r = s.do(ctx, "GET", shop+"/products/"+e.skus[zipf(rng, len(e.skus))], "", nil)
	case p < 85:
		r = s.do(ctx, "GET", shop+"/products?limit=20", "", nil)
	default:
		r = s.do(ctx, "GET", shop+"/search?q="+url.QueryEscape(words[zipf(rng, len(words))]), "", nil)
	}
	s.rec.OpDone(time.Now(), !r.failed() && r.code < 400)
}

func (b *browse) verify(context.Context, *env) ([]Check, *FlashResult, error) { return nil, nil, nil }
