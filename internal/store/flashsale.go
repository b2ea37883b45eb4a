package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/flashsale"
	"github.com/surge-commerce/surge/internal/precondition"
	"github.com/surge-commerce/surge/internal/tracing/tracectx"
)

var (
	_ flashsale.Store      = (*Store)(nil)
	_ flashsale.QueueStore = (*Store)(nil)
)

type stockRow struct{ received, available, reserved, sold int64 }

// Lock order. Whatever changes a flash-sale SKU's stock locks its rows in
// this order, so that no two transactions wait for each other in a circle
// (ADR 0018):
//
//  1. the products row: admin paths (StartSale, EndSale, PutProduct) and
//     a checkout gathering units from several buckets; an ordinary
//     checkout takes none;
//  2. inventory_buckets rows, in ascending bucket order when more than one
//     is locked on purpose;
//  3. the inventory main row;
//  4. the flash_sales row.
//
// Checkout, the hot path, sets it: it reserves from one bucket (or the
// main row) and only then, when that emptied its row, locks the sale to
// mark it sold out. A checkout's conditional updates of buckets it merely
// tried can leave those locked too, in its own random order. So a
// checkout gathering units locks without waiting (NOWAIT): a row busy
// elsewhere costs it a quick retry rather than a deadlock found a second
// later. An admin path waits; the rare deadlock that leaves costs the
// loser a retry (conflict_retry), never a wrong count.

// forUpdateNoWait is forUpdate failing at once, with lock_not_available
// (retried), when another transaction holds the row.
func (s *Store) forUpdateNoWait() string { return s.dialect.forUpdateNoWait }

// lockProduct locks a SKU's product row, first in the lock order, and
// reports whether it is deleted. Errors: not_found.
func (s *Store) lockProduct(ctx context.Context, tx dbtx, shopID int64, sku string) (deleted bool, err error) {
	var at sql.NullInt64
	err = tx.QueryRowContext(ctx, s.q(`SELECT deleted_at FROM products WHERE shop_id = ? AND sku = ?`+s.forUpdate()),
		shopID, sku).Scan(&at)
	if err == sql.ErrNoRows {
		return false, errcode.Typed(errcode.NotFound, "product_not_found", "no product %q", sku)
	}
	return at.Valid, err
}

// StartSale implements flashsale.Store. Its sale.opened event wakes the
// relay like an order's, rather than waiting for the relay's next poll.
func (s *Store) StartSale(ctx context.Context, shopID int64, sale flashsale.Sale, now time.Time) error {
	return s.StartSaleIf(ctx, shopID, sale, now, precondition.Condition{})
}

