package store

import (
	"context"
	"database/sql"
	"strings"

	"github.com/surge-commerce/surge/internal/audit"
)

// The audit's reads (docs/INVARIANTS.md). They only read, and they never
// lock, so an audit runs beside live traffic.

var _ audit.Store = (*Store)(nil)

// AuditInFlight implements audit.Store.
func (s *Store) AuditInFlight(ctx context.Context, q audit.InFlightQuery) (audit.InFlight, error) {
	f := audit.InFlight{Unapplied: map[string][]string{}}
	at := micros(q.At)
	err := s.read.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM outbox WHERE published_at IS NULL AND occurred_at <= ?`), at).
		Scan(&f.Unpublished)
	if err != nil {
		return f, classify(err)
	}
	err = s.read.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM orders
		WHERE status = 'pending_payment' AND created_at > ? AND created_at <= ?`), micros(q.PendingSince), at).Scan(&f.PendingOrders)
	if err != nil {
		return f, classify(err)
	}
	err = s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM refunds_owed WHERE confirmed_at IS NULL`).Scan(&f.OwedRefunds)
	if err != nil {
		return f, classify(err)
	}
	for consumer, types := range q.Consumers {
		if len(types) == 0 {
			continue
		}
		args := []any{at}
		for _, t := range types {
			args = append(args, t)
		}
		args = append(args, consumer, q.Limit)
		err := each(ctx, s.read, s.q(`SELECT o.event_id FROM outbox o
			WHERE o.published_at IS NOT NULL AND o.occurred_at <= ? AND o.event_type IN (?`+strings.Repeat(", ?", len(types)-1)+`)
			AND NOT EXISTS (SELECT 1 FROM consumed_events c WHERE c.consumer = ? AND c.event_id = o.event_id)
			ORDER BY o.seq LIMIT ?`), args, func(scan func(...any) error) error {
			var id string
			err := scan(&id)
			f.Unapplied[consumer] = append(f.Unapplied[consumer], id)
			return err
		})
		if err != nil {
			return f, err
		}
	}
	return f, nil
}

// AuditSnapshot implements audit.Store. Every read runs in one read-only
// transaction, so the checks judge one instant (a snapshot on PostgreSQL's
// repeatable read and on SQLite's WAL).
func (s *Store) AuditSnapshot(ctx context.Context, q audit.SnapshotQuery) (audit.Snapshot, error) {
	var snap audit.Snapshot
	opts := s.dialect.snapshotTx
	tx, err := s.read.BeginTx(ctx, &opts)
	if err != nil {
		return snap, classify(err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	reads := []func(context.Context, *sql.Tx, audit.SnapshotQuery, *audit.Snapshot) error{
		s.auditStock, s.auditOrders, s.auditPurchases, s.auditResponses, s.auditShops, s.auditSales, s.auditRefunds,
	}
	for _, read := range reads {
		if err := read(ctx, tx, q, &snap); err != nil {
			return snap, err
		}
	}
	return snap, nil
}

func (s *Store) auditStock(ctx context.Context, tx *sql.Tx, q audit.SnapshotQuery, snap *audit.Snapshot) error {
	// A SKU's counters are its main row plus its flash-sale buckets.
	err := each(ctx, tx, `SELECT t.shop_id, t.sku, SUM(t.received), SUM(t.available), SUM(t.reserved), SUM(t.sold),
			COALESCE((SELECT SUM(r.quantity) FROM reservations r WHERE r.shop_id = t.shop_id AND r.sku = t.sku AND r.state = 'held'), 0),
			COALESCE((SELECT SUM(r.quantity) FROM reservations r WHERE r.shop_id = t.shop_id AND r.sku = t.sku AND r.state = 'sold'), 0),
			COALESCE((SELECT SUM(l.delta) FROM stock_ledger l WHERE l.shop_id = t.shop_id AND l.sku = t.sku), 0)
		FROM (SELECT shop_id, sku, received, available, reserved, sold FROM inventory
			UNION ALL SELECT shop_id, sku, received, available, reserved, sold FROM inventory_buckets) t
		GROUP BY t.shop_id, t.sku
		ORDER BY t.shop_id, t.sku`, nil, func(scan func(...any) error) error {
		var r audit.StockRow
		err := scan(&r.ShopID, &r.SKU, &r.Received, &r.Available, &r.Reserved, &r.Sold, &r.HeldReservations, &r.SoldReservations, &r.Ledger)
		snap.Stock = append(snap.Stock, r)
		return err
	})
	if err != nil {
		return err
	}
	return classify(tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM reservations WHERE state = 'held' AND expires_at < ?`),
		micros(q.HoldsExpiredBefore)).Scan(&snap.ExpiredHolds))
}

