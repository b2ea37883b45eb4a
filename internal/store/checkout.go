package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"

	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/order"
	"github.com/surge-commerce/surge/internal/tracectx"
)

var _ checkout.Store = (*Store)(nil)

// PlaceOrder implements checkout.Store. It costs three round trips on
// PostgreSQL: claiming the key with reading the products, every write, and
// the commit (ADR 0016).
func (s *Store) PlaceOrder(ctx context.Context, p checkout.Placement, respond func(order.Order) checkout.Response) (order.Order, *checkout.Response, error) {
	var o order.Order
	var replay *checkout.Response
	err := s.pipelined(ctx, func(ctx context.Context, t *pipeTx) error {
		var claimed int64
		t.exec(&claimed, claimKeyQuery, claimKeyArgs(p)...)
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
		if claimed == 0 {
			db, err := t.db(ctx)
			if err != nil {
				return err
			}
			if replay, err = s.reclaimKey(ctx, db, p); err != nil || replay != nil {
				return err
			}
		}
		o = order.Order{ShopID: p.ShopID, ID: p.OrderID, CustomerID: p.CustomerID, Status: order.PendingPayment,
			CreatedAt: fromMicros(micros(p.Now)), UpdatedAt: fromMicros(micros(p.Now))}
		for i, it := range p.Items {
			line, err := priceLine(p, it, products[i])
			if err != nil {
				return err
			}
			if o.Currency != "" && o.Currency != products[i].currency {
				var v errcode.Validation
				v.Add("items", "all items of one order must share a currency")
				return v.Err()
			}
			o.Currency = products[i].currency
			o.Lines = append(o.Lines, line)
			o.Total += line.UnitPrice * line.Quantity
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

// product is what checkout reads of one item's product.
type product struct {
	found              bool
	title, currency    string
	price, limit       int64
	saleStart, buckets sql.NullInt64 // set when the SKU is on flash sale
}

// writeOrder queues every write of a placed order and checks their
// outcomes after one flush: purchase limits first, then stock.
//
// A purchase count is an upsert that refuses to pass the limit; its row
// lock serialises one customer's concurrent checkouts, so parallel
// requests cannot both pass. Stock comes last, right before the commit:
// its row is the one every buyer of the SKU needs, and its lock is held
// until the commit (ADR 0015). From the first SKU on flash sale on, stock
// is reserved bucket by bucket, one round trip each, in SKU order like the
// rest.
func (s *Store) writeOrder(ctx context.Context, t *pipeTx, p checkout.Placement, o order.Order, products []product, r checkout.Response) error {
	counted := make([]int64, len(p.Items))
	for i, it := range p.Items {
		if limit := products[i].limit; limit > 0 {
			if it.Quantity > limit {
				return overLimit(it.SKU, limit)
			}
			t.exec(&counted[i], `INSERT INTO purchase_counts (shop_id, customer_id, sku, units) VALUES (?, ?, ?, ?)
				ON CONFLICT (shop_id, customer_id, sku) DO UPDATE SET units = purchase_counts.units + excluded.units
				WHERE purchase_counts.units + excluded.units <= ?`, p.ShopID, p.CustomerID, it.SKU, it.Quantity, limit)
		}
		t.exec(nil, `INSERT INTO order_lines (shop_id, order_id, sku, title, unit_price, quantity)
			VALUES (?, ?, ?, ?, ?, ?)`, p.ShopID, p.OrderID, it.SKU, products[i].title, products[i].price, it.Quantity)
	}
	t.exec(nil, `INSERT INTO orders (shop_id, order_id, customer_id, status, currency, total,
			idempotency_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.ShopID, o.ID, o.CustomerID, string(o.Status), o.Currency, o.Total, p.Key, micros(p.Now), micros(p.Now))
	query, args, err := orderEvent(ctx, o, "order.created", p.Now)
	if err != nil {
		return err
	}
	t.exec(nil, query, args...)
	t.exec(nil, storeResponseQuery, r.Status, string(r.Body), "processing", o.ID)
	reserved := make([]int64, len(p.Items))
	interactive := len(p.Items) // the first item on flash sale
	for i, it := range p.Items {
		if products[i].buckets.Valid {
			interactive = i
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
			return overLimit(it.SKU, products[i].limit)
		}
	}
	for i, it := range p.Items[:interactive] {
		if reserved[i] == 0 {
			return outOfStock(it.SKU)
		}
	}
	for i, it := range p.Items[interactive:] {
		if err := s.reserveLine(ctx, db, p, it, products[interactive+i].buckets); err != nil {
			return err
		}
	}
	return nil
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
	return &checkout.Response{Status: status, Body: []byte(body), OrderID: orderID}, nil
}

// priceLine prices one item from its product and checks that its sale has
// started.
func priceLine(p checkout.Placement, it checkout.Item, pr product) (order.Line, error) {
	line := order.Line{SKU: it.SKU, Quantity: it.Quantity, Title: pr.title, UnitPrice: pr.price}
	if !pr.found {
		var v errcode.Validation
		v.Add("items", "unknown SKU "+it.SKU)
		e := v.Err().(*errcode.Error)
		return line, e.With("sku", it.SKU)
	}
	if pr.saleStart.Valid && micros(p.Now) < pr.saleStart.Int64 {
		return line, errcode.Typed(errcode.Conflict, "sale_not_started", "the sale of %s has not started", it.SKU).
			With("sku", it.SKU).With("starts_at", fromMicros(pr.saleStart.Int64))
	}
	return line, nil
}

func overLimit(sku string, limit int64) error {
	return errcode.Typed(errcode.Conflict, "purchase_limit", "at most %d units of %s per customer", limit, sku).
		With("sku", sku).With("limit", limit)
}

func outOfStock(sku string) error {
	return errcode.Typed(errcode.Conflict, "out_of_stock", "not enough stock of %s", sku).With("sku", sku)
}

// reserveLine reserves one item's stock with conditional updates, and
// marks a flash-sale SKU sold out when that took its last unit.
func (s *Store) reserveLine(ctx context.Context, db dbtx, p checkout.Placement, it checkout.Item, sale sql.NullInt64) error {
	bucket, err := s.reserveStock(ctx, db, p.ShopID, it, int(sale.Int64))
	if err != nil {
		return err
	}
	if sale.Valid {
		if err := s.markSoldOut(ctx, db, p.ShopID, it.SKU, p.Now); err != nil {
			return err
		}
	}
	_, err = db.ExecContext(ctx, s.q(insertReservationQuery), p.ShopID, p.OrderID, it.SKU, it.Quantity, micros(p.ReservationExpiry), bucket)
	return err
}

const (
	reserveMainQuery = `UPDATE inventory SET available = available - ?, reserved = reserved + ?
		WHERE shop_id = ? AND sku = ? AND available >= ?`
	insertReservationQuery = `INSERT INTO reservations (shop_id, order_id, sku, quantity, state, expires_at, bucket)
		VALUES (?, ?, ?, ?, 'held', ?, ?)`
	storeResponseQuery = `UPDATE idempotency_keys SET response_status = ?, response_body = ?, state = ?
		WHERE order_id = ?`
)

// reserveStock moves units from available to reserved and returns the
// bucket they came from (-1: the main row). A flash-sale SKU is tried
// bucket by bucket from a random start, so concurrent buyers mostly lock
// different rows; the main row (restocks during a sale) comes last.
func (s *Store) reserveStock(ctx context.Context, db dbtx, shopID int64, it checkout.Item, buckets int) (int, error) {
	start := 0
	if buckets > 0 {
		start = rand.IntN(buckets)
	}
	for i := range buckets {
		b := (start + i) % buckets
		res, err := db.ExecContext(ctx, s.q(`UPDATE inventory_buckets SET available = available - ?, reserved = reserved + ?
			WHERE shop_id = ? AND sku = ? AND bucket = ? AND available >= ?`), it.Quantity, it.Quantity, shopID, it.SKU, b, it.Quantity)
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
	if n, _ := res.RowsAffected(); n == 0 {
		return 0, outOfStock(it.SKU)
	}
	return -1, nil
}

// FinishKey implements checkout.Store.
func (s *Store) FinishKey(ctx context.Context, shopID int64, customerID, key string) error {
	_, err := s.exec(ctx, s.q(`UPDATE idempotency_keys SET state = 'done'
		WHERE shop_id = ? AND customer_id = ? AND idem_key = ?`), shopID, customerID, key)
	return classify(err)
}

// CompletePayment implements checkout.Store.
func (s *Store) CompletePayment(ctx context.Context, shopID int64, orderID, paymentRef string, now time.Time, respond func(order.Order) checkout.Response) (order.Order, error) {
	return s.settleOrder(ctx, shopID, orderID, order.Paid, paymentRef, "", now, respond)
}

// CancelOrder implements checkout.Store.
func (s *Store) CancelOrder(ctx context.Context, shopID int64, orderID, reason string, now time.Time, respond func(order.Order) checkout.Response) (order.Order, error) {
	return s.settleOrder(ctx, shopID, orderID, order.Cancelled, "", reason, now, respond)
}

// UnverifiedCancellations implements checkout.Store.
func (s *Store) UnverifiedCancellations(ctx context.Context, limit int) ([]order.Order, error) {
	return s.queryOrders(ctx, `SELECT `+orderColumns+` FROM orders
		WHERE cancel_reason = ? ORDER BY created_at LIMIT ?`, order.ReasonPaymentUnverified, limit)
}

// SetCancelReason implements checkout.Store.
func (s *Store) SetCancelReason(ctx context.Context, orderID, from, to string) error {
	_, err := s.exec(ctx, s.q(`UPDATE orders SET cancel_reason = ?
		WHERE order_id = ? AND status = 'cancelled' AND cancel_reason = ?`), to, orderID, from)
	return classify(err)
}

// settleOrder moves a pending order to paid (reservations become sold) or
// cancelled (reservations go back on sale), in one transaction with its
// event and the final idempotent response. On PostgreSQL it costs three
// round trips: the order, its lines and its reservations; the event, the
// response and the stock; the commit. An order that was not pending rolls
// back what the first one changed.
func (s *Store) settleOrder(ctx context.Context, shopID int64, orderID string, to order.Status, paymentRef, cancelReason string, now time.Time, respond func(order.Order) checkout.Response) (order.Order, error) {
	var o order.Order
	err := s.pipelined(ctx, func(ctx context.Context, t *pipeTx) error {
		var found bool
		var status string
		var created, updated int64
		t.queryRow(&found, `UPDATE orders SET status = ?, payment_ref = ?, cancel_reason = ?, updated_at = ?
			WHERE shop_id = ? AND order_id = ? AND status = 'pending_payment' RETURNING `+orderColumns,
			[]any{string(to), paymentRef, cancelReason, micros(now), shopID, orderID},
			&o.ShopID, &o.ID, &o.CustomerID, &status, &o.Currency, &o.Total, &o.PaymentRef, &created, &updated)
		var lines []order.Line
		t.query(func(scan func(...any) error) error {
			var l order.Line
			err := scan(&l.SKU, &l.Title, &l.UnitPrice, &l.Quantity)
			lines = append(lines, l)
			return err
		}, linesQuery, shopID, orderID)
		state := "sold"
		if to == order.Cancelled {
			state = "released"
		}
		buckets := map[string]int{} // of the reservations this settles; the others were settled before
		t.query(func(scan func(...any) error) error {
			var sku string
			var bucket int
			err := scan(&sku, &bucket)
			buckets[sku] = bucket
			return err
		}, `UPDATE reservations SET state = ? WHERE shop_id = ? AND order_id = ? AND state = 'held'
			RETURNING sku, bucket`, state, shopID, orderID)
		db, err := t.db(ctx)
		if err != nil {
			return err
		}
		if !found {
			cur, err := s.loadOrder(ctx, db, orderID)
			if err != nil {
				return err
			}
			return errcode.Typed(errcode.Conflict, "order_not_pending", "order %s is %s", orderID, cur.Status).With("status", string(cur.Status))
		}
		o.Status, o.CreatedAt, o.UpdatedAt, o.Lines = order.Status(status), fromMicros(created), fromMicros(updated), lines
		event := "order.paid"
		if to == order.Cancelled {
			event = "order.cancelled"
		}
		query, args, err := orderEvent(ctx, o, event, now)
		if err != nil {
			return err
		}
		t.exec(nil, query, args...)
		r := respond(o)
		t.exec(nil, storeResponseQuery, r.Status, string(r.Body), "done", o.ID)
		// Stock last, as in PlaceOrder: its lock is held until the commit.
		return s.settleStock(ctx, t, o, to, buckets)
	})
	if err == nil {
		s.wakeRelay()
	}
	return o, err
}

// settleStock moves the units of the reservations settleOrder just
// settled, by SKU the bucket each came from (an already settled one has
// nothing to move): purchase counts first, then inventory, the lock order
// of PlaceOrder, so a checkout and a cancellation of one customer cannot
// deadlock.
func (s *Store) settleStock(ctx context.Context, t *pipeTx, o order.Order, to order.Status, buckets map[string]int) error {
	stock := `reserved = reserved - ?, sold = sold + ?`
	if to == order.Cancelled {
		stock = `reserved = reserved - ?, available = available + ?`
		for _, l := range o.Lines {
			if _, held := buckets[l.SKU]; held {
				t.exec(nil, `UPDATE purchase_counts SET units = units - ?
					WHERE shop_id = ? AND customer_id = ? AND sku = ? AND units >= ?`, l.Quantity, o.ShopID, o.CustomerID, l.SKU, l.Quantity)
			}
		}
	}
	moved := make([]int64, len(o.Lines))
	for i, l := range o.Lines {
		bucket, held := buckets[l.SKU]
		if !held {
			continue
		}
		if bucket >= 0 {
			t.exec(&moved[i], `UPDATE inventory_buckets SET `+stock+` WHERE shop_id = ? AND sku = ? AND reserved >= ? AND bucket = ?`,
				l.Quantity, l.Quantity, o.ShopID, l.SKU, l.Quantity, bucket)
		} else {
			t.exec(&moved[i], `UPDATE inventory SET `+stock+` WHERE shop_id = ? AND sku = ? AND reserved >= ?`,
				l.Quantity, l.Quantity, o.ShopID, l.SKU, l.Quantity)
		}
	}
	if err := t.flush(ctx); err != nil {
		return err
	}
	for i, l := range o.Lines {
		if _, held := buckets[l.SKU]; held && moved[i] == 0 {
			return errcode.New(errcode.Internal, "inventory of %s holds less reserved stock than order %s", l.SKU, o.ID)
		}
	}
	return nil
}

// StaleOrders implements checkout.Store.
func (s *Store) StaleOrders(ctx context.Context, olderThan, now time.Time, limit int) ([]order.Order, error) {
	return s.queryOrders(ctx, `SELECT `+orderColumns+` FROM orders
		WHERE status = 'pending_payment' AND (created_at < ? OR order_id IN
			(SELECT order_id FROM reservations WHERE state = 'held' AND expires_at < ?))
		ORDER BY created_at LIMIT ?`, micros(olderThan), micros(now), limit)
}

// queryOrders returns the orders a query selects (orderColumns, without
// their lines).
func (s *Store) queryOrders(ctx context.Context, query string, args ...any) ([]order.Order, error) {
	rows, err := s.read.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []order.Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, classify(err)
		}
		out = append(out, o)
	}
	return out, classify(rows.Err())
}

// Order implements checkout.Store.
func (s *Store) Order(ctx context.Context, orderID string) (order.Order, error) {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: s.engine == Postgres})
	if err != nil {
		return order.Order{}, classify(err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	o, err := s.loadOrder(ctx, tx, orderID)
	return o, classify(err)
}

// OrderStatus returns an order's status in one read, for callers that act
// only on some statuses (a provider's webhook, mostly confirming what
// checkout already recorded).
func (s *Store) OrderStatus(ctx context.Context, orderID string) (order.Status, error) {
	var status string
	err := s.read.QueryRowContext(ctx, s.q(`SELECT status FROM orders WHERE order_id = ?`), orderID).Scan(&status)
	if err == sql.ErrNoRows {
		return "", errcode.Typed(errcode.NotFound, "order_not_found", "no order %q", orderID)
	}
	return order.Status(status), classify(err)
}

const orderColumns = `shop_id, order_id, customer_id, status, currency, total, payment_ref, created_at, updated_at`

func scanOrder(row scanner) (order.Order, error) {
	var o order.Order
	var status string
	var created, updated int64
	err := row.Scan(&o.ShopID, &o.ID, &o.CustomerID, &status, &o.Currency, &o.Total, &o.PaymentRef, &created, &updated)
	o.Status, o.CreatedAt, o.UpdatedAt = order.Status(status), fromMicros(created), fromMicros(updated)
	return o, err
}

func (s *Store) loadOrder(ctx context.Context, tx dbtx, orderID string) (order.Order, error) {
	o, err := scanOrder(tx.QueryRowContext(ctx, s.q(`SELECT `+orderColumns+` FROM orders WHERE order_id = ?`), orderID))
	if err == sql.ErrNoRows {
		return o, errcode.Typed(errcode.NotFound, "order_not_found", "no order %q", orderID)
	}
	if err != nil {
		return o, err
	}
	o.Lines, err = s.loadLines(ctx, tx, o.ShopID, orderID)
	return o, err
}

const linesQuery = `SELECT sku, title, unit_price, quantity FROM order_lines
	WHERE shop_id = ? AND order_id = ? ORDER BY sku`

func (s *Store) loadLines(ctx context.Context, tx dbtx, shopID int64, orderID string) ([]order.Line, error) {
	rows, err := tx.QueryContext(ctx, s.q(linesQuery), shopID, orderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var lines []order.Line
	for rows.Next() {
		var l order.Line
		if err := rows.Scan(&l.SKU, &l.Title, &l.UnitPrice, &l.Quantity); err != nil {
			return nil, err
		}
		lines = append(lines, l)
	}
	return lines, rows.Err()
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
