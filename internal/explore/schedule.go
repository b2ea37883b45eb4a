package explore

import (
	"fmt"
	"strings"
	"time"

	"github.com/surge-commerce/surge/internal/checkout"
)

// Op is what a step does.
type Op int

// The operations. Customer operations run in customer lanes; every admin
// write runs in the admin lane, one after another, so the model knows the
// stock the shop configured at any point.
const (
	OpCheckout     Op = iota // a checkout under a new key
	OpRetry                  // the same key and body as an earlier checkout
	OpReuseKey               // an earlier key with another body
	OpCartCheckout           // a cart filled, then checked out
	OpAbandon                // a cart filled and left
	OpBot                    // a burst of parallel checkouts by one customer
	OpPutProduct
	OpRestock
	OpPutSale
	OpEndSale
	OpRefund
	OpFulfil
	OpRotateKey
	OpSetTier
	OpSetFlag
	OpProviderDown // every provider call fails until OpProviderUp
	OpProviderUp
	OpWebhook   // a provider event delivered (again), in any order
	OpReconcile // one reconciler round, as the sweeper runs it
	OpExpireReservations
	OpExpireKeys
)

var opNames = [...]string{"checkout", "retry", "reuse-key", "cart-checkout", "abandon", "bot",
	"put-product", "restock", "put-sale", "end-sale", "refund", "fulfil", "rotate-key", "set-tier",
	"set-flag", "provider-down", "provider-up", "webhook", "reconcile", "expire-reservations", "expire-keys"}

func (o Op) String() string { return opNames[o] }

// ChargeFault is what the provider does to one checkout's charge.
type ChargeFault int

// The charge faults.
const (
	FaultNone        ChargeFault = iota
	FaultError                   // refused before the provider acts
	FaultLost                    // the provider acts, the answer is lost
	FaultWrongAmount             // the provider captures one unit too much
)

var faultNames = [...]string{"", "error", "lost", "wrong-amount"}

// Fault is the provider's behaviour for one checkout step.
type Fault struct {
	Charge ChargeFault
	// Delay holds the charge this long (real time) before the provider
	// acts, so that other lanes' steps run meanwhile.
	Delay time.Duration
	// RefundFails makes a refund asked for within this checkout fail.
	RefundFails bool
}

func (f Fault) String() string {
	var parts []string
	if f.Charge != FaultNone {
		parts = append(parts, faultNames[f.Charge])
	}
	if f.Delay > 0 {
		parts = append(parts, "delay="+f.Delay.String())
	}
	if f.RefundFails {
		parts = append(parts, "refund-fails")
	}
	return strings.Join(parts, "+")
}

// Step is one thing an actor attempts.
type Step struct {
	Phase, Lane int
	Op          Op
	Customer    int
	Items       []checkout.Item
	// Ref picks an earlier thing (an attempt, an order, a provider event)
	// modulo how many there are when the step runs.
	Ref int
	// SKU, Stock, Limit, Price, Buckets parametrise admin writes. Stock is
	// relative to the stock configured when the step runs for a product or
	// sale PUT, and the units of a restock. N is the size of a burst or the
	// number of deliveries of a webhook.
	SKU                 string
	Stock, Limit, Price int64
	Buckets, N          int
	Flag                bool
	Fault               Fault
	Advance             time.Duration // the clock moves this much before the step
}

func (s Step) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "p%d L%d %s", s.Phase, s.Lane, s.Op)
	if s.Op <= OpBot && s.Op != OpRetry && s.Op != OpReuseKey {
		fmt.Fprintf(&b, " c%d", s.Customer)
	}
	for _, it := range s.Items {
		fmt.Fprintf(&b, " %s×%d", it.SKU, it.Quantity)
	}
	switch s.Op {
	case OpRetry, OpReuseKey, OpRefund, OpFulfil, OpWebhook:
		fmt.Fprintf(&b, " ref=%d", s.Ref)
	case OpPutProduct:
		fmt.Fprintf(&b, " %s stock=cur%+d limit=%d price=%d", s.SKU, s.Stock, s.Limit, s.Price)
	case OpRestock:
		fmt.Fprintf(&b, " %s +%d", s.SKU, s.Stock)
	case OpPutSale:
		fmt.Fprintf(&b, " %s stock=cur%+d limit=%d buckets=%d", s.SKU, s.Stock, s.Limit, s.Buckets)
	case OpEndSale:
		fmt.Fprintf(&b, " %s", s.SKU)
	case OpSetFlag:
		fmt.Fprintf(&b, " on=%v", s.Flag)
	}
	if s.Op == OpBot || s.Op == OpWebhook {
		fmt.Fprintf(&b, " n=%d", s.N)
	}
	if f := s.Fault.String(); f != "" {
		fmt.Fprintf(&b, " fault=%s", f)
	}
	if s.Advance > 0 {
		fmt.Fprintf(&b, " +%s", s.Advance)
	}
	return b.String()
}

// Product is a SKU as the shop starts it.
type Product struct {
	SKU          string
	Stock, Limit int64
	Price        int64
	// Buckets > 0 puts the SKU on flash sale from the start.
	Buckets int
}

// Schedule is everything a seed decides.
type Schedule struct {
	Seed           uint64
	Products       []Product
	Customers      int
	Lanes          int
	ReservationTTL time.Duration
	KeyTTL         time.Duration
	Steps          []Step
}

// String renders the schedule compactly, one step per line.
func (s Schedule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: %d customers, %d lanes, reservation TTL %s, key TTL %s\n",
		s.Seed, s.Customers, s.Lanes, s.ReservationTTL, s.KeyTTL)
	for _, p := range s.Products {
		fmt.Fprintf(&b, "  product %s stock=%d limit=%d price=%d buckets=%d\n", p.SKU, p.Stock, p.Limit, p.Price, p.Buckets)
	}
	for i, st := range s.Steps {
		fmt.Fprintf(&b, "  %3d %s\n", i, st)
	}
	return b.String()
}

// phases returns the number of phases.
func (s Schedule) phases() int {
	if len(s.Steps) == 0 {
		return 0
	}
	return s.Steps[len(s.Steps)-1].Phase + 1
}
