// Package flashsale puts a product into flash-sale mode: a fixed stock, a
// start time and a per-customer limit, with the stock spread over buckets
// so that checkout throughput on one hot SKU stays close to that on many
// cold ones (docs/adr/0008-hot-sku-stock).
//
// It must never import a driver or a transport.
package flashsale

import (
	"context"
	"strconv"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/precondition"
)

// Sale is a flash sale of one SKU.
type Sale struct {
	SKU      string    `json:"sku"`
	Stock    int64     `json:"stock"`
	StartsAt time.Time `json:"starts_at"`
	// PerCustomerLimit caps the units one customer may buy (0: no cap).
	PerCustomerLimit int64 `json:"per_customer_limit"`
	// Buckets is how many rows the stock is spread over.
	Buckets int `json:"buckets"`
	// AdmissionRate is how many waiting buyers are admitted per second;
	// 0 means no waiting room (anyone may check out once the sale starts).
	AdmissionRate int64 `json:"admission_rate"`
	// AdmissionBurst is how many are admitted the moment the sale opens.
	AdmissionBurst int64 `json:"admission_burst"`
	// SoldOutAt is when the last unit went (zero while any is left). It is
	// set once per configuration, with the sale.sold_out event; units a
	// cancelled order gives back later are sold again without a new event.
	SoldOutAt time.Time `json:"sold_out_at,omitzero"`
	// UnitsLeft and QueueLength are the sale's live figures, for its shop
	// only (the admin GET): units still for sale and buyers who joined
	// the waiting room. They are not on the public /metrics port.
	UnitsLeft   *int64 `json:"units_left,omitempty"`
	QueueLength *int64 `json:"queue_length,omitempty"`
	// PowDifficulty is the proof of work a buyer must show to join the
	// waiting room: leading zero bits of a SHA-256 (0: none; see pow.go).
	PowDifficulty int `json:"pow_difficulty"`
	// QueueShuffled reports that the pre-queue was shuffled at the start.
	QueueShuffled bool `json:"-"`
	// Version moves on with each (re)configuration; the sale's ETag is
	// "v<version>" (package precondition).
	Version int64 `json:"version"`
	// Epoch names this sale among the sales of its SKU: it is set when the
	// sale is created (not when it is reconfigured), and waiting-room
	// tickets carry it, so a ticket of an ended sale admits nobody to the
	// next one.
	Epoch int64 `json:"-"`
}

// Limits on a sale.
const (
	DefaultBuckets = 16
	MaxBuckets     = 256
)

// Store is what flash sales need from persistence.
type Store interface {
	// StartSaleIf (re)configures the sale and spreads the stock not yet
	// reserved or sold evenly over the buckets, in one transaction.
	// The condition is checked inside that transaction. Errors: not_found,
	// conflict (stock below what is already committed),
	// precondition_failed.
	StartSaleIf(ctx context.Context, shopID int64, s Sale, now time.Time, cond precondition.Condition) error
	// EndSaleIf folds the buckets' available stock back into the SKU's
	// main row. Errors: not_found, precondition_failed.
	EndSaleIf(ctx context.Context, shopID int64, sku string, cond precondition.Condition) error
	// Sale returns the sale of a SKU. Errors: not_found.
	Sale(ctx context.Context, shopID int64, sku string) (Sale, error)
	// SaleFigures returns what a sale looks like right now: units left
	// for sale and buyers in its waiting room.
	SaleFigures(ctx context.Context, shopID int64, sku string) (unitsLeft, queue int64, err error)
}

// Service manages flash sales and their waiting rooms.
type Service struct {
	store  Store
	queue  QueueStore
	secret []byte // signs queue tickets
	now    func() time.Time
	sales  *otter.Cache[string, *Sale]
}

// NewService returns a Service signing queue tickets with secret.
func NewService(store Store, queue QueueStore, secret []byte, now func() time.Time) *Service {
	return &Service{store: store, queue: queue, secret: secret, now: now,
		sales: otter.Must(&otter.Options[string, *Sale]{
			MaximumSize:      10_000,
			ExpiryCalculator: otter.ExpiryWriting[string, *Sale](time.Second),
		})}
}