// StartSaleIf implements flashsale.Store. The sale's version is read
// under the product's lock, which every start and end of the SKU's sale
// takes first, so the check and the write are one step.
func (s *Store) StartSaleIf(ctx context.Context, shopID int64, sale flashsale.Sale, now time.Time, cond precondition.Condition) error {
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		deleted, err := s.lockProduct(ctx, tx, shopID, sale.SKU)
		if err != nil {
			return err
		}
		if deleted {
			return errcode.Typed(errcode.NotFound, "product_not_found", "no product %q", sale.SKU)
		}
		if err := s.saleCondition(ctx, tx, shopID, sale.SKU, cond, false); err != nil {
			return err
		}
		buckets, err := s.lockBuckets(ctx, tx, shopID, sale.SKU, s.forUpdate())
		if err != nil {
			return err
		}
		var main stockRow
		err = tx.QueryRowContext(ctx, s.q(`SELECT received, available, reserved, sold FROM inventory
			WHERE shop_id = ? AND sku = ?`+s.forUpdate()), shopID, sale.SKU).
			Scan(&main.received, &main.available, &main.reserved, &main.sold)
		if err != nil {
			return err
		}
		st := flashsale.Stock{Received: main.received, Committed: main.reserved + main.sold, Buckets: len(buckets)}
		for _, b := range buckets {
			st.Received += b.received
			st.Committed += b.reserved + b.sold
		}
		alloc, err := sale.Allocate(st)
		if err != nil {
			return err
		}
		if err := s.recordStock(ctx, tx, shopID, sale.SKU, alloc.Delta, "sale", now); err != nil {
			return err
		}
		// The main row keeps only what it has committed; every unit still
		// for sale moves into the buckets.
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE inventory SET received = reserved + sold, available = 0, version = version + 1
			WHERE shop_id = ? AND sku = ?`), shopID, sale.SKU); err != nil {
			return err
		}
		for i, share := range alloc.Shares {
			// The row inserted holds only its share, so it passes the
			// CHECK whatever an existing bucket has reserved or sold; the
			// update keeps those.
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO inventory_buckets (shop_id, sku, bucket, received, available)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (shop_id, sku, bucket) DO UPDATE
				SET received = inventory_buckets.reserved + inventory_buckets.sold + excluded.available, available = excluded.available`),
				shopID, sale.SKU, i, share, share); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE products SET purchase_limit = ? WHERE shop_id = ? AND sku = ?`),
			sale.PerCustomerLimit, shopID, sale.SKU); err != nil {
			return err
		}
		// A new start time reopens the pre-queue: it is shuffled at the
		// new start (queue_shuffled_at).
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO flash_sales (shop_id, sku, starts_at, buckets, admission_rate, admission_burst, pow_difficulty, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (shop_id, sku) DO UPDATE SET starts_at = excluded.starts_at, buckets = excluded.buckets,
				admission_rate = excluded.admission_rate, admission_burst = excluded.admission_burst,
				pow_difficulty = excluded.pow_difficulty, sold_out_at = NULL, version = flash_sales.version + 1,
				queue_shuffled_at = CASE WHEN flash_sales.starts_at = excluded.starts_at THEN flash_sales.queue_shuffled_at END`),
			shopID, sale.SKU, micros(sale.StartsAt), sale.Buckets, sale.AdmissionRate, sale.AdmissionBurst, sale.PowDifficulty, micros(now))
		if err != nil {
			return err
		}
		if err := s.insertSaleEvent(ctx, tx, shopID, sale.SKU, "sale.opened", now); err != nil {
			return err
		}
		if alloc.SoldOut { // nothing left to sell: sold out from the start
			return s.markSoldOut(ctx, tx, shopID, sale.SKU, -1, now)
		}
		return nil
	})
	if err == nil {
		s.wakeRelay()
	}
	return err
}

// lockBuckets reads (and on PostgreSQL locks) a SKU's buckets, in
// ascending order (the lock order above). lock is s.forUpdate() or
// s.forUpdateNoWait().
func (s *Store) lockBuckets(ctx context.Context, tx dbtx, shopID int64, sku, lock string) (map[int]stockRow, error) {
	rows, err := tx.QueryContext(ctx, s.q(`SELECT bucket, received, available, reserved, sold FROM inventory_buckets
		WHERE shop_id = ? AND sku = ? ORDER BY bucket`+lock), shopID, sku)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int]stockRow{}
	for rows.Next() {
		var b int
		var r stockRow
		if err := rows.Scan(&b, &r.received, &r.available, &r.reserved, &r.sold); err != nil {
			return nil, err
		}
		out[b] = r
	}
	return out, rows.Err()
}

// EndSale implements flashsale.Store. It credits the main row with
// exactly the units it takes out of the buckets: both are counted under
// the buckets' locks, so a unit reserved meanwhile is neither credited nor
// lost (docs/INVARIANTS.md, I1, I10).
func (s *Store) EndSale(ctx context.Context, shopID int64, sku string) error {
	return s.EndSaleIf(ctx, shopID, sku, precondition.Condition{})
}

