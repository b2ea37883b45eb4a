// Command rules measures what it costs that the domain's rules run as Go
// functions the store calls inside its transactions (ADR 0025), against a
// floor measured in the same run: one SQLite commit of a one-row INSERT,
// with the store's own connection settings. A checkout commits at least
// twice; a sale's start once.
//
// It prints the time of each rule per call and its share of
// the floor. Loopback and a temporary directory only; a few seconds.
//
//	go run ./bench/rules
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/flashsale"
	"github.com/surge-commerce/surge/internal/inventory"
	"github.com/surge-commerce/surge/internal/store/sqlite"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "rules:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	floor, err := commitFloor(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	items := []checkout.Item{{SKU: "A", Quantity: 1}, {SKU: "B", Quantity: 2}, {SKU: "C", Quantity: 1}}
	products := []checkout.Product{
		{Found: true, Title: "A", Currency: "EUR", Price: 1999, Limit: 2},
		{Found: true, Title: "B", Currency: "EUR", Price: 850},
		{Found: true, Title: "C", Currency: "EUR", Price: 100, SaleStart: now.Add(-time.Minute)},
	}
	p := checkout.Placement{ShopID: 1, CustomerID: "cus_1", OrderID: "ord_1", Items: items, Now: now}
	sale := flashsale.Sale{SKU: "C", Stock: 10_000, Buckets: flashsale.DefaultBuckets}
	available := make([]int64, flashsale.DefaultBuckets)
	for i := range available {
		available[i] = 1
	}
	rules := []struct {
		name string
		f    func()
	}{
		{"checkout.Price, three lines", func() { _, _ = checkout.Price(p, products) }},
		{"flashsale.FirstBucket", func() { _ = flashsale.FirstBucket(flashsale.DefaultBuckets) }},
		{"flashsale.Gather, 16 buckets", func() { _, _ = flashsale.Gather(0, available, 8) }},
		{"Sale.Allocate, 16 buckets", func() { _, _ = sale.Allocate(flashsale.Stock{Received: 5_000, Committed: 1_200, Buckets: 16}) }},
		{"inventory.MainReceived", func() { _, _ = inventory.MainReceived("A", 100, 40, 10) }},
	}
	fmt.Printf("floor: one SQLite commit (one-row INSERT)   %9.0f ns\n", floor)
	for _, r := range rules {
		res := testing.Benchmark(func(b *testing.B) {
			for b.Loop() {
				r.f()
			}
		})
		ns := float64(res.T.Nanoseconds()) / float64(res.N)
		fmt.Printf("%-42s %9.1f ns   %.5f of the floor\n", r.name, ns, ns/floor)
	}
	return nil
}

// commitFloor is the time of one committed one-row INSERT on SQLite with
// the store's connection settings (WAL, synchronous FULL).
func commitFloor(ctx context.Context) (float64, error) {
	dir, err := os.MkdirTemp("", "rules-bench-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	write, read, err := sqlite.Open(ctx, filepath.Join(dir, "floor.db"), 1)
	if err != nil {
		return 0, err
	}
	defer write.Close()
	defer read.Close()
	if _, err := write.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		return 0, err
	}
	var failed error
	res := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			tx, err := write.BeginTx(ctx, nil)
			if err == nil {
				_, err = tx.ExecContext(ctx, `INSERT INTO t (v) VALUES ('x')`)
			}
			if err == nil {
				err = tx.Commit()
			}
			if err != nil {
				failed = err
				b.FailNow()
			}
		}
	})
	if failed != nil {
		return 0, failed
	}
	return float64(res.T.Nanoseconds()) / float64(res.N), nil
}