func (s *Store) auditOrders(ctx context.Context, tx *sql.Tx, q audit.SnapshotQuery, snap *audit.Snapshot) error {
	lines := `FROM order_lines l WHERE l.shop_id = o.shop_id AND l.order_id = o.order_id`
	held := func(state string) string {
		return `(SELECT COUNT(*) FROM reservations r WHERE r.shop_id = o.shop_id AND r.order_id = o.order_id AND r.state = '` + state + `')`
	}
	err := each(ctx, tx, `SELECT o.shop_id, o.order_id, o.customer_id, o.status, o.currency, o.total, o.created_at, o.updated_at,
			(SELECT COUNT(*) `+lines+`), (SELECT COALESCE(SUM(l.quantity), 0) `+lines+`),
			(SELECT COALESCE(SUM(l.unit_price * l.quantity), 0) `+lines+`),
			(SELECT COUNT(*) FROM order_lines l JOIN reservations r ON r.shop_id = l.shop_id AND r.order_id = l.order_id
				AND r.sku = l.sku AND r.quantity = l.quantity WHERE l.shop_id = o.shop_id AND l.order_id = o.order_id),
			`+held("held")+`, `+held("sold")+`, `+held("released")+`,
			(SELECT COUNT(*) FROM invoices i WHERE i.order_id = o.order_id),
			(SELECT COUNT(*) FROM notifications n WHERE n.shop_id = o.shop_id AND n.order_id = o.order_id AND n.kind = 'order.paid')
		FROM orders o ORDER BY o.shop_id, o.order_id`, nil, func(scan func(...any) error) error {
		var o audit.Order
		var created, updated int64
		err := scan(&o.ShopID, &o.ID, &o.CustomerID, &o.Status, &o.Currency, &o.Total, &created, &updated,
			&o.Lines, &o.Units, &o.LinesTotal, &o.ReservedLines, &o.Held, &o.Sold, &o.Released, &o.Invoices, &o.Confirmations)
		o.CreatedAt, o.UpdatedAt = fromMicros(created), fromMicros(updated)
		snap.Orders = append(snap.Orders, o)
		return err
	})
	if err != nil {
		return err
	}
	// Keys used twice first (one sort of the orders), then their pairs: a
	// customer with thousands of orders must not cost a square of them.
	return each(ctx, tx, s.q(`SELECT a.shop_id, a.customer_id, a.idempotency_key, a.order_id, b.order_id
		FROM (SELECT shop_id, customer_id, idempotency_key FROM orders
			GROUP BY shop_id, customer_id, idempotency_key HAVING COUNT(*) > 1) d
		JOIN orders a ON a.shop_id = d.shop_id AND a.customer_id = d.customer_id AND a.idempotency_key = d.idempotency_key
		JOIN orders b ON b.shop_id = a.shop_id AND b.customer_id = a.customer_id
			AND b.idempotency_key = a.idempotency_key AND b.order_id > a.order_id
		WHERE ABS(b.created_at - a.created_at) < ?`), []any{q.KeyTTL.Microseconds()}, func(scan func(...any) error) error {
		var d audit.DuplicateKey
		err := scan(&d.ShopID, &d.CustomerID, &d.Key, &d.First, &d.Second)
		snap.DuplicateKeys = append(snap.DuplicateKeys, d)
		return err
	})
}