// EndSaleIf implements flashsale.Store; the condition is checked as in
// StartSaleIf.
func (s *Store) EndSaleIf(ctx context.Context, shopID int64, sku string, cond precondition.Condition) error {
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := s.lockProduct(ctx, tx, shopID, sku); err != nil {
			if errcode.Is(err, errcode.NotFound) {
				return errcode.Typed(errcode.NotFound, "sale_not_found", "%s is not on flash sale", sku)
			}
			return err
		}
		// Where there is no sale the end answers not found whatever the
		// condition (RFC 9110 §13.2.1: preconditions apply only to a
		// request that would otherwise succeed).
		if err := s.saleCondition(ctx, tx, shopID, sku, cond, true); err != nil {
			return err
		}
		buckets, err := s.lockBuckets(ctx, tx, shopID, sku, s.forUpdate())
		if err != nil {
			return err
		}
		var free int64
		for _, b := range buckets {
			free += b.available
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE inventory_buckets SET received = received - available, available = 0
			WHERE shop_id = ? AND sku = ? AND available > 0`), shopID, sku); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE inventory SET received = received + ?, available = available + ?
			WHERE shop_id = ? AND sku = ?`), free, free, shopID, sku); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM flash_sales WHERE shop_id = ? AND sku = ?`), shopID, sku)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// Rolled back: nothing above stands.
			return errcode.Typed(errcode.NotFound, "sale_not_found", "%s is not on flash sale", sku)
		}
		// The waiting room ends with its sale: a later sale of the SKU
		// starts an empty queue, and the tickets of this one (which name
		// its epoch) admit nobody there.
		_, err = tx.ExecContext(ctx, s.q(`DELETE FROM queue_entries WHERE shop_id = ? AND sku = ?`), shopID, sku)
		return err
	})
}

// saleCondition checks a write's precondition against the SKU's sale, read
// in tx under the product's lock. An end (mustExist) of no sale is not
// found, whatever the condition.
func (s *Store) saleCondition(ctx context.Context, tx *sql.Tx, shopID int64, sku string, cond precondition.Condition, mustExist bool) error {
	if !cond.Set() {
		return nil
	}
	var version int64
	err := tx.QueryRowContext(ctx, s.q(`SELECT version FROM flash_sales WHERE shop_id = ? AND sku = ?`), shopID, sku).Scan(&version)
	if err != nil && err != sql.ErrNoRows {
		return err
	}
	if err == sql.ErrNoRows && mustExist {
		return errcode.Typed(errcode.NotFound, "sale_not_found", "%s is not on flash sale", sku)
	}
	if !cond.Holds(err == nil, version) {
		return cond.Failed(precondition.Name("sale", sku))
	}
	return nil
}

// Sale implements flashsale.Store.
func (s *Store) Sale(ctx context.Context, shopID int64, sku string) (flashsale.Sale, error) {
	sale := flashsale.Sale{SKU: sku}
	var starts int64
	var soldOut, shuffled sql.NullInt64
	err := s.read.QueryRowContext(ctx, s.q(`SELECT f.created_at, f.starts_at, f.buckets, f.admission_rate, f.admission_burst, f.sold_out_at, p.purchase_limit,
			i.received + COALESCE((SELECT SUM(b.received) FROM inventory_buckets b WHERE b.shop_id = f.shop_id AND b.sku = f.sku), 0),
			f.pow_difficulty, f.queue_shuffled_at, f.version
		FROM flash_sales f JOIN products p ON p.shop_id = f.shop_id AND p.sku = f.sku
		JOIN inventory i ON i.shop_id = f.shop_id AND i.sku = f.sku
		WHERE f.shop_id = ? AND f.sku = ?`), shopID, sku).Scan(&sale.Epoch, &starts, &sale.Buckets, &sale.AdmissionRate, &sale.AdmissionBurst, &soldOut,
		&sale.PerCustomerLimit, &sale.Stock, &sale.PowDifficulty, &shuffled, &sale.Version)
	sale.QueueShuffled = shuffled.Valid
	if err == sql.ErrNoRows {
		return sale, errcode.Typed(errcode.NotFound, "sale_not_found", "%s is not on flash sale", sku)
	}
	sale.StartsAt = fromMicros(starts)
	if soldOut.Valid {
		sale.SoldOutAt = fromMicros(soldOut.Int64)
	}
	return sale, classify(err)
}

// SaleFigures implements flashsale.Store.
func (s *Store) SaleFigures(ctx context.Context, shopID int64, sku string) (int64, int64, error) {
	var left, queue int64
	err := s.read.QueryRowContext(ctx, s.q(`SELECT
			COALESCE((SELECT SUM(available) FROM inventory_buckets WHERE shop_id = ? AND sku = ?), 0)
				+ COALESCE((SELECT available FROM inventory WHERE shop_id = ? AND sku = ?), 0),
			(SELECT COUNT(*) FROM queue_entries WHERE shop_id = ? AND sku = ?)`),
		shopID, sku, shopID, sku, shopID, sku).Scan(&left, &queue)
	return left, queue, classify(err)
}

// JoinQueue implements flashsale.QueueStore. A place is stored with the
// entry, so joining costs the same with a million buyers waiting as with
// none. Places come from a counter on the sale: on SQLite in the join's own
// transaction (there is one writer anyway); on PostgreSQL in a transaction
// of its own that does not wait for the disk, so the counter's row lock is
// held for microseconds rather than a flush and joins do not queue behind
// each other. The join's durable commit flushes the counter with it. A
// place taken by a join that then fails is skipped, not reused.
func (s *Store) JoinQueue(ctx context.Context, shopID int64, sku, customerID string, now time.Time, draw int64) (int64, error) {
	if pos, err := s.queuePlace(ctx, s.read, shopID, sku, customerID); err == nil || !errcode.Is(err, errcode.NotFound) {
		return pos, err // already in the queue (or the database failed)
	}
	var pos int64
	if !s.dialect.oneWriter {
		err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
				return err
			}
			return s.takePlace(ctx, tx, shopID, sku, &pos)
		})
		if err != nil {
			return 0, err
		}
	}
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if s.dialect.oneWriter {
			if err := s.takePlace(ctx, tx, shopID, sku, &pos); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO queue_entries (shop_id, sku, customer_id, joined_at, place, draw) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (shop_id, sku, customer_id) DO NOTHING`), shopID, sku, customerID, micros(now), pos, draw)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// The same customer joined concurrently: theirs stands.
			pos, err = s.queuePlace(ctx, tx, shopID, sku, customerID)
		}
		return err
	})
	return pos, err
}

