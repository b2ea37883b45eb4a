package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// seedTimeout bounds one seed from start to the last audit.
const seedTimeout = 5 * time.Minute

// outcome is what one seed found.
type outcome struct {
	Schedule Schedule
	Breaches []string
	Logs     string // the tail of the server's output
}

// explore runs the schedule of seed against a fresh provider and server
// on engine, then judges it. dbURL is the PostgreSQL URL, empty on SQLite.
func explore(t *testing.T, bin, engine, dbURL string, seed uint64) outcome {
	ctx, cancel := context.WithTimeout(t.Context(), seedTimeout)
	defer cancel()
	out := outcome{Schedule: Generate(seed)}
	c := newCluster(t, bin, dbURL, out.Schedule)
	r := newRunner(c, out.Schedule)
	if err := r.setup(ctx); err != nil {
		t.Fatalf("seed %d: set-up: %v", seed, err)
	}
	r.execute(ctx)
	t.Logf("seed %d on %s: %s", seed, engine, r.rec.summary())
	if err := r.settle(ctx); err != nil {
		out.Breaches = append(out.Breaches, err.Error())
	}
	list, err := r.orders(ctx)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	orders := map[string]order{}
	for _, o := range list {
		orders[o.ID] = o
	}
	payments, err := r.ledger(ctx)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	out.Breaches = append(out.Breaches, judge(r.rec, orders, payments)...)
	out.Breaches = append(out.Breaches, r.auditHTTP(ctx)...)
	out.Breaches = append(out.Breaches, evidence(out.Breaches, orders, payments)...)
	out.Logs = c.logs()
	c.stop()
	out.Breaches = append(out.Breaches, c.auditCLI(ctx)...)
	return out
}

var orderIDs = regexp.MustCompile(`ord_[0-9a-f-]+`)

// evidence adds, for each order a breach names, its final status and its
// payments in the provider's ledger.
func evidence(breaches []string, orders map[string]order, payments []payment) []string {
	var out []string
	seen := map[string]bool{}
	for _, b := range breaches {
		for _, id := range orderIDs.FindAllString(b, -1) {
			if seen[id] {
				continue
			}
			seen[id] = true
			var ledger []string
			for _, p := range payments {
				if p.MerchantReference == id {
					ledger = append(ledger, fmt.Sprintf("%s %s %d", p.ID, p.Status, p.Amount))
				}
			}
			out = append(out, fmt.Sprintf("evidence: order %s is %q; provider ledger %v", id, orders[id].Status, ledger))
		}
	}
	return out
}

// report renders a breach: the seed, engine, schedule, what broke and the
// command that replays it.
func (o outcome) report(engine string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "explorer breach: seed %d on %s\n\nschedule:\n%s\nbroke:\n", o.Schedule.Seed, engine, o.Schedule)
	for _, br := range o.Breaches {
		fmt.Fprintf(&b, "  - %s\n", br)
	}
	fmt.Fprintf(&b, "\nreplay: %s\n\nserver output (tail):\n%s", replayCommand(o.Schedule.Seed, engine), o.Logs)
	return b.String()
}

func replayCommand(seed uint64, engine string) string {
	return fmt.Sprintf("scripts/test.sh -run TestExploreE2E ./internal/explore/e2e -args -seed=%d -engine=%s", seed, engine)
}
