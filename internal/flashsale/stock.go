package flashsale

import (
	"math/rand/v2"

	"github.com/surge-commerce/surge/internal/errcode"
)

// Stock is what a SKU holds when its sale is (re)configured, as the store
// read it under the locks of the sale's start (docs/adr/0018).
type Stock struct {
	// Received is the SKU's total received, main row and buckets.
	Received int64
	// Committed is what is reserved or sold, main row and buckets.
	Committed int64
	// Buckets is how many bucket rows the SKU has already.
	Buckets int
}

// Allocation is what a sale's start writes: the stock change the ledger
// records and the units for sale in each bucket. The main row keeps only
// what it has committed.
type Allocation struct {
	// Delta is the change of the SKU's total received (docs/INVARIANTS.md,
	// I10): the sale's stock replaces it.
	Delta int64
	// Shares are the units for sale in each bucket, as even as they can
	// be. A bucket beyond the sale's count (left by an earlier
	// configuration with more) gets 0.
	Shares []int64
	// SoldOut is true when nothing is left to sell from the start.
	SoldOut bool
}

// Allocate spreads the sale's stock that is not yet committed over its
// buckets. A sale cannot have less stock than is already reserved or
// sold: those units belong to orders. The store calls it inside the
// start's transaction with the stock that transaction locked.
func (s Sale) Allocate(st Stock) (Allocation, error) {
	if s.Stock < st.Committed {
		return Allocation{}, errcode.Typed(errcode.Conflict, "stock_below_committed",
			"stock %d is less than the %d units of %s already reserved or sold", s.Stock, st.Committed, s.SKU)
	}
	free := s.Stock - st.Committed
	a := Allocation{Delta: s.Stock - st.Received, Shares: make([]int64, max(s.Buckets, st.Buckets)), SoldOut: free == 0}
	for i := range s.Buckets {
		a.Shares[i] = free / int64(s.Buckets)
		if int64(i) < free%int64(s.Buckets) {
			a.Shares[i]++
		}
	}
	return a, nil
}

// FirstBucket is where a buyer starts looking for a unit: a random
// bucket, so that concurrent buyers mostly lock different rows (ADR
// 0008). From there the buckets are tried in turn, (first+i) % buckets.
func FirstBucket(buckets int) int { return rand.IntN(buckets) }

// Gather decides how to bring together a quantity that no single row
// holds: units move from the buckets, in ascending order, into the main
// row, until it holds the quantity. available is each bucket's units for
// sale, by bucket number; main is the main row's. It returns the units
// taken from each bucket, and false when the SKU does not have the
// quantity at all.
func Gather(main int64, available []int64, quantity int64) ([]int64, bool) {
	total := main
	for _, a := range available {
		total += a
	}
	if total < quantity {
		return nil, false
	}
	take := make([]int64, len(available))
	need := quantity - main
	for b, a := range available {
		if need <= 0 {
			break
		}
		take[b] = min(a, need)
		need -= take[b]
	}
	return take, true
}