// takePlace advances the sale's queue counter and returns the new place.
func (s *Store) takePlace(ctx context.Context, tx *sql.Tx, shopID int64, sku string, pos *int64) error {
	err := tx.QueryRowContext(ctx, s.q(`UPDATE flash_sales SET queue_places = queue_places + 1
		WHERE shop_id = ? AND sku = ? RETURNING queue_places`), shopID, sku).Scan(pos)
	if err == sql.ErrNoRows {
		return errcode.Typed(errcode.NotFound, "sale_not_found", "%s is not on flash sale", sku)
	}
	return err
}

// QueuePlace implements flashsale.QueueStore.
func (s *Store) QueuePlace(ctx context.Context, shopID int64, sku, customerID string) (int64, error) {
	return s.queuePlace(ctx, s.read, shopID, sku, customerID)
}

// ShuffleQueue implements flashsale.QueueStore. The first caller after the
// start wins the sale row and renumbers the pre-queue; the others wait on
// that row (PostgreSQL's lock, SQLite's one writer), find it shuffled and
// change nothing, so every replica reads the same places afterwards.
func (s *Store) ShuffleQueue(ctx context.Context, shopID int64, sku string, startsAt, now time.Time) error {
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE flash_sales SET queue_shuffled_at = ?
			WHERE shop_id = ? AND sku = ? AND starts_at = ? AND queue_shuffled_at IS NULL`), micros(now), shopID, sku, micros(startsAt))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // shuffled already, or the sale changed meanwhile
		}
		// The early arrivals take the places 1..P in the order of their
		// draws; later arrivals keep theirs, which are all above P.
		_, err = tx.ExecContext(ctx, s.q(`UPDATE queue_entries SET place = r.new_place
			FROM (SELECT seq, ROW_NUMBER() OVER (ORDER BY draw, seq) AS new_place FROM queue_entries
				WHERE shop_id = ? AND sku = ? AND joined_at < ?) r
			WHERE queue_entries.seq = r.seq`), shopID, sku, micros(startsAt))
		return err
	})
}

// queuePlace returns a customer's place in a sale's queue. Errors:
// not_found.
func (s *Store) queuePlace(ctx context.Context, q querier, shopID int64, sku, customerID string) (int64, error) {
	var pos int64
	err := q.QueryRowContext(ctx, s.q(`SELECT place FROM queue_entries WHERE shop_id = ? AND sku = ? AND customer_id = ?`),
		shopID, sku, customerID).Scan(&pos)
	return pos, classify(err)
}

// SaleStock implements flashsale.QueueStore.
func (s *Store) SaleStock(ctx context.Context, shopID int64, sku string) (int64, int64, error) {
	var avail, reserved int64
	err := s.read.QueryRowContext(ctx, s.q(`SELECT COALESCE(SUM(available), 0), COALESCE(SUM(reserved), 0) FROM (
		SELECT available, reserved FROM inventory WHERE shop_id = ? AND sku = ?
		UNION ALL SELECT available, reserved FROM inventory_buckets WHERE shop_id = ? AND sku = ?) t`),
		shopID, sku, shopID, sku).Scan(&avail, &reserved)
	return avail, reserved, classify(err)
}

// saleEvent is the payload of sale.* events.
type saleEvent struct {
	SKU string `json:"sku"`
}

// insertSaleEvent writes a sale.* event in the caller's transaction.
func (s *Store) insertSaleEvent(ctx context.Context, tx dbtx, shopID int64, sku, eventType string, now time.Time) error {
	payload, _ := json.Marshal(saleEvent{SKU: sku})
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO outbox (event_id, shop_id, aggregate, aggregate_id, event_type, payload, occurred_at, trace_parent)
		VALUES (?, ?, 'sale', ?, ?, ?, ?, ?)`), "evt_"+uuid.Must(uuid.NewV7()).String(), shopID, sku, eventType, string(payload), micros(now),
		tracectx.From(ctx).String())
	return err
}

