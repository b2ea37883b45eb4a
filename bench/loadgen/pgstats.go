package loadgen

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// StatementStats is the server setting StartPostgres needs for
// ResetStatements and PrintStatements.
const StatementStats = "shared_preload_libraries=pg_stat_statements"

// ResetStatements starts counting statements afresh in dbURL's database.
func ResetStatements(ctx context.Context, dbURL string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()")
	return err
}

// PrintStatements prints the statements of dbURL's database that took the
// most of the server's time since ResetStatements, per operation (ops
// operations ran meanwhile), and the totals.
func PrintStatements(ctx context.Context, dbURL string, ops int64) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	const mine = `dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`
	var calls, ms float64
	if err := conn.QueryRow(ctx, `SELECT coalesce(sum(calls), 0), coalesce(sum(total_exec_time), 0) FROM pg_stat_statements WHERE `+mine).
		Scan(&calls, &ms); err != nil {
		return err
	}
	n := float64(max(ops, 1))
	fmt.Printf("statements: %.1f per operation, %.3f ms of server time per operation\n", calls/n, ms/n)
	rows, err := conn.Query(ctx, `SELECT calls, total_exec_time, left(regexp_replace(query, '\s+', ' ', 'g'), 110)
		FROM pg_stat_statements WHERE `+mine+` ORDER BY total_exec_time DESC LIMIT 25`)
	if err != nil {
		return err
	}
	defer rows.Close()
	fmt.Printf("  %8s %8s %8s  %s\n", "calls/op", "µs/op", "µs/call", "statement")
	for rows.Next() {
		var c int64
		var t float64
		var q string
		if err := rows.Scan(&c, &t, &q); err != nil {
			return err
		}
		fmt.Printf("  %8.2f %8.1f %8.1f  %s\n", float64(c)/n, t*1000/n, t*1000/float64(max(c, 1)), q)
	}
	return rows.Err()
}
