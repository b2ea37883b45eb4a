package e2e

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Op is what a step attempts.
type Op string

// The operations of a schedule, by actor.
const (
	// Customers.
	OpSignup    Op = "signup"     // POST /customers
	OpCheckout  Op = "checkout"   // checkout with a new key
	OpRetry     Op = "retry"      // the same key and body again
	OpLateRetry Op = "late-retry" // the same key and body after the key's time-to-live
	OpMismatch  Op = "mismatch"   // the same key with another body: 422
	OpCart      Op = "cart"       // cart, lines, checkout by cart id
	OpAbandon   Op = "abandon"    // cart and lines, never checked out
	// Bots.
	OpBotBuy Op = "bot-buy" // a fresh customer buys the hot SKU at once
	OpJunk   Op = "junk"    // a malformed checkout: 4xx, nothing changes
	// Admin writes.
	OpProduct Op = "product-put"
	OpRestock Op = "restock"
	OpSalePut Op = "sale-put"
	OpSaleDel Op = "sale-delete"
	OpRefund  Op = "refund"
	OpFulfil  Op = "fulfil"
	OpRotate  Op = "key-rotate"
	OpTier    Op = "tier"
	OpFlag    Op = "flag"
	// Provider and process.
	OpFaults Op = "psp-faults"
	OpKill   Op = "kill" // SIGKILL surge serve, then restart it on the same data
	// OpWaitTTL holds the run open, faults still on, until reservations
	// made before it have expired.
	OpWaitTTL Op = "wait-ttl"
)

// Line is one SKU and quantity of a checkout or cart.
type Line struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// Faults are the provider's fault knobs (the JSON of PUT /v1/faults).
type Faults struct {
	LatencyMS        int     `json:"latency_ms"`
	LatencyJitterMS  int     `json:"latency_jitter_ms"`
	ErrorRate        float64 `json:"error_rate"`
	TimeoutRate      float64 `json:"timeout_rate"`
	DeclineRate      float64 `json:"decline_rate"`
	DropResponseRate float64 `json:"drop_response_rate"`
}

// Step is one timed attempt of one actor. Fields an operation does not use
// stay zero.
type Step struct {
	At     time.Duration
	Actor  string
	Op     Op
	Key    string // Idempotency-Key
	Lines  []Line
	SKU    string
	N      int64 // stock, restock quantity, grace seconds, or a pick among acknowledged orders
	Limit  int64 // per-customer limit of a sale
	Name   string
	On     bool
	Faults Faults
}

// String renders the step on one line.
func (s Step) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "+%5dms %-11s %s", s.At.Milliseconds(), s.Actor, s.Op)
	if s.Key != "" {
		fmt.Fprintf(&b, " key=%s", s.Key)
	}
	for _, l := range s.Lines {
		fmt.Fprintf(&b, " %s×%d", l.SKU, l.Quantity)
	}
	switch s.Op {
	case OpProduct, OpRestock, OpSalePut:
		fmt.Fprintf(&b, " sku=%s n=%d", s.SKU, s.N)
	case OpRefund, OpFulfil:
		fmt.Fprintf(&b, " pick=%d", s.N)
	case OpRotate:
		fmt.Fprintf(&b, " grace=%ds", s.N)
	case OpTier:
		fmt.Fprintf(&b, " %s", s.Name)
	case OpFlag:
		fmt.Fprintf(&b, " %s=%t", s.Name, s.On)
	case OpFaults:
		fmt.Fprintf(&b, " %+v", s.Faults)
	}
	if s.Op == OpSalePut {
		fmt.Fprintf(&b, " limit=%d", s.Limit)
	}
	return b.String()
}

// Product is a product as the shop first configures it.
type Product struct {
	SKU   string
	Price int64
	Stock int64
}

// Schedule is everything a seed decides.
type Schedule struct {
	Seed     uint64
	Products []Product
	// SaleLimit, when positive, puts the hot SKU on sale with this
	// per-customer limit before the actors start.
	SaleLimit int64
	// HookDup and HookLate are the shares of webhooks delivered twice and
	// delivered late (overtaken by later ones, or lost to a kill).
	HookDup, HookLate float64
	Steps             []Step
}

