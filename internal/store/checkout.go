package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/flashsale"
	"github.com/surge-commerce/surge/internal/order"
	"github.com/surge-commerce/surge/internal/tracing/tracectx"
)

var _ checkout.Store = (*Store)(nil)

// PlaceOrder implements checkout.Store. It costs three round trips on
// PostgreSQL: claiming the key with reading the products, every write, and
// the commit (ADR 0016).
func (s *Store) PlaceOrder(ctx context.Context, p checkout.Placement, respond func(order.Order) checkout.Response) (order.Order, *checkout.Response, error) {
	var o order.Order
	var replay *checkout.Response
	if p.Token.Hash != "" && s.dialect.oneWriter {
		// One writer: read before taking it, not under it.
		revoked, err := s.TokenRevoked(ctx, p.ShopID, p.CustomerID, p.Token.Hash, p.Token.Expires)
		if err != nil {
			return order.Order{}, nil, err
		}
		if revoked {
			return order.Order{}, nil, errTokenRevoked
		}
	}
	err := s.pipelined(ctx, func(ctx context.Context, t *pipeTx) error {
		var claimed int64
		t.exec(&claimed, claimKeyQuery, claimKeyArgs(p)...)
		// With many writers the token's revocation rides in this batch.
		var tok tokenRevocation
		tokFound := true
		checkToken := p.Token.Hash != "" && !s.dialect.oneWriter
		if checkToken {
			t.queryRow(&tokFound, tokenRevokedQuery, tokenArgs(p.ShopID, p.CustomerID, p.Token.Hash), &tok.until, &tok.signedOut)
		}
		products := make([]product, len(p.Items))
		for i, it := range p.Items {
			pr := &products[i]
			t.queryRow(&pr.found, `SELECT p.title, p.price, p.currency, p.purchase_limit, f.starts_at, f.buckets
				FROM products p LEFT JOIN flash_sales f ON f.shop_id = p.shop_id AND f.sku = p.sku
				WHERE p.shop_id = ? AND p.sku = ? AND p.deleted_at IS NULL`, []any{p.ShopID, it.SKU},
				&pr.title, &pr.price, &pr.currency, &pr.limit, &pr.saleStart, &pr.buckets)
		}
		if err := t.flush(ctx); err != nil {
			return err
		}
		if checkToken && (!tokFound || tok.revoked(p.Token.Expires)) {
			return errTokenRevoked
		}
		if claimed == 0 {
			db, err := t.db(ctx)
			if err != nil {
				return err
			}
			if replay, err = s.reclaimKey(ctx, db, p); err != nil || replay != nil {
				return err
			}
		}
		priced := make([]checkout.Product, len(products))
		for i, pr := range products {
			priced[i] = pr.forPricing()
		}
		var err error
		if o, err = checkout.Price(p, priced); err != nil {
			return err
		}
		return s.writeOrder(ctx, t, p, o, products, respond(o))
	})
	if err != nil {
		return order.Order{}, nil, err
	}
	if replay == nil {
		s.wakeRelay()
	}
	return o, replay, nil
}

// instrumentKey is how a payment instrument's purchases are counted in
// purchase_counts, beside the customers'.
func instrumentKey(fingerprint string) string { return "instrument:" + fingerprint }

// errTokenRevoked refuses a placement whose customer token was signed
// out or revoked (or whose customer is gone).
var errTokenRevoked = errcode.Typed(errcode.Unauthorized, "token_revoked", "the customer token was signed out or revoked")

// product is what checkout reads of one item's product.
type product struct {
	found              bool
	title, currency    string
	price, limit       int64
	saleStart, buckets sql.NullInt64 // set when the SKU is on flash sale
}

func (pr product) forPricing() checkout.Product {
	c := checkout.Product{Found: pr.found, Title: pr.title, Currency: pr.currency, Price: pr.price, Limit: pr.limit}
	if pr.saleStart.Valid {
		c.SaleStart = fromMicros(pr.saleStart.Int64)
	}
	return c
}

