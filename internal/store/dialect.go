package store

import (
	"database/sql"
	"io/fs"
	"strings"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/surge-commerce/surge/internal/store/postgres"
	"github.com/surge-commerce/surge/internal/store/sqlite"
)

// dialect holds every way the two engines differ. Open picks one; the rest
// of the store reads its fields and never compares the engine's name (a
// test holds every other file to that), so this file is the whole seam.
type dialect struct {
	// name is SQLite or Postgres, what Store.Engine reports.
	name string

	// numberedParams: queries are written with ? once and rewritten to
	// $1, $2, ... when set (Store.q).
	numberedParams bool
	// forUpdate locks the rows a write transaction read. SQLite needs none:
	// its write transactions already hold the whole database.
	forUpdate string
	// forUpdateNoWait is forUpdate failing at once, with lock_not_available
	// (retried), when another transaction holds the row.
	forUpdateNoWait string
	// clockMicros is the database's clock in microseconds since the epoch.
	clockMicros string
	// searchProducts returns the FROM-tail, WHERE and ORDER BY of a product
	// search for words (letters and digits only), to follow productColumns
	// and productFrom, with its arguments; LIMIT ? follows.
	searchProducts func(shopID int64, words []string) (string, []any)

	// readTx begins a transaction that only reads. SQLite's read pool is
	// read-only already (query_only), so it needs no flag.
	readTx sql.TxOptions
	// snapshotTx begins a read-only transaction that sees one instant:
	// PostgreSQL's repeatable read, SQLite's WAL read transaction.
	snapshotTx sql.TxOptions

	// oneWriter: writes queue for a single writer in this process
	// (SQLite), so work that need not hold it runs before taking it (a
	// checkout's token check, an outbox relay's publish) and there is one
	// relay. Otherwise (PostgreSQL) transactions write concurrently from
	// many processes: relays share the outbox under FOR UPDATE SKIP LOCKED
	// and a hot counter's row lock is released early in a transaction of
	// its own (a flash-sale queue's places).
	oneWriter bool
	// pipelines: a pipelined transaction's queued statements go out
	// together, in one round trip (PostgreSQL through pgx). SQLite is in
	// process: its statements run one by one in a plain transaction.
	pipelines bool

	// pools names the connection pools for metrics.
	pools func(write, read *sql.DB) map[string]*sql.DB
	// migrations returns the goose provider of this engine's migrations.
	// Out of order is allowed on both: migrations are expand-only and
	// independent, and a store that applied a later one (from another
	// branch of work) must still take an earlier one it lacks rather than
	// refuse to start.
	migrations func(db *sql.DB) (*goose.Provider, error)
}

var sqliteDialect = dialect{
	name:            SQLite,
	numberedParams:  false,
	forUpdate:       "",
	forUpdateNoWait: "",
	clockMicros:     `CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)`,
	searchProducts: func(shopID int64, words []string) (string, []any) {
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = `"` + w + `"`
		}
		return `JOIN products_fts ON products_fts.rowid = p.product_id
		WHERE products_fts MATCH ? AND p.shop_id = ? AND p.deleted_at IS NULL
		ORDER BY bm25(products_fts, 2.0, 1.0), p.sku`, []any{strings.Join(quoted, " "), shopID}
	},
	readTx:     sql.TxOptions{},
	snapshotTx: sql.TxOptions{},
	oneWriter:  true,
	pipelines:  false,
	pools: func(write, read *sql.DB) map[string]*sql.DB {
		return map[string]*sql.DB{"write": write, "read": read}
	},
	migrations: func(db *sql.DB) (*goose.Provider, error) {
		sub, _ := fs.Sub(sqlite.Migrations, "migrations")
		return goose.NewProvider(goose.DialectSQLite3, db, sub, goose.WithAllowOutofOrder(true))
	},
}

var postgresDialect = dialect{
	name:            Postgres,
	numberedParams:  true,
	forUpdate:       " FOR UPDATE",
	forUpdateNoWait: " FOR UPDATE NOWAIT",
	clockMicros:     `CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)`,
	searchProducts: func(shopID int64, words []string) (string, []any) {
		plain := strings.Join(words, " ")
		return `WHERE p.shop_id = ? AND p.deleted_at IS NULL AND p.search @@ plainto_tsquery('simple', ?)
			ORDER BY ts_rank(p.search, plainto_tsquery('simple', ?)) DESC, p.sku`, []any{shopID, plain, plain}
	},
	readTx:     sql.TxOptions{ReadOnly: true},
	snapshotTx: sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
	oneWriter:  false,
	pipelines:  true,
	pools: func(write, _ *sql.DB) map[string]*sql.DB {
		return map[string]*sql.DB{"primary": write}
	},
	migrations: func(db *sql.DB) (*goose.Provider, error) {
		// A session lock keeps replicas starting together from migrating twice.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		sub, _ := fs.Sub(postgres.Migrations, "migrations")
		return goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(locker), goose.WithAllowOutofOrder(true))
	},
}