// String renders the set-up and then every step in time order.
func (s Schedule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: products %v, initial sale limit %d, webhooks duplicated %.1f, late %.1f\n",
		s.Seed, s.Products, s.SaleLimit, s.HookDup, s.HookLate)
	for _, st := range s.Steps {
		b.WriteString(st.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// hotSKU is the SKU sales and bots aim at.
const hotSKU = "HOT"

// span is how long the actors' steps are spread over.
const span = 5 * time.Second

// Generate returns the schedule of seed. It is a pure function of seed.
func Generate(seed uint64) Schedule {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	g := &gen{r: r, seed: seed}
	s := Schedule{Seed: seed, Products: []Product{
		{SKU: hotSKU, Price: g.between(500, 3000), Stock: g.between(4, 12)},
		{SKU: "TEE", Price: g.between(500, 3000), Stock: g.between(10, 30)},
		{SKU: "MUG", Price: g.between(500, 3000), Stock: g.between(10, 30)},
	}}
	if r.IntN(2) == 0 {
		s.SaleLimit = g.between(1, 3)
	}
	for i := range int(g.between(3, 5)) {
		s.Steps = append(s.Steps, g.customer(fmt.Sprintf("customer-%d", i))...)
	}
	s.Steps = append(s.Steps, g.bot()...)
	s.Steps = append(s.Steps, g.admin()...)
	s.Steps = append(s.Steps, g.provider()...)
	s.HookDup, s.HookLate = float64(r.IntN(4))/10, float64(r.IntN(4))/10
	if r.IntN(10) < 6 {
		s.Steps = append(s.Steps, Step{At: g.at(1500*time.Millisecond, 4500*time.Millisecond), Actor: "chaos", Op: OpKill})
	}
	if r.IntN(2) == 0 {
		s.Steps = append(s.Steps, Step{At: g.at(4*time.Second, span), Actor: "clock", Op: OpWaitTTL})
	}
	slices.SortStableFunc(s.Steps, func(a, b Step) int { return int(a.At - b.At) })
	return s
}

// gen draws a schedule's parts from one random source, in a fixed order.
type gen struct {
	r    *rand.Rand
	seed uint64
	keys int
}

func (g *gen) between(lo, hi int64) int64 { return lo + g.r.Int64N(hi-lo+1) }

func (g *gen) at(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(g.r.Int64N(int64(hi-lo)))
}

func (g *gen) key() string {
	g.keys++
	return fmt.Sprintf("s%d-k%d", g.seed, g.keys)
}

func (g *gen) lines() []Line {
	skus := []string{hotSKU, "TEE", "MUG"}
	n := 1 + g.r.IntN(2)
	var out []Line
	for _, i := range g.r.Perm(len(skus))[:n] {
		out = append(out, Line{SKU: skus[i], Quantity: g.between(1, 3)})
	}
	return out
}

// times returns n increasing offsets within [lo, span).
func (g *gen) times(n int, lo time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = g.at(lo, span)
	}
	slices.Sort(out)
	return out
}

func (g *gen) customer(actor string) []Step {
	steps := []Step{{At: g.at(0, 300*time.Millisecond), Actor: actor, Op: OpSignup}}
	var keys []Step // earlier checkouts of this customer, to retry
	for _, at := range g.times(int(g.between(3, 6)), 400*time.Millisecond) {
		st := Step{At: at, Actor: actor}
		roll := g.r.IntN(100)
		switch {
		case roll < 15 && len(keys) > 0:
			prev := keys[g.r.IntN(len(keys))]
			st.Op, st.Key, st.Lines = OpRetry, prev.Key, prev.Lines
		case roll < 25 && len(keys) > 0:
			prev := keys[g.r.IntN(len(keys))]
			st.Op, st.Key, st.Lines = OpMismatch, prev.Key, g.lines()
		case roll < 32 && len(keys) > 0:
			prev := keys[g.r.IntN(len(keys))]
			st.Op, st.Key, st.Lines = OpLateRetry, prev.Key, prev.Lines
		case roll < 55:
			st.Op, st.Key, st.Lines = OpCart, g.key(), g.lines()
			keys = append(keys, st)
		case roll < 65:
			st.Op, st.Lines = OpAbandon, g.lines()
		default:
			st.Op, st.Key, st.Lines = OpCheckout, g.key(), g.lines()
			keys = append(keys, st)
		}
		steps = append(steps, st)
	}
	return steps
}

func (g *gen) bot() []Step {
	var steps []Step
	for _, at := range g.times(int(g.between(4, 10)), 200*time.Millisecond) {
		st := Step{At: at, Actor: "bot"}
		if g.r.IntN(10) < 7 {
			st.Op, st.Key, st.Lines = OpBotBuy, g.key(), []Line{{SKU: hotSKU, Quantity: g.between(1, 3)}}
		} else {
			st.Op, st.Key = OpJunk, g.key()
		}
		steps = append(steps, st)
	}
	return steps
}

func (g *gen) admin() []Step {
	skus := []string{hotSKU, "TEE", "MUG"}
	var steps []Step
	for _, at := range g.times(int(g.between(4, 8)), 300*time.Millisecond) {
		st := Step{At: at, Actor: "admin"}
		switch g.r.IntN(10) {
		case 0:
			st.Op, st.SKU, st.N = OpProduct, skus[g.r.IntN(3)], g.between(5, 30)
		case 1:
			st.Op, st.SKU, st.N = OpRestock, skus[g.r.IntN(3)], g.between(1, 5)
		case 2:
			st.Op, st.SKU, st.N, st.Limit = OpSalePut, hotSKU, g.between(3, 12), g.between(1, 3)
		case 3:
			st.Op = OpSaleDel
		case 4:
			st.Op, st.N = OpRefund, g.between(0, 99)
		case 5:
			st.Op, st.N = OpFulfil, g.between(0, 99)
		case 6:
			st.Op, st.N = OpRotate, g.between(0, 3)
		case 7:
			st.Op, st.Name = OpTier, []string{"free", "standard", "enterprise"}[g.r.IntN(3)]
		default:
			st.Op, st.Name, st.On = OpFlag, []string{"search", "recommendations"}[g.r.IntN(2)], g.r.IntN(2) == 0
		}
		steps = append(steps, st)
	}
	return steps
}

// provider toggles faults; latency goes beyond the charge budget so that
// checkouts end pending and the sweeper must finish them.
func (g *gen) provider() []Step {
	var steps []Step
	for _, at := range g.times(int(g.between(1, 3)), 0) {
		var f Faults
		if g.r.IntN(3) == 0 {
			f.LatencyMS, f.LatencyJitterMS = int(g.between(1000, 2500)), 500
		}
		rate := func() float64 {
			if g.r.IntN(3) == 0 {
				return float64(g.between(1, 4)) / 10
			}
			return 0
		}
		f.ErrorRate, f.TimeoutRate, f.DeclineRate, f.DropResponseRate = rate(), rate(), rate(), rate()
		if g.r.IntN(4) == 0 {
			// A storm: the provider mostly fails, and what it does is
			// mostly not heard of, so lookups cannot finish orders either.
			f.ErrorRate, f.DropResponseRate = 0.9, 0.5
		}
		steps = append(steps, Step{At: at, Actor: "psp", Op: OpFaults, Faults: f})
	}
	return steps
}