// auditPurchases reads, per customer and SKU with a purchase count or a
// limit, the units counted and the units on live orders.
func (s *Store) auditPurchases(ctx context.Context, tx *sql.Tx, _ audit.SnapshotQuery, snap *audit.Snapshot) error {
	type key struct {
		shop          int64
		customer, sku string
	}
	byKey := map[key]*audit.Purchases{}
	get := func(k key) *audit.Purchases {
		if byKey[k] == nil {
			byKey[k] = &audit.Purchases{ShopID: k.shop, CustomerID: k.customer, SKU: k.sku, Counted: -1}
		}
		return byKey[k]
	}
	err := each(ctx, tx, `SELECT pc.shop_id, pc.customer_id, pc.sku, pc.units, COALESCE(p.purchase_limit, 0), pc.limit_seen
		FROM purchase_counts pc LEFT JOIN products p ON p.shop_id = pc.shop_id AND p.sku = pc.sku`, nil,
		func(scan func(...any) error) error {
			var k key
			var units, limit, seen int64
			err := scan(&k.shop, &k.customer, &k.sku, &units, &limit, &seen)
			p := get(k)
			p.Counted, p.Limit, p.LimitSeen = units, limit, seen
			return err
		})
	if err != nil {
		return err
	}
	err = each(ctx, tx, `SELECT o.shop_id, o.customer_id, l.sku, SUM(l.quantity), MAX(p.purchase_limit)
		FROM orders o JOIN order_lines l ON l.shop_id = o.shop_id AND l.order_id = o.order_id
			JOIN products p ON p.shop_id = l.shop_id AND p.sku = l.sku
		WHERE o.status <> 'cancelled' AND (p.purchase_limit > 0 OR EXISTS (SELECT 1 FROM purchase_counts pc
			WHERE pc.shop_id = o.shop_id AND pc.customer_id = o.customer_id AND pc.sku = l.sku))
		GROUP BY o.shop_id, o.customer_id, l.sku
		UNION ALL
		SELECT o.shop_id, 'instrument:' || o.instrument, l.sku, SUM(l.quantity), MAX(p.purchase_limit)
		FROM orders o JOIN order_lines l ON l.shop_id = o.shop_id AND l.order_id = o.order_id
			JOIN products p ON p.shop_id = l.shop_id AND p.sku = l.sku
		WHERE o.status <> 'cancelled' AND o.instrument <> ''
		GROUP BY o.shop_id, o.instrument, l.sku`, nil, func(scan func(...any) error) error {
		var k key
		var live, limit int64
		err := scan(&k.shop, &k.customer, &k.sku, &live, &limit)
		p := get(k)
		p.Live, p.Limit = live, limit
		return err
	})
	for _, p := range byKey {
		snap.Purchases = append(snap.Purchases, *p)
	}
	return err
}

func (s *Store) auditResponses(ctx context.Context, tx *sql.Tx, _ audit.SnapshotQuery, snap *audit.Snapshot) error {
	return each(ctx, tx, `SELECT k.shop_id, k.customer_id, k.idem_key, k.order_id, k.response_status, k.response_body, o.status, o.total
		FROM idempotency_keys k LEFT JOIN orders o ON o.order_id = k.order_id
		WHERE k.response_status <> 0`, nil, func(scan func(...any) error) error {
		var r audit.StoredResponse
		var body string
		var status sql.NullString
		var total sql.NullInt64
		err := scan(&r.ShopID, &r.CustomerID, &r.Key, &r.OrderID, &r.Status, &body, &status, &total)
		r.Body, r.OrderFound, r.OrderStatus, r.OrderTotal = []byte(body), status.Valid, status.String, total.Int64
		snap.Responses = append(snap.Responses, r)
		return err
	})
}

