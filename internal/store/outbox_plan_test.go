package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/testrig"
)

// The relays' read must look at unpublished events only, each checked by
// itself, however stale PostgreSQL's statistics are: with statistics that
// had seen no unpublished event, the plain form of the query compared
// every candidate with every unpublished event, and a backlog (after a
// broker outage, say) made each batch take seconds. The plan is the
// property; how long it takes belongs to the benchmarks.
func TestRelayReadPlanOnPostgres(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Open(ctx, Config{DatabaseURL: testrig.PostgresURL(t), MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	sh, err := s.CreateShop(ctx, "plan", "Plan", "plan-key", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	seed := func(prefix string, published any, n int) {
		t.Helper()
		_, err := s.write.ExecContext(ctx, `INSERT INTO outbox (event_id, shop_id, aggregate, aggregate_id, event_type, payload, occurred_at, published_at)
			SELECT $1 || g, $2, 'order', $1 || (g / 2), 'order.created', '{}', g, $3 FROM generate_series(1, $4) g`, prefix, sh.ID, published, n)
		if err != nil {
			t.Fatal(err)
		}
	}
	seed("old", 1, 20000)
	if _, err := s.write.ExecContext(ctx, `ANALYZE outbox`); err != nil {
		t.Fatal(err)
	}
	seed("new", nil, 3000) // the statistics have not seen these

	var lines []string
	rows, err := s.read.QueryContext(ctx, `EXPLAIN `+s.q(unpublished+" FOR UPDATE OF o SKIP LOCKED"), 500)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
	}
	plan := strings.Join(lines, "\n")
	for _, want := range []string{"Index Scan using outbox_pending on outbox o", "SubPlan", "Index Scan using outbox_aggregate on outbox e"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	for _, bad := range []string{"Join Filter", "Seq Scan on outbox", "Materialize", "Sort"} {
		if strings.Contains(plan, bad) {
			t.Errorf("plan has %q:\n%s", bad, plan)
		}
	}

	batch, err := s.readOutbox(ctx, s.read, s.q(unpublished), 500)
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) != 500 {
		t.Fatalf("read %d events, want 500", len(batch))
	}
	for _, e := range batch { // new1 is alone in its aggregate, then pairs: only the first of each
		if n := strings.TrimPrefix(e.ID, "new"); n != "1" && n[len(n)-1]%2 != 0 {
			t.Fatalf("read %s, whose aggregate has an earlier event unpublished", e.ID)
		}
	}
}
