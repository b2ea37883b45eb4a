package store

import (
	"context"
	"testing"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/testrig"
)

// What a pipelined transaction leaves queued goes out with its COMMIT. If
// one of those statements fails, nothing of the transaction stays, the
// caller hears of it, and the one connection of the pool is clean for the
// next transaction.
func TestQueuedStatementsCommitTogether(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{SQLite, Postgres} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			cfg := Config{DataDir: t.TempDir(), MaxConns: 1}
			if engine == Postgres {
				cfg = Config{DatabaseURL: testrig.PostgresURL(t), MaxConns: 1}
			}
			ctx := t.Context()
			s, err := Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			flag := `INSERT INTO feature_flags (name, enabled, updated_at) VALUES (?, ?, 0)`
			write := func(names ...string) error {
				return s.pipelined(ctx, func(ctx context.Context, tx *pipeTx) error {
					var n int64
					tx.queryRow(new(bool), `SELECT COUNT(*) FROM feature_flags`, nil, &n)
					if err := tx.flush(ctx); err != nil {
						return err
					}
					for _, name := range names {
						tx.exec(nil, flag, name, 1)
					}
					return nil
				})
			}
			if err := write("a", "b"); err != nil {
				t.Fatal(err)
			}
			// "b" again breaks the primary key: "c", queued before it, must
			// not stay.
			if err := write("c", "b"); !errcode.Is(err, errcode.Conflict) {
				t.Fatalf("a batch breaking a primary key: %v, want a conflict", err)
			}
			if err := write("d"); err != nil {
				t.Fatalf("the next transaction on the pool's one connection: %v", err)
			}
			flags, err := s.Flags(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(flags) != 3 || !flags["a"] || !flags["b"] || !flags["d"] {
				t.Fatalf("flags %v, want a, b and d", flags)
			}
		})
	}
}