// cachedSale returns a SKU's sale or nil, cached for a second: checkout
// asks for every line, and sales change rarely.
func (s *Service) cachedSale(ctx context.Context, shopID int64, sku string) (*Sale, error) {
	key := strconv.FormatInt(shopID, 10) + "/" + sku
	return s.sales.Get(ctx, key, otter.LoaderFunc[string, *Sale](func(ctx context.Context, _ string) (*Sale, error) {
		sale, err := s.store.Sale(ctx, shopID, sku)
		if errcode.Is(err, errcode.NotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return &sale, nil
	}))
}

// Start puts a SKU on flash sale. Errors: invalid, not_found, conflict.
func (s *Service) Start(ctx context.Context, shopID int64, sale Sale) (Sale, error) {
	return s.StartIf(ctx, shopID, sale, precondition.Condition{})
}

// StartIf is Start when the sale is as cond expects (If-Match,
// If-None-Match). Errors: as Start, and precondition_failed.
func (s *Service) StartIf(ctx context.Context, shopID int64, sale Sale, cond precondition.Condition) (Sale, error) {
	if sale.Buckets == 0 {
		sale.Buckets = DefaultBuckets
	}
	if sale.StartsAt.IsZero() {
		sale.StartsAt = s.now()
	}
	var v errcode.Validation
	if !catalog.ValidSKU(sale.SKU) {
		v.Add("sku", "must match [A-Za-z0-9._-]{1,64}")
	}
	if sale.Stock < 0 || sale.Stock > catalog.MaxStock {
		v.Add("stock", "must be between 0 and 10^9")
	}
	if sale.PerCustomerLimit < 0 || sale.PerCustomerLimit > catalog.MaxPurchaseCap {
		v.Add("per_customer_limit", "must be between 0 (no limit) and 10^6")
	}
	if sale.Buckets < 1 || sale.Buckets > MaxBuckets {
		v.Add("buckets", "must be between 1 and 256")
	}
	if sale.AdmissionRate < 0 || sale.AdmissionRate > 1_000_000 {
		v.Add("admission_rate", "must be between 0 (no waiting room) and 10^6 per second")
	}
	if sale.AdmissionBurst < 0 || sale.AdmissionBurst > 1_000_000 {
		v.Add("admission_burst", "must be between 0 and 10^6")
	}
	if sale.PowDifficulty < 0 || sale.PowDifficulty > MaxPowDifficulty {
		v.Add("pow_difficulty", "must be between 0 (none) and 28 leading zero bits")
	}
	if sale.PowDifficulty > 0 && sale.AdmissionRate == 0 {
		v.Add("pow_difficulty", "needs a waiting room (admission_rate above 0): the proof is asked on joining it")
	}
	if err := v.Err(); err != nil {
		return Sale{}, err
	}
	if err := s.store.StartSaleIf(ctx, shopID, sale, s.now(), cond); err != nil {
		return Sale{}, err
	}
	s.sales.Invalidate(strconv.FormatInt(shopID, 10) + "/" + sale.SKU)
	return s.store.Sale(ctx, shopID, sale.SKU)
}

// End ends a SKU's flash sale. Errors: not_found.
func (s *Service) End(ctx context.Context, shopID int64, sku string) error {
	return s.EndIf(ctx, shopID, sku, precondition.Condition{})
}

// EndIf is End when the sale is as cond expects. Errors: not_found,
// precondition_failed.
func (s *Service) EndIf(ctx context.Context, shopID int64, sku string, cond precondition.Condition) error {
	defer s.sales.Invalidate(strconv.FormatInt(shopID, 10) + "/" + sku)
	return s.store.EndSaleIf(ctx, shopID, sku, cond)
}

// Get returns a SKU's sale. Errors: not_found.
func (s *Service) Get(ctx context.Context, shopID int64, sku string) (Sale, error) {
	sale, err := s.store.Sale(ctx, shopID, sku)
	if err != nil {
		return sale, err
	}
	left, queue, err := s.store.SaleFigures(ctx, shopID, sku)
	sale.UnitsLeft, sale.QueueLength = &left, &queue
	return sale, err
}