// writeOrder queues every write of a placed order and checks their
// outcomes after one flush: purchase limits first, then stock.
//
// A purchase count is an upsert that refuses to pass the limit; its row
// lock serialises one customer's concurrent checkouts, so parallel
// requests cannot both pass. Stock comes last, right before the commit:
// its row is the one every buyer of the SKU needs, and its lock is held
// until the commit (ADR 0015). A SKU on flash sale that is the order's
// last item tries its first bucket within the batch (trySale). Otherwise,
// from the first SKU on flash sale on, stock is reserved bucket by bucket,
// one round trip each, in SKU order like the rest.
func (s *Store) writeOrder(ctx context.Context, t *pipeTx, p checkout.Placement, o order.Order, products []product, r checkout.Response) error {
	counted := make([]int64, len(p.Items))
	byInstrument := make([]int64, len(p.Items))
	for i, it := range p.Items {
		if limit := products[i].limit; limit > 0 {
			t.exec(&counted[i], countLimitedQuery, p.ShopID, p.CustomerID, it.SKU, it.Quantity, limit, limit)
			if p.Instrument != "" {
				// The same limit per payment instrument: many identities
				// paying with one card buy no more than one customer.
				t.exec(&byInstrument[i], countLimitedQuery, p.ShopID, instrumentKey(p.Instrument), it.SKU, it.Quantity, limit, limit)
			}
		} else {
			// Counted without a limit too, so a limit that comes into force
			// later counts what the customer already holds (I11).
			t.exec(nil, countUnlimitedQuery, p.ShopID, p.CustomerID, it.SKU, it.Quantity)
			if p.Instrument != "" {
				t.exec(nil, countUnlimitedQuery, p.ShopID, instrumentKey(p.Instrument), it.SKU, it.Quantity)
			}
		}
		t.exec(nil, `INSERT INTO order_lines (shop_id, order_id, sku, title, unit_price, quantity)
			VALUES (?, ?, ?, ?, ?, ?)`, p.ShopID, p.OrderID, it.SKU, products[i].title, products[i].price, it.Quantity)
	}
	t.exec(nil, `INSERT INTO orders (shop_id, order_id, customer_id, status, currency, total,
			idempotency_key, created_at, updated_at, instrument) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.ShopID, o.ID, o.CustomerID, string(o.Status), o.Currency, o.Total, p.Key, micros(p.Now), micros(p.Now), p.Instrument)
	query, args, err := orderEvent(ctx, o, "order.created", p.Now)
	if err != nil {
		return err
	}
	t.exec(nil, query, args...)
	t.exec(nil, storeResponseQuery, outcomeCode(r.Outcome), string(r.Body), "processing", o.ID)
	reserved := make([]int64, len(p.Items))
	interactive := len(p.Items) // the first item on flash sale, unless last
	var sale *saleTry
	for i, it := range p.Items {
		if buckets := products[i].buckets; buckets.Valid {
			if i < len(p.Items)-1 {
				interactive = i
				break
			}
			sale = s.trySale(t, p, it, int(buckets.Int64))
			break
		}
		t.exec(&reserved[i], reserveMainQuery, it.Quantity, it.Quantity, p.ShopID, it.SKU, it.Quantity)
		t.exec(nil, insertReservationQuery, p.ShopID, p.OrderID, it.SKU, it.Quantity, micros(p.ReservationExpiry), -1)
	}
	db, err := t.db(ctx)
	if err != nil {
		return err
	}
	for i, it := range p.Items {
		if products[i].limit > 0 && counted[i] == 0 {
			return checkout.OverLimit(it.SKU, products[i].limit)
		}
		if products[i].limit > 0 && p.Instrument != "" && byInstrument[i] == 0 {
			return checkout.InstrumentOverLimit(it.SKU, products[i].limit)
		}
	}
	queued := interactive // the items whose main stock row went with the batch
	if sale != nil {
		queued = len(p.Items) - 1
	}
	for i, it := range p.Items[:queued] {
		if reserved[i] == 0 {
			return checkout.OutOfStock(it.SKU)
		}
	}
	if sale != nil {
		return s.finishSale(ctx, db, p, sale)
	}
	for i, it := range p.Items[interactive:] {
		if err := s.reserveLine(ctx, db, p, it, products[interactive+i].buckets); err != nil {
			return err
		}
	}
	return nil
}

// A saleTry is the reservation of an order's last item, on flash sale,
// queued with the order's other writes: one bucket tried and the
// reservation, in the same round trip. Most tries find stock in their
// bucket and leave some there; finishSale handles the others.
type saleTry struct {
	item    checkout.Item
	buckets int
	start   int   // the bucket tried
	took    bool  // it had the units
	left    int64 // what it has left after them
}

func (s *Store) trySale(t *pipeTx, p checkout.Placement, it checkout.Item, buckets int) *saleTry {
	try := &saleTry{item: it, buckets: buckets, start: flashsale.FirstBucket(buckets)}
	t.queryRow(&try.took, reserveBucketQuery+` RETURNING available`,
		[]any{it.Quantity, it.Quantity, p.ShopID, it.SKU, try.start, it.Quantity}, &try.left)
	t.exec(nil, insertReservationQuery, p.ShopID, p.OrderID, it.SKU, it.Quantity, micros(p.ReservationExpiry), try.start)
	return try
}

// finishSale completes a saleTry: when it emptied its bucket it checks
// for a sell-out; when the bucket tried was short, it reserves from the
// next ones, one round trip each, and moves the reservation there.
func (s *Store) finishSale(ctx context.Context, db dbtx, p checkout.Placement, try *saleTry) error {
	it := try.item
	if try.took {
		if try.left == 0 {
			return s.markSoldOut(ctx, db, p.ShopID, it.SKU, try.start, p.Now)
		}
		return nil
	}
	bucket, err := s.reserveStock(ctx, db, p.ShopID, it, try.buckets, try.start, 1)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, s.q(`UPDATE reservations SET bucket = ? WHERE shop_id = ? AND order_id = ? AND sku = ?`),
		bucket, p.ShopID, p.OrderID, it.SKU); err != nil {
		return err
	}
	return s.markSoldOut(ctx, db, p.ShopID, it.SKU, bucket, p.Now)
}

const claimKeyQuery = `INSERT INTO idempotency_keys (shop_id, customer_id, idem_key, fingerprint, order_id, state,
		response_status, response_body, locked_until, created_at, expires_at)
	VALUES (?, ?, ?, ?, ?, 'processing', 0, '', ?, ?, ?)
	ON CONFLICT (shop_id, customer_id, idem_key) DO NOTHING`

func claimKeyArgs(p checkout.Placement) []any {
	return []any{p.ShopID, p.CustomerID, p.Key, p.Fingerprint, p.OrderID, micros(p.LockUntil), micros(p.Now), micros(p.KeyExpiry)}
}

// reclaimKey handles a key that was already there: it returns the stored
// response of an earlier request with the same key and content, refuses
// another request or one still running, and claims an expired key afresh.
func (s *Store) reclaimKey(ctx context.Context, db dbtx, p checkout.Placement) (*checkout.Response, error) {
	var fp, state, body, orderID string
	var status int
	var lockedUntil, expiresAt int64
	err := db.QueryRowContext(ctx, s.q(`SELECT fingerprint, state, response_status, response_body, order_id, locked_until, expires_at
		FROM idempotency_keys WHERE shop_id = ? AND customer_id = ? AND idem_key = ?`+s.forUpdate()),
		p.ShopID, p.CustomerID, p.Key).Scan(&fp, &state, &status, &body, &orderID, &lockedUntil, &expiresAt)
	if err != nil {
		return nil, err
	}
	now := micros(p.Now)
	switch {
	case expiresAt <= now:
		// An expired key is free again: forget it and claim it afresh.
		if _, err := db.ExecContext(ctx, s.q(`DELETE FROM idempotency_keys WHERE shop_id = ? AND customer_id = ? AND idem_key = ?`),
			p.ShopID, p.CustomerID, p.Key); err != nil {
			return nil, err
		}
		_, err := db.ExecContext(ctx, s.q(claimKeyQuery), claimKeyArgs(p)...)
		return nil, err
	case fp != p.Fingerprint:
		return nil, errcode.Typed(errcode.Invalid, "idempotency_key_reused",
			"this Idempotency-Key was used for a different request")
	case state == "processing" && now < lockedUntil:
		return nil, errcode.Typed(errcode.Conflict, "request_in_progress",
			"a request with this Idempotency-Key is still being processed; retry shortly").With("order_id", orderID)
	}
	return &checkout.Response{Outcome: outcomeOf(status), Body: []byte(body), OrderID: orderID}, nil
}

// The purchase counts: an upsert that refuses to pass the limit, or,
// without a limit, one that always counts. limit_seen keeps the most
// permissive limit a counted purchase was made under (-1: none), for the
// audit (migration 00017).
const (
	countLimitedQuery = `INSERT INTO purchase_counts (shop_id, customer_id, sku, units, limit_seen) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (shop_id, customer_id, sku) DO UPDATE SET units = purchase_counts.units + excluded.units,
			limit_seen = CASE WHEN purchase_counts.limit_seen < 0 OR purchase_counts.limit_seen > excluded.limit_seen
				THEN purchase_counts.limit_seen ELSE excluded.limit_seen END
		WHERE purchase_counts.units + excluded.units <= ?`
	countUnlimitedQuery = `INSERT INTO purchase_counts (shop_id, customer_id, sku, units, limit_seen) VALUES (?, ?, ?, ?, -1)
		ON CONFLICT (shop_id, customer_id, sku) DO UPDATE SET units = purchase_counts.units + excluded.units, limit_seen = -1`
)

// reserveLine reserves one item's stock with conditional updates, and
// marks a flash-sale SKU sold out when that took its last unit.
func (s *Store) reserveLine(ctx context.Context, db dbtx, p checkout.Placement, it checkout.Item, sale sql.NullInt64) error {
	start := 0
	if sale.Int64 > 0 {
		start = flashsale.FirstBucket(int(sale.Int64))
	}
	bucket, err := s.reserveStock(ctx, db, p.ShopID, it, int(sale.Int64), start, 0)
	if err != nil {
		return err
	}
	if sale.Valid {
		if err := s.markSoldOut(ctx, db, p.ShopID, it.SKU, bucket, p.Now); err != nil {
			return err
		}
	}
	_, err = db.ExecContext(ctx, s.q(insertReservationQuery), p.ShopID, p.OrderID, it.SKU, it.Quantity, micros(p.ReservationExpiry), bucket)
	return err
}

const (
	reserveMainQuery = `UPDATE inventory SET available = available - ?, reserved = reserved + ?
		WHERE shop_id = ? AND sku = ? AND available >= ?`
	reserveBucketQuery = `UPDATE inventory_buckets SET available = available - ?, reserved = reserved + ?
		WHERE shop_id = ? AND sku = ? AND bucket = ? AND available >= ?`
	insertReservationQuery = `INSERT INTO reservations (shop_id, order_id, sku, quantity, state, expires_at, bucket)
		VALUES (?, ?, ?, ?, 'held', ?, ?)`
	storeResponseQuery = `UPDATE idempotency_keys SET response_status = ?, response_body = ?, state = ?
		WHERE order_id = ?`
)

// reserveStock moves units from available to reserved and returns the
// bucket they came from (-1: the main row). A flash-sale SKU is tried
// bucket by bucket from a random start, so concurrent buyers mostly lock
// different rows, skipping the first skip of them (already tried); the
// main row (restocks during a sale) comes last. When no single row holds
// the quantity, gather brings it together if the SKU has it at all.
func (s *Store) reserveStock(ctx context.Context, db dbtx, shopID int64, it checkout.Item, buckets, start, skip int) (int, error) {
	for i := skip; i < buckets; i++ {
		b := (start + i) % buckets
		res, err := db.ExecContext(ctx, s.q(reserveBucketQuery), it.Quantity, it.Quantity, shopID, it.SKU, b, it.Quantity)
		if err != nil {
			return 0, err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return b, nil
		}
	}
	res, err := db.ExecContext(ctx, s.q(reserveMainQuery), it.Quantity, it.Quantity, shopID, it.SKU, it.Quantity)
	if err != nil {
		return 0, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return -1, nil
	}
	if buckets == 0 {
		return 0, checkout.OutOfStock(it.SKU)
	}
	return -1, s.gather(ctx, db, shopID, it)
}

// gather reserves a quantity of a flash-sale SKU that no single row holds:
// under the locks of the product (so no admin change runs beside it), of
// the buckets and of the main row, in the lock order (flashsale.go) and
// taken without waiting (it may hold buckets it tried), it moves the
// units flashsale.Gather chooses from the buckets into the main row and
// reserves the quantity there. The SKU's total received is unchanged;
// the reservation's row is the main row. Errors: conflict (out_of_stock
// when the SKU does not have the quantity).
func (s *Store) gather(ctx context.Context, db dbtx, shopID int64, it checkout.Item) error {
	var one int
	if err := db.QueryRowContext(ctx, s.q(`SELECT 1 FROM products WHERE shop_id = ? AND sku = ?`+s.forUpdateNoWait()),
		shopID, it.SKU).Scan(&one); err != nil {
		return err
	}
	buckets, err := s.lockBuckets(ctx, db, shopID, it.SKU, s.forUpdateNoWait())
	if err != nil {
		return err
	}
	var have int64
	if err := db.QueryRowContext(ctx, s.q(`SELECT available FROM inventory WHERE shop_id = ? AND sku = ?`+s.forUpdateNoWait()),
		shopID, it.SKU).Scan(&have); err != nil {
		return err
	}
	numbers := slices.Sorted(maps.Keys(buckets))
	available := make([]int64, len(numbers))
	for i, b := range numbers {
		available[i] = buckets[b].available
	}
	take, ok := flashsale.Gather(have, available, it.Quantity)
	if !ok {
		return checkout.OutOfStock(it.SKU)
	}
	moved := int64(0)
	for i, b := range numbers {
		if take[i] == 0 {
			continue
		}
		if _, err := db.ExecContext(ctx, s.q(`UPDATE inventory_buckets SET received = received - ?, available = available - ?
			WHERE shop_id = ? AND sku = ? AND bucket = ?`), take[i], take[i], shopID, it.SKU, b); err != nil {
			return err
		}
		moved += take[i]
	}
	_, err = db.ExecContext(ctx, s.q(`UPDATE inventory SET received = received + ?, available = available + ? - ?, reserved = reserved + ?
		WHERE shop_id = ? AND sku = ?`), moved, moved, it.Quantity, it.Quantity, shopID, it.SKU)
	return err
}

// FinishKey implements checkout.Store.
func (s *Store) FinishKey(ctx context.Context, shopID int64, customerID, key string) error {
	_, err := s.exec(ctx, s.q(`UPDATE idempotency_keys SET state = 'done'
		WHERE shop_id = ? AND customer_id = ? AND idem_key = ?`), shopID, customerID, key)
	return classify(err)
}

// insertOrderEvent writes an event to the outbox in the caller's
// transaction, so the event exists if and only if the change does.
func (s *Store) insertOrderEvent(ctx context.Context, tx dbtx, o order.Order, eventType string, now time.Time) error {
	query, args, err := orderEvent(ctx, o, eventType, now)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, s.q(query), args...)
	return err
}

// orderEvent returns the outbox insert of an order event.
func orderEvent(ctx context.Context, o order.Order, eventType string, now time.Time) (string, []any, error) {
	data := event.OrderData{OrderID: o.ID, CustomerID: o.CustomerID, Status: string(o.Status), Total: o.Total, Currency: o.Currency}
	for _, l := range o.Lines {
		data.Lines = append(data.Lines, event.OrderLine(l))
	}
	payload, err := json.Marshal(data)
	if err != nil {
		return "", nil, err
	}
	return `INSERT INTO outbox (event_id, shop_id, aggregate, aggregate_id, event_type, payload, occurred_at, trace_parent)
		VALUES (?, ?, 'order', ?, ?, ?, ?, ?)`,
		[]any{"evt_" + uuid.Must(uuid.NewV7()).String(), o.ShopID, o.ID, eventType, string(payload), micros(now), tracectx.From(ctx).String()}, nil
}

// PruneKeys implements checkout.Store.
func (s *Store) PruneKeys(ctx context.Context, now time.Time, limit int) (int, error) {
	res, err := s.exec(ctx, s.q(`DELETE FROM idempotency_keys WHERE (shop_id, customer_id, idem_key) IN
		(SELECT shop_id, customer_id, idem_key FROM idempotency_keys WHERE expires_at < ? LIMIT ?)`), micros(now), limit)
	if err != nil {
		return 0, classify(err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
