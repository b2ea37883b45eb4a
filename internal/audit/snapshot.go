package audit

import "time"

// SnapshotQuery says what the snapshot is judged against.
type SnapshotQuery struct {
	Cutoff             time.Time
	HoldsExpiredBefore time.Time     // held reservations that expired before this are breaches
	KeyTTL             time.Duration // two orders under one key closer than this are breaches
}

// Snapshot is everything the store-side checks judge, read at one instant.
type Snapshot struct {
	Stock         []StockRow
	ExpiredHolds  int64
	Orders        []Order
	Purchases     []Purchases
	Responses     []StoredResponse
	DuplicateKeys []DuplicateKey
	Shops         []ShopEffects
	Sales         []SaleBuckets
	Refunds       []Refund
}

// Refund is money Surge decided to give back: a capture it must not keep.
type Refund struct {
	PaymentRef, OrderID string
	CreatedAt           time.Time
	Confirmed           bool // the provider confirmed it refunded or voided
}

// StockRow is one SKU's counters (main row plus flash-sale buckets), what
// its reservations add up to, and what its stock ledger adds up to.
type StockRow struct {
	ShopID                              int64
	SKU                                 string
	Received, Available, Reserved, Sold int64
	HeldReservations, SoldReservations  int64
	Ledger                              int64
}

// Order is one order with what hangs off it.
type Order struct {
	ShopID                           int64
	ID, CustomerID, Status, Currency string
	Total                            int64
	Lines, Units, LinesTotal         int64
	ReservedLines                    int64 // lines with a reservation of their SKU and quantity
	Held, Sold, Released             int64 // reservations by state
	Invoices, Confirmations          int64
	CreatedAt, UpdatedAt             time.Time
}

// Paid reports whether the order was paid (and stays paid for stock,
// purchase counts and analytics, whatever came after).
func (o Order) Paid() bool {
	return o.Status == "paid" || o.Status == "fulfilled" || o.Status == "refunded"
}

// Purchases are one customer's (or one payment instrument's, as CustomerID
// "instrument:<fingerprint>") units of one SKU: counted against the
// limit, on live (not cancelled) orders, and the product's limit now.
type Purchases struct {
	ShopID          int64
	CustomerID, SKU string
	Counted         int64 // -1: no count kept
	Live, Limit     int64
	// LimitSeen is the most permissive limit a counted purchase was made
	// under; -1 when one was made with no limit in force.
	LimitSeen int64
}

// StoredResponse is a response kept under an Idempotency-Key, with the
// order it names.
type StoredResponse struct {
	ShopID                   int64
	CustomerID, Key, OrderID string
	Status                   int
	Body                     []byte
	OrderFound               bool
	OrderStatus              string
	OrderTotal               int64
}

// DuplicateKey is two orders under one key within the key's TTL.
type DuplicateKey struct {
	ShopID                         int64
	CustomerID, Key, First, Second string
}

// ShopEffects are a shop's invoice numbers and analytics total.
type ShopEffects struct {
	ShopID                           int64
	Invoices, MinInvoice, MaxInvoice int64
	AnalyticsUnits                   int64
}

// SaleBuckets is a SKU with flash-sale buckets and its sale, if any.
type SaleBuckets struct {
	ShopID int64
	SKU    string
	OnSale bool
	// Buckets is the sale's bucket count; Present how many of buckets
	// 0..Buckets-1 exist.
	Buckets, Present int64
	// Stranded is stock for sale in buckets checkout never tries: numbered
	// past the sale's, or of a SKU no longer on sale.
	Stranded int64
}
