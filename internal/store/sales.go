package store

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/surge-commerce/surge/internal/analytics"
	"github.com/surge-commerce/surge/internal/recommend"
)

// ApplySales adds paid orders' lines to the per-minute sales of each SKU,
// once per event, in one transaction for the batch, and returns how many
// events it applied. Lines on the same SKU and minute are summed first:
// during a flash sale every order adds to one row, whose lock is held
// through the commit's disk flush (ADR 0015).
func (s *Store) ApplySales(ctx context.Context, sales []analytics.Sale, now time.Time) (int, error) {
	type key struct {
		shopID int64
		sku    string
		minute int64
	}
	applied := 0
	err := s.pipelined(ctx, func(ctx context.Context, t *pipeTx) error {
		fresh, err := claimNow(ctx, t, "analytics", sales,
			func(sale analytics.Sale) claimed { return claimed{sale.EventID, sale.ShopID} }, now)
		applied = len(fresh)
		if err != nil || len(fresh) == 0 {
			return err
		}
		sums := map[key][2]int64{} // units, revenue
		var keys []key
		for _, sale := range fresh {
			for _, l := range sale.Lines {
				k := key{sale.ShopID, l.SKU, sale.At.Truncate(time.Minute).Unix()}
				sum, seen := sums[k]
				if !seen {
					keys = append(keys, k)
				}
				sums[k] = [2]int64{sum[0] + l.Quantity, sum[1] + l.Quantity*l.UnitPrice}
			}
		}
		if len(keys) == 0 {
			return nil
		}
		// One lock order for every replica's batches.
		slices.SortFunc(keys, func(a, b key) int {
			return cmp.Or(cmp.Compare(a.shopID, b.shopID), strings.Compare(a.sku, b.sku), cmp.Compare(a.minute, b.minute))
		})
		query := `INSERT INTO sales_by_minute (shop_id, sku, minute, units, revenue) VALUES `
		args := make([]any, 0, 5*len(keys))
		for i, k := range keys {
			query += valuesRow(i, 5)
			args = append(args, k.shopID, k.sku, k.minute, sums[k][0], sums[k][1])
		}
		t.exec(nil, query+` ON CONFLICT (shop_id, sku, minute) DO UPDATE SET
			units = sales_by_minute.units + excluded.units, revenue = sales_by_minute.revenue + excluded.revenue`, args...)
		return nil // the upsert goes out with the commit
	})
	if err != nil {
		return 0, err
	}
	return applied, nil
}

// BestSellers returns the SKUs that sold most units since the given time.
func (s *Store) BestSellers(ctx context.Context, shopID int64, since time.Time, limit int) ([]analytics.SKUSales, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT sku, SUM(units), SUM(revenue) FROM sales_by_minute
		WHERE shop_id = ? AND minute >= ? GROUP BY sku ORDER BY SUM(units) DESC, sku LIMIT ?`),
		shopID, since.Truncate(time.Minute).Unix(), limit)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []analytics.SKUSales
	for rows.Next() {
		var u analytics.SKUSales
		if err := rows.Scan(&u.SKU, &u.Units, &u.Revenue); err != nil {
			return nil, classify(err)
		}
		out = append(out, u)
	}
	return out, classify(rows.Err())
}

// ApplyBoughtTogether counts, once per event, every pair of distinct SKUs
// that appear in one paid order, in both directions, in one transaction
// for the batch, and returns how many events it applied. Pairs repeated
// across the batch are summed first.
func (s *Store) ApplyBoughtTogether(ctx context.Context, orders []recommend.Bought, now time.Time) (int, error) {
	type pair struct {
		shopID     int64
		sku, other string
	}
	applied := 0
	err := s.pipelined(ctx, func(ctx context.Context, t *pipeTx) error {
		fresh, err := claimNow(ctx, t, "recommend", orders,
			func(o recommend.Bought) claimed { return claimed{o.EventID, o.ShopID} }, now)
		applied = len(fresh)
		if err != nil || len(fresh) == 0 {
			return err
		}
		counts := map[pair]int64{}
		var pairs []pair
		for _, o := range fresh {
			skus := slices.Compact(slices.Sorted(slices.Values(o.SKUs)))
			for _, a := range skus {
				for _, b := range skus {
					if a == b {
						continue
					}
					p := pair{o.ShopID, a, b}
					if counts[p] == 0 {
						pairs = append(pairs, p)
					}
					counts[p]++
				}
			}
		}
		if len(pairs) == 0 {
			return nil
		}
		// One lock order for every replica's batches.
		slices.SortFunc(pairs, func(a, b pair) int {
			return cmp.Or(cmp.Compare(a.shopID, b.shopID), strings.Compare(a.sku, b.sku), strings.Compare(a.other, b.other))
		})
		query := `INSERT INTO bought_together (shop_id, sku, other_sku, orders) VALUES `
		args := make([]any, 0, 4*len(pairs))
		for i, p := range pairs {
			query += valuesRow(i, 4)
			args = append(args, p.shopID, p.sku, p.other, counts[p])
		}
		t.exec(nil, query+` ON CONFLICT (shop_id, sku, other_sku) DO UPDATE SET
			orders = bought_together.orders + excluded.orders`, args...)
		return nil // the upsert goes out with the commit
	})
	if err != nil {
		return 0, err
	}
	return applied, nil
}

// BoughtTogether returns the SKUs most often bought with sku.
func (s *Store) BoughtTogether(ctx context.Context, shopID int64, sku string, limit int) ([]analytics.SKUSales, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT other_sku, orders FROM bought_together
		WHERE shop_id = ? AND sku = ? ORDER BY orders DESC, other_sku LIMIT ?`), shopID, sku, limit)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []analytics.SKUSales
	for rows.Next() {
		var u analytics.SKUSales
		if err := rows.Scan(&u.SKU, &u.Units); err != nil {
			return nil, classify(err)
		}
		out = append(out, u)
	}
	return out, classify(rows.Err())
}