// markSoldOut records, once, that a flash-sale SKU has nothing left to
// sell and announces it, after a reservation from bucket (-1: the main
// row). Only a reservation that emptied its row can have taken the last
// unit; it locks the sale first, so that two buyers emptying two buckets
// at once check one after the other and the second sees the first's
// commit: otherwise each could see the other's bucket still full and
// neither mark it. The sale's row comes last in the lock order.
func (s *Store) markSoldOut(ctx context.Context, tx dbtx, shopID int64, sku string, bucket int, now time.Time) error {
	var one int
	err := tx.QueryRowContext(ctx, s.q(lockEmptiedSaleQuery+s.forUpdate()), lockEmptiedSaleArgs(shopID, sku, bucket)...).Scan(&one)
	if err == sql.ErrNoRows {
		return nil // its row has units left, or the sale is already sold out
	}
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, s.q(markSoldOutQuery), markSoldOutArgs(shopID, sku, now)...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return s.insertSaleEvent(ctx, tx, shopID, sku, "sale.sold_out", now)
	}
	return nil
}

// lockEmptiedSaleQuery selects the sale, to lock it, when the row a
// reservation came from has nothing left.
const lockEmptiedSaleQuery = `SELECT 1 FROM flash_sales WHERE shop_id = ? AND sku = ? AND sold_out_at IS NULL
	AND NOT EXISTS (SELECT 1 FROM inventory_buckets WHERE shop_id = ? AND sku = ? AND bucket = ? AND available > 0)
	AND NOT EXISTS (SELECT 1 FROM inventory WHERE shop_id = ? AND sku = ? AND ? < 0 AND available > 0)`

func lockEmptiedSaleArgs(shopID int64, sku string, bucket int) []any {
	return []any{shopID, sku, shopID, sku, bucket, shopID, sku, bucket}
}

const markSoldOutQuery = `UPDATE flash_sales SET sold_out_at = ?
	WHERE shop_id = ? AND sku = ? AND sold_out_at IS NULL
	AND NOT EXISTS (SELECT 1 FROM inventory_buckets WHERE shop_id = ? AND sku = ? AND available > 0)
	AND NOT EXISTS (SELECT 1 FROM inventory WHERE shop_id = ? AND sku = ? AND available > 0)`

func markSoldOutArgs(shopID int64, sku string, now time.Time) []any {
	return []any{micros(now), shopID, sku, shopID, sku, shopID, sku}
}

// SaleStats is one active sale as metrics show it.
type SaleStats struct {
	Shop, SKU                       string
	UnitsLeft, Queue, AdmissionRate int64
}

// SaleStats returns every flash sale with its units left and queue length.
func (s *Store) SaleStats(ctx context.Context) ([]SaleStats, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT sh.slug, f.sku, f.admission_rate,
			COALESCE((SELECT SUM(available) FROM inventory_buckets b WHERE b.shop_id = f.shop_id AND b.sku = f.sku), 0)
				+ COALESCE((SELECT available FROM inventory i WHERE i.shop_id = f.shop_id AND i.sku = f.sku), 0),
			(SELECT COUNT(*) FROM queue_entries q WHERE q.shop_id = f.shop_id AND q.sku = f.sku)
		FROM flash_sales f JOIN shops sh ON sh.shop_id = f.shop_id ORDER BY sh.slug, f.sku`)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []SaleStats
	for rows.Next() {
		var st SaleStats
		if err := rows.Scan(&st.Shop, &st.SKU, &st.AdmissionRate, &st.UnitsLeft, &st.Queue); err != nil {
			return nil, classify(err)
		}
		out = append(out, st)
	}
	return out, classify(rows.Err())
}
