package store

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/testrig"
)

// The two migration trees are written by hand, one per engine. This test
// keeps them describing one schema: after migrating, both engines have the
// same tables, columns (type family and nullability), keys, unique
// constraints, CHECK constraints (by count), foreign keys and indexes
// (columns, uniqueness, partial or not). A migration added to one tree
// only fails here.
func TestSchemasMatch(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	open := func(cfg Config) *Store {
		s, err := Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}
	lite, err := sqliteSchema(ctx, open(Config{DataDir: t.TempDir(), MaxConns: 2}).read)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := postgresSchema(ctx, open(Config{DatabaseURL: testrig.PostgresURL(t), MaxConns: 2}).write)
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) < 20 {
		t.Fatalf("SQLite schema has %d facts; the introspection is broken", len(lite))
	}
	for _, f := range lite {
		if !slices.Contains(pg, f) && !searchOnly(f, "products_fts", "products.product_id", "products(product_id)") {
			t.Errorf("only on SQLite: %s", f)
		}
	}
	for _, f := range pg {
		if !slices.Contains(lite, f) && !searchOnly(f, "products.search ", "index products_search ") {
			t.Errorf("only on PostgreSQL: %s", f)
		}
	}
}

// searchOnly reports whether a fact belongs to an engine's own full-text
// search, the one difference ADR 0002 keeps: SQLite indexes products in an
// FTS5 table keyed by a rowid (product_id), PostgreSQL in a tsvector
// column with a GIN index.
func searchOnly(fact string, marks ...string) bool {
	for _, m := range marks {
		if strings.Contains(fact, m) {
			return true
		}
	}
	return false
}

// family folds a declared column type into what both engines agree on.
func family(typ string) string {
	typ = strings.ToLower(typ)
	switch {
	case strings.Contains(typ, "int"), typ == "boolean":
		return "integer"
	case strings.Contains(typ, "char"), typ == "text":
		return "text"
	case typ == "blob", typ == "bytea":
		return "bytes"
	case strings.Contains(typ, "real"), strings.Contains(typ, "double"), strings.Contains(typ, "numeric"):
		return "real"
	}
	return typ
}

// ignoredTable is bookkeeping of the migration tool, not Surge's schema.
func ignoredTable(name string) bool {
	return name == "goose_db_version" || strings.HasPrefix(name, "sqlite_")
}

func sqliteSchema(ctx context.Context, db *sql.DB) ([]string, error) {
	var facts []string
	tables := map[string]string{}
	rows, err := db.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var name, ddl string
		if err := rows.Scan(&name, &ddl); err != nil {
			return nil, err
		}
		if !ignoredTable(name) {
			tables[name] = ddl
		}
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	checkRe := regexp.MustCompile(`(?i)\bCHECK\s*\(`)
	for name, ddl := range tables {
		facts = append(facts, "table "+name)
		facts = append(facts, fmt.Sprintf("table %s has %d CHECK constraints", name, len(checkRe.FindAllString(ddl, -1))))
		var pk []string
		if err := eachRow(ctx, db, func(scan func(...any) error) error {
			var cid, notNull, pkPos int
			var col, typ string
			var dflt sql.NullString
			if err := scan(&cid, &col, &typ, &notNull, &dflt, &pkPos); err != nil {
				return err
			}
			if pkPos > 0 {
				pk = append(pk, col)
				notNull = 1 // a primary key column is never null on either engine
			}
			facts = append(facts, fmt.Sprintf("column %s.%s %s null=%v", name, col, family(typ), notNull == 0))
			return nil
		}, `SELECT cid, name, type, "notnull", dflt_value, pk FROM pragma_table_info(?) ORDER BY pk`, name); err != nil {
			return nil, err
		}
		if len(pk) > 0 {
			facts = append(facts, fmt.Sprintf("unique %s(%s)", name, strings.Join(pk, ",")))
		}
		if err := eachRow(ctx, db, func(scan func(...any) error) error {
			var idx, origin string
			var unique, partial bool
			if err := scan(&idx, &unique, &origin, &partial); err != nil {
				return err
			}
			var cols []string
			if err := eachRow(ctx, db, func(scan func(...any) error) error {
				var col sql.NullString
				if err := scan(&col); err != nil {
					return err
				}
				cols = append(cols, col.String)
				return nil
			}, `SELECT name FROM pragma_index_info(?) ORDER BY seqno`, idx); err != nil {
				return err
			}
			switch origin {
			case "pk":
			case "u":
				facts = append(facts, fmt.Sprintf("unique %s(%s)", name, strings.Join(cols, ",")))
			default:
				facts = append(facts, fmt.Sprintf("index %s on %s(%s) unique=%v partial=%v", idx, name, strings.Join(cols, ","), unique, partial))
			}
			return nil
		}, `SELECT name, "unique", origin, partial FROM pragma_index_list(?)`, name); err != nil {
			return nil, err
		}
		fks := map[int]*[3]string{}
		if err := eachRow(ctx, db, func(scan func(...any) error) error {
			var id int
			var table, from, to string
			if err := scan(&id, &table, &from, &to); err != nil {
				return err
			}
			fk := fks[id]
			if fk == nil {
				fk = &[3]string{table}
				fks[id] = fk
			}
			fk[1] += "," + from
			fk[2] += "," + to
			return nil
		}, `SELECT id, "table", "from", "to" FROM pragma_foreign_key_list(?) ORDER BY id, seq`, name); err != nil {
			return nil, err
		}
		for _, fk := range fks {
			facts = append(facts, fmt.Sprintf("foreign key %s(%s) -> %s(%s)", name, fk[1][1:], fk[0], fk[2][1:]))
		}
	}
	slices.Sort(facts)
	return facts, nil
}

