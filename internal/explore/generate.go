package explore

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/surge-commerce/surge/internal/checkout"
)

// NewRand returns the random source of a seed: the same seed, the same
// numbers, on every machine and Go release (PCG is specified exactly).
func NewRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x5eed5eed5eed5eed))
}

// weights of the operations in a schedule; admin writes are rarer than
// customers, but every one of them appears in most schedules.
var weights = []struct {
	op Op
	w  int
}{
	{OpCheckout, 30}, {OpRetry, 6}, {OpReuseKey, 3}, {OpCartCheckout, 5}, {OpAbandon, 2}, {OpBot, 4},
	{OpPutProduct, 3}, {OpRestock, 3}, {OpPutSale, 4}, {OpEndSale, 3}, {OpRefund, 3}, {OpFulfil, 3},
	{OpRotateKey, 1}, {OpSetTier, 1}, {OpSetFlag, 1}, {OpProviderDown, 1}, {OpProviderUp, 2},
	{OpWebhook, 6}, {OpReconcile, 6}, {OpExpireReservations, 3}, {OpExpireKeys, 1},
}

// isAdmin reports whether an operation runs in the admin lane (lane 0).
func isAdmin(op Op) bool { return op >= OpPutProduct && op <= OpProviderUp }

// Generate returns the schedule of a seed. It is a pure function of it.
func Generate(seed uint64) Schedule {
	r := NewRand(seed)
	s := Schedule{Seed: seed, Lanes: 4, KeyTTL: time.Hour, Customers: 5 + r.IntN(16)}
	s.ReservationTTL = []time.Duration{30 * time.Second, 2 * time.Minute, 15 * time.Minute}[r.IntN(3)]
	for i := range 1 + r.IntN(3) {
		p := Product{SKU: fmt.Sprintf("S%d", i), Stock: 4 + r.Int64N(37), Price: 1999}
		if r.IntN(2) == 0 {
			p.Limit = 1 + r.Int64N(3)
		}
		if r.IntN(12) == 0 {
			p.Price = 0
		}
		if r.IntN(5) < 2 {
			p.Buckets = []int{1, 2, 4, 16}[r.IntN(4)]
		}
		s.Products = append(s.Products, p)
	}
	total := 0
	for _, w := range weights {
		total += w.w
	}
	n, phaseLen := 30+r.IntN(51), 6+r.IntN(7)
	for len(s.Steps) < n {
		pick, op := r.IntN(total), Op(0)
		for _, w := range weights {
			if pick < w.w {
				op = w.op
				break
			}
			pick -= w.w
		}
		phase := len(s.Steps) / phaseLen
		st := genStep(r, s, op)
		st.Phase = phase
		s.Steps = append(s.Steps, st)
		if st.Fault.Delay > 0 && r.IntN(2) == 0 {
			// A slow charge while the reservation expires and the
			// sweeper runs: the race the reservation TTL must survive.
			lane := 1 + (st.Lane % (s.Lanes - 1))
			s.Steps = append(s.Steps,
				Step{Phase: phase, Lane: lane, Op: OpExpireReservations},
				Step{Phase: phase, Lane: lane, Op: OpReconcile})
		}
	}
	return s
}

func genStep(r *rand.Rand, s Schedule, op Op) Step {
	st := Step{Op: op, Lane: 1 + r.IntN(s.Lanes-1), Customer: r.IntN(s.Customers), Ref: r.IntN(1000)}
	if isAdmin(op) {
		st.Lane = 0
	}
	if r.IntN(4) == 0 {
		st.Advance = time.Duration(1+r.IntN(20)) * time.Second
	}
	sku := s.Products[r.IntN(len(s.Products))].SKU
	switch op {
	case OpCheckout, OpCartCheckout, OpAbandon, OpReuseKey:
		st.Items = genItems(r, s)
		if op != OpAbandon {
			st.Fault = genFault(r)
		}
	case OpRetry:
		st.Fault = genFault(r)
	case OpBot:
		st.Items = []checkout.Item{{SKU: s.Products[0].SKU, Quantity: 1}}
		st.N = 3 + r.IntN(4)
	case OpPutProduct:
		// Stock is relative to what the shop has configured when the step
		// runs: mostly unchanged or more, sometimes less.
		st.SKU, st.Stock, st.Price = sku, r.Int64N(9)-3, []int64{1999, 1999, 2500, 0}[r.IntN(4)]
		st.Limit = []int64{0, 1, 2, 3}[r.IntN(4)]
	case OpRestock:
		st.SKU, st.Stock = sku, 1+r.Int64N(10)
	case OpPutSale:
		st.SKU, st.Stock, st.Limit = sku, r.Int64N(7)-2, []int64{0, 1, 2}[r.IntN(3)]
		st.Buckets = []int{1, 2, 4, 16}[r.IntN(4)]
	case OpEndSale:
		st.SKU = sku
	case OpSetFlag:
		st.Flag = r.IntN(2) == 0
	case OpWebhook:
		st.N = 1 + r.IntN(3)
	}
	return st
}

func genItems(r *rand.Rand, s Schedule) []checkout.Item {
	var items []checkout.Item
	for range 1 + r.IntN(2) {
		q := []int64{1, 1, 1, 1, 2, 2, 3, 5}[r.IntN(8)]
		items = append(items, checkout.Item{SKU: s.Products[r.IntN(len(s.Products))].SKU, Quantity: q})
	}
	return items
}

func genFault(r *rand.Rand) Fault {
	var f Fault
	switch r.IntN(10) {
	case 0:
		f.Charge = FaultError
	case 1:
		f.Charge = FaultLost
	case 2, 3:
		f.Delay = time.Duration(5+r.IntN(56)) * time.Millisecond
		f.RefundFails = r.IntN(2) == 0
	case 4:
		if r.IntN(3) == 0 {
			f.Charge = FaultWrongAmount
		}
	}
	return f
}