func (s *Store) auditShops(ctx context.Context, tx *sql.Tx, _ audit.SnapshotQuery, snap *audit.Snapshot) error {
	shops := map[int64]*audit.ShopEffects{}
	get := func(id int64) *audit.ShopEffects {
		if shops[id] == nil {
			shops[id] = &audit.ShopEffects{ShopID: id}
		}
		return shops[id]
	}
	err := each(ctx, tx, `SELECT shop_id, COUNT(*), MIN(invoice_no), MAX(invoice_no) FROM invoices GROUP BY shop_id`, nil,
		func(scan func(...any) error) error {
			var id, n, lo, hi int64
			err := scan(&id, &n, &lo, &hi)
			sh := get(id)
			sh.Invoices, sh.MinInvoice, sh.MaxInvoice = n, lo, hi
			return err
		})
	if err != nil {
		return err
	}
	err = each(ctx, tx, `SELECT shop_id, SUM(units) FROM sales_by_minute GROUP BY shop_id`, nil,
		func(scan func(...any) error) error {
			var id, units int64
			err := scan(&id, &units)
			get(id).AnalyticsUnits = units
			return err
		})
	for _, sh := range shops {
		snap.Shops = append(snap.Shops, *sh)
	}
	return err
}

func (s *Store) auditSales(ctx context.Context, tx *sql.Tx, _ audit.SnapshotQuery, snap *audit.Snapshot) error {
	err := each(ctx, tx, `SELECT f.shop_id, f.sku, f.buckets,
			(SELECT COUNT(*) FROM inventory_buckets b WHERE b.shop_id = f.shop_id AND b.sku = f.sku AND b.bucket < f.buckets),
			(SELECT COALESCE(SUM(b.available), 0) FROM inventory_buckets b WHERE b.shop_id = f.shop_id AND b.sku = f.sku AND b.bucket >= f.buckets)
		FROM flash_sales f`, nil, func(scan func(...any) error) error {
		b := audit.SaleBuckets{OnSale: true}
		err := scan(&b.ShopID, &b.SKU, &b.Buckets, &b.Present, &b.Stranded)
		snap.Sales = append(snap.Sales, b)
		return err
	})
	if err != nil {
		return err
	}
	return each(ctx, tx, `SELECT b.shop_id, b.sku, SUM(b.available) FROM inventory_buckets b
		WHERE NOT EXISTS (SELECT 1 FROM flash_sales f WHERE f.shop_id = b.shop_id AND f.sku = b.sku)
		GROUP BY b.shop_id, b.sku`, nil, func(scan func(...any) error) error {
		var b audit.SaleBuckets
		err := scan(&b.ShopID, &b.SKU, &b.Stranded)
		snap.Sales = append(snap.Sales, b)
		return err
	})
}

func (s *Store) auditRefunds(ctx context.Context, tx *sql.Tx, _ audit.SnapshotQuery, snap *audit.Snapshot) error {
	return each(ctx, tx, `SELECT payment_ref, order_id, created_at, confirmed_at IS NOT NULL FROM refunds_owed ORDER BY created_at`, nil,
		func(scan func(...any) error) error {
			var r audit.Refund
			var created int64
			err := scan(&r.PaymentRef, &r.OrderID, &created, &r.Confirmed)
			r.CreatedAt = fromMicros(created)
			snap.Refunds = append(snap.Refunds, r)
			return err
		})
}

// AuditOrders implements audit.Store.
func (s *Store) AuditOrders(ctx context.Context) (map[string]audit.OrderRow, error) {
	out := map[string]audit.OrderRow{}
	err := each(ctx, s.read, `SELECT order_id, status, currency, total FROM orders`, nil, func(scan func(...any) error) error {
		var o audit.OrderRow
		err := scan(&o.ID, &o.Status, &o.Currency, &o.Total)
		out[o.ID] = o
		return err
	})
	return out, err
}

// each runs a query (already in the engine's placeholders) and hands
// every row to fn.
func each(ctx context.Context, q querier, query string, args []any, fn func(scan func(...any) error) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return classify(err)
		}
	}
	return classify(rows.Err())
}