func postgresSchema(ctx context.Context, db *sql.DB) ([]string, error) {
	var facts []string
	add := func(query string, each func(scan func(...any) error) (string, error)) error {
		return eachRow(ctx, db, func(scan func(...any) error) error {
			f, err := each(scan)
			if f != "" && err == nil {
				facts = append(facts, f)
			}
			return err
		}, query)
	}
	err := add(`SELECT c.relname, COUNT(k.oid) FILTER (WHERE k.contype = 'c')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_constraint k ON k.conrelid = c.oid
		WHERE n.nspname = current_schema() AND c.relkind = 'r' GROUP BY c.relname`, func(scan func(...any) error) (string, error) {
		var table string
		var checks int
		if err := scan(&table, &checks); err != nil || ignoredTable(table) {
			return "", err
		}
		facts = append(facts, "table "+table)
		return fmt.Sprintf("table %s has %d CHECK constraints", table, checks), nil
	})
	if err != nil {
		return nil, err
	}
	err = add(`SELECT table_name, column_name, data_type, is_nullable = 'YES' FROM information_schema.columns
		WHERE table_schema = current_schema()`, func(scan func(...any) error) (string, error) {
		var table, col, typ string
		var null bool
		if err := scan(&table, &col, &typ, &null); err != nil || ignoredTable(table) {
			return "", err
		}
		return fmt.Sprintf("column %s.%s %s null=%v", table, col, family(typ), null), nil
	})
	if err != nil {
		return nil, err
	}
	// Keys and constraints, with their columns in key order.
	err = add(`SELECT k.contype, c.relname,
			(SELECT string_agg(a.attname, ',' ORDER BY u.ord) FROM unnest(k.conkey) WITH ORDINALITY u(att, ord)
				JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.att),
			COALESCE(f.relname, ''),
			COALESCE((SELECT string_agg(a.attname, ',' ORDER BY u.ord) FROM unnest(k.confkey) WITH ORDINALITY u(att, ord)
				JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.att), '')
		FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_class f ON f.oid = k.confrelid
		WHERE n.nspname = current_schema() AND k.contype IN ('p', 'u', 'f')`, func(scan func(...any) error) (string, error) {
		var typ, table, cols, ref, refCols string
		if err := scan(&typ, &table, &cols, &ref, &refCols); err != nil || ignoredTable(table) {
			return "", err
		}
		if typ == "f" {
			return fmt.Sprintf("foreign key %s(%s) -> %s(%s)", table, cols, ref, refCols), nil
		}
		return fmt.Sprintf("unique %s(%s)", table, cols), nil
	})
	if err != nil {
		return nil, err
	}
	// Indexes that no constraint owns: the ones a migration created.
	err = add(`SELECT i.relname, t.relname, x.indisunique, x.indpred IS NOT NULL,
			(SELECT string_agg(COALESCE(a.attname, ''), ',' ORDER BY u.ord) FROM unnest(x.indkey::int2[]) WITH ORDINALITY u(att, ord)
				LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.att)
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = current_schema() AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)`,
		func(scan func(...any) error) (string, error) {
			var idx, table, cols string
			var unique, partial bool
			if err := scan(&idx, &table, &unique, &partial, &cols); err != nil || ignoredTable(table) {
				return "", err
			}
			return fmt.Sprintf("index %s on %s(%s) unique=%v partial=%v", idx, table, cols, unique, partial), nil
		})
	if err != nil {
		return nil, err
	}
	slices.Sort(facts)
	return facts, nil
}

func eachRow(ctx context.Context, db *sql.DB, each func(scan func(...any) error) error, query string, args ...any) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}
