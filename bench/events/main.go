// Command events measures the event pipeline on one embedded JetStream
// broker (file store, as `surge serve` runs it), in one run:
//
//   - raw: JetStream async publish of N order envelopes, the ceiling;
//   - relay: the relay draining N committed events from the SQLite outbox
//     (publish, wait for acks, mark published), reported as relay ÷ raw;
//   - latency: Surge as a process at half its maximum checkout rate, and
//     for every paid order the time from the order.paid event's commit
//     stamp (outbox occurred_at) to each consumer's effect stamp
//     (consumed_events consumed_at), p50/p99.
//
// Loopback only, bounded in time.
//
// With -postgres the latency phase runs Surge on a throw-away PostgreSQL
// (its consumers then write through group commit instead of SQLite's one
// writer).
//
//	go run ./bench/events [-n 20000] [-passes 5] [-d 10s] [-postgres]
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/surge-commerce/surge/bench/loadgen"
	"github.com/surge-commerce/surge/internal/broker"
	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/relay"
	"github.com/surge-commerce/surge/internal/store"
)

func main() {
	n := flag.Int("n", 20000, "events per throughput pass")
	passes := flag.Int("passes", 5, "alternating raw and relay passes (medians are compared)")
	d := flag.Duration("d", 10*time.Second, "duration of the latency phase (and 5 s closed loop before it)")
	pg := flag.Bool("postgres", false, "run the latency phase on PostgreSQL instead of SQLite")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the throughput passes to this file")
	flag.Parse()
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average before the run: %s\n", strings.TrimSpace(string(b)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if err := throughput(ctx, *n, *passes, *cpuprofile); err != nil {
		fmt.Fprintln(os.Stderr, "events:", err)
		os.Exit(1)
	}
	if err := latency(ctx, *d, *pg); err != nil {
		fmt.Fprintln(os.Stderr, "events:", err)
		os.Exit(1)
	}
}

// throughput compares the relay with raw async publishing on one broker.
func throughput(ctx context.Context, n, passes int, cpuprofile string) error {
	dir, err := os.MkdirTemp("", "surge-bench-events")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	brk, err := broker.Start(ctx, broker.Config{DataDir: dir, Name: "bench"})
	if err != nil {
		return err
	}
	defer brk.Close()
	err = brk.EnsureStreams(ctx, broker.StreamConfig{Replicas: 1, Duplicates: 2 * time.Hour, MaxAge: 30 * 24 * time.Hour},
		append(event.Streams, event.DLQ)...)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, store.Config{DataDir: dir, MaxConns: 4})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	shop, err := st.CreateShop(ctx, "bench", "Bench", "bench-key", time.Now())
	if err != nil {
		return err
	}
	sample, _ := json.Marshal(envelopes(shop.ID, "bench", 2)[1])
	fmt.Printf("throughput: %d events per pass (order.created + order.paid pairs), %d-byte envelopes, embedded JetStream file store\n", n, len(sample))
	// Raw and relay passes alternate, so a noisy neighbour on a shared
	// machine hits both; the medians are compared. The relay is the only
	// one on its SQLite outbox, as `surge serve` runs it.
	rl := relay.New(st, brk.JetStream(), nil, relay.Config{Sole: true}, time.Now, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var raws, relays []float64
	for pass := range passes {
		events := envelopes(shop.ID, "bench", n)
		raw, err := rawPublish(ctx, brk.JetStream(), events, fmt.Sprintf("raw%d_", pass))
		if err != nil {
			return err
		}
		if err := fillOutbox(ctx, st, events); err != nil {
			return err
		}
		start := time.Now()
		published, err := rl.Drain(ctx)
		if err != nil {
			return fmt.Errorf("relay: %w", err)
		}
		if published != n {
			return fmt.Errorf("relay published %d of %d events", published, n)
		}
		rate := float64(n) / time.Since(start).Seconds()
		fmt.Printf("  pass %d: raw async publish %6.0f events/s, relay (read outbox → publish → acks → mark) %6.0f events/s\n", pass+1, raw, rate)
		raws, relays = append(raws, raw), append(relays, rate)
	}
	raw, rate := loadgen.Median(raws), loadgen.Median(relays)
	fmt.Printf("  median: raw %.0f events/s, relay %.0f events/s; relay ÷ raw = %.2f (goal ≥ 0.5)\n\n", raw, rate, rate/raw)
	return nil
}

// envelopes builds n events as checkout writes them: for each order an
// order.created and then an order.paid, with a one-line payload and a trace.
func envelopes(shopID int64, slug string, n int) []event.Envelope {
	out := make([]event.Envelope, 0, n)
	now := time.Now().UTC()
	for i := 0; len(out) < n; i++ {
		orderID := fmt.Sprintf("ord_%s", uuid.Must(uuid.NewV7()))
		for _, typ := range []string{"order.created", "order.paid"} {
			status := map[string]string{"order.created": "pending_payment", "order.paid": "paid"}[typ]
			data, _ := json.Marshal(event.OrderData{OrderID: orderID, CustomerID: fmt.Sprintf("cus_%d", i%500), Status: status,
				Lines: []event.OrderLine{{SKU: fmt.Sprintf("SKU-%d", i%10), Title: "Item", UnitPrice: 1000, Quantity: 1}},
				Total: 1000, Currency: "EUR"})
			out = append(out, event.Envelope{Spec: event.Spec, ID: "evt_" + uuid.Must(uuid.NewV7()).String(), Type: typ,
				Shop: slug, ShopID: shopID, Aggregate: "order", AggregateID: orderID, OccurredAt: now,
				TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", Data: data})
			if len(out) == n {
				break
			}
		}
	}
	return out
}

// rawPublish publishes the envelopes (under fresh ids, so the broker keeps
// them) asynchronously and waits for every ack: the broker's ceiling.
func rawPublish(ctx context.Context, js jetstream.JetStream, events []event.Envelope, prefix string) (float64, error) {
	bodies := make([]*nats.Msg, len(events))
	for i, e := range events {
		e.ID = prefix + e.ID
		body, err := json.Marshal(e)
		if err != nil {
			return 0, err
		}
		bodies[i] = &nats.Msg{Subject: e.Subject(), Data: body, Header: nats.Header{}}
		bodies[i].Header.Set(jetstream.MsgIDHeader, e.ID)
		bodies[i].Header.Set("traceparent", e.TraceParent)
	}
	start := time.Now()
	futures := make([]jetstream.PubAckFuture, 0, len(bodies))
	for _, m := range bodies {
		f, err := js.PublishMsgAsync(m)
		if err != nil {
			return 0, err
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return 0, err
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return float64(len(bodies)) / time.Since(start).Seconds(), nil
}

// fillOutbox commits the events as unpublished outbox rows, as checkouts
// would have, in a few large transactions (the fill is not measured).
func fillOutbox(ctx context.Context, st *store.Store, events []event.Envelope) error {
	db := st.Pools()["write"]
	for lo := 0; lo < len(events); lo += 1000 {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for _, e := range events[lo:min(lo+1000, len(events))] {
			_, err := tx.ExecContext(ctx, `INSERT INTO outbox (event_id, shop_id, aggregate, aggregate_id, event_type, payload, occurred_at, trace_parent)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, e.ShopID, e.Aggregate, e.AggregateID, e.Type, string(e.Data), e.OccurredAt.UnixMicro(), e.TraceParent)
			if err != nil {
				_ = tx.Rollback()
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// latency runs Surge at half its maximum checkout rate and reads, from its
// database, how long each paid order's event took to reach every consumer.
func latency(ctx context.Context, d time.Duration, pg bool) error {
	dir, err := os.MkdirTemp("", "surge-bench-events-e2e")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db := store.Config{DataDir: filepath.Join(dir, "data"), MaxConns: 1}
	var env []string
	engine := "SQLite"
	if pg {
		url, stop, err := loadgen.StartPostgres(dir)
		if err != nil {
			return err
		}
		defer stop()
		env, db.DatabaseURL, engine = append(env, "SURGE_DATABASE_URL="+url), url, "PostgreSQL"
	}
	s, err := loadgen.StartSurge(ctx, dir, env...)
	if err != nil {
		return err
	}
	defer s.Stop()
	c := &shopClient{base: s.URL, http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}}
	if err := c.setup(); err != nil {
		return err
	}
	peak := loadgen.ClosedLoop(16, 5*time.Second, c.checkout)
	rate := peak.Rate() / 2
	if err := waitSettled(ctx, db, 60*time.Second); err != nil {
		return err
	}
	mark := time.Now()
	half := loadgen.Open(rate, d, 1024, c.checkout)
	if err := waitSettled(ctx, db, 60*time.Second); err != nil {
		return err
	}
	fmt.Printf("latency (%s): max %.0f checkouts/s (closed loop, 16 clients, 5 s); at half (%.0f/s offered, %d paid, %d failed, %d late) for %s:\n",
		engine, peak.Rate(), rate, half.OK, half.Fail, half.Late, d)
	fmt.Printf("  checkout HTTP p50 %.1f ms  p99 %.1f ms\n", half.P(50), half.P(99))
	return report(ctx, db, mark)
}

// report prints commit→effect quantiles for order.paid events since t:
// from the outbox row's occurred_at (stamped in the transaction that made
// the order paid) to each consumer's consumed_at (stamped in the consumer's
// transaction, before its commit). Both stamps come from the same clock.
func report(ctx context.Context, db store.Config, since time.Time) error {
	st, err := store.Open(ctx, db)
	if err != nil {
		return err
	}
	defer st.Close()
	rows, err := readPool(st).QueryContext(ctx, fmt.Sprintf(`SELECT c.consumer, o.event_id, c.consumed_at - o.occurred_at
		FROM outbox o JOIN consumed_events c ON c.event_id = o.event_id
		WHERE o.event_type = 'order.paid' AND o.occurred_at >= %d`, since.UnixMicro()))
	if err != nil {
		return err
	}
	defer rows.Close()
	per := map[string][]int64{}
	last := map[string]int64{} // event → its slowest consumer
	for rows.Next() {
		var consumer, id string
		var us int64
		if err := rows.Scan(&consumer, &id, &us); err != nil {
			return err
		}
		per[consumer] = append(per[consumer], us)
		last[id] = max(last[id], us)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	all := make([]int64, 0, len(last))
	for _, us := range last {
		all = append(all, us)
	}
	per["all four (slowest consumer)"] = all
	// Of that, the relay's share: commit to the broker's ack.
	relayed, err := readPool(st).QueryContext(ctx, fmt.Sprintf(`SELECT published_at - occurred_at FROM outbox
		WHERE event_type = 'order.paid' AND occurred_at >= %d AND published_at IS NOT NULL`, since.UnixMicro()))
	if err != nil {
		return err
	}
	defer relayed.Close()
	for relayed.Next() {
		var us int64
		if err := relayed.Scan(&us); err != nil {
			return err
		}
		per["(relay: commit → published)"] = append(per["(relay: commit → published)"], us)
	}
	if err := relayed.Err(); err != nil {
		return err
	}
	names := make([]string, 0, len(per))
	for k := range per {
		names = append(names, k)
	}
	sort.Strings(names)
	fmt.Println("  commit→effect (order.paid occurred_at → consumed_at):")
	for _, k := range names {
		v := per[k]
		sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
		fmt.Printf("    %-28s n=%-6d p50 %6.1f ms  p99 %6.1f ms  max %6.1f ms\n", k, len(v), q(v, 0.50), q(v, 0.99), q(v, 1))
	}
	if p99 := q(all, 0.99); p99 > 0 {
		fmt.Printf("  goal p99 ≤ 100 ms: p99 ÷ goal = %.2f\n", p99/100)
	}
	return nil
}

func q(sorted []int64, f float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := min(len(sorted)-1, int(f*float64(len(sorted))))
	return float64(sorted[i]) / 1000
}

// waitSettled waits until every order.paid event has been applied by all
// four consumers and the outbox is published.
func waitSettled(ctx context.Context, cfg store.Config, limit time.Duration) error {
	st, err := store.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	db := readPool(st)
	deadline := time.Now().Add(limit)
	for {
		var unpublished, paid, consumed int64
		err := db.QueryRowContext(ctx, `SELECT
			(SELECT COUNT(*) FROM outbox WHERE published_at IS NULL),
			(SELECT COUNT(*) FROM outbox WHERE event_type = 'order.paid'),
			(SELECT COUNT(*) FROM consumed_events c JOIN outbox o ON o.event_id = c.event_id WHERE o.event_type = 'order.paid')`).
			Scan(&unpublished, &paid, &consumed)
		if err != nil {
			return err
		}
		if unpublished == 0 && consumed == 4*paid {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not settled after %s: %d unpublished, %d of %d effects", limit, unpublished, consumed, 4*paid)
		}
		time.Sleep(200 * time.Millisecond) // polling a condition
	}
}

// readPool is the store's read pool on either engine.
func readPool(st *store.Store) *sql.DB {
	if db, ok := st.Pools()["read"]; ok {
		return db
	}
	return st.Pools()["primary"]
}

// shopClient places checkouts in a shop of ten products and 200 customers.
type shopClient struct {
	base   string
	http   *http.Client
	tokens []string
	seq    atomic.Int64
}

func (c *shopClient) post(path, key, body string, header ...string) (int, []byte, error) {
	return loadgen.Do(c.http, "POST", c.base+path, key, body, header...)
}

func (c *shopClient) setup() error {
	code, body, err := c.post("/v1/admin/shops", "bench-admin-key-0123456789abcdef", `{"slug":"bench","name":"Bench"}`)
	if err != nil || code != http.StatusCreated {
		return fmt.Errorf("create shop: %d %s %v", code, body, err)
	}
	var shop struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal(body, &shop); err != nil {
		return err
	}
	for i := range 10 {
		req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/v1/shops/bench/admin/products/SKU-%d", c.base, i),
			strings.NewReader(`{"title":"Item","price":1000,"currency":"EUR","stock":100000000}`))
		req.Header.Set("Authorization", "Bearer "+shop.APIKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.http.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("put product: %d", resp.StatusCode)
		}
	}
	for range 200 {
		code, body, err := c.post("/v1/shops/bench/customers", "", "")
		if err != nil || code != http.StatusCreated {
			return fmt.Errorf("create customer: %d %v", code, err)
		}
		var cu struct{ Token string }
		if err := json.Unmarshal(body, &cu); err != nil {
			return err
		}
		c.tokens = append(c.tokens, cu.Token)
	}
	return nil
}

// checkout buys one unit; only a paid order (201) counts.
func (c *shopClient) checkout() bool {
	n := c.seq.Add(1)
	code, _, err := c.post("/v1/shops/bench/checkout", c.tokens[n%int64(len(c.tokens))],
		fmt.Sprintf(`{"items":[{"sku":"SKU-%d","quantity":1}]}`, n%10), "Idempotency-Key", fmt.Sprintf("k%d", n))
	return err == nil && code == http.StatusCreated
}
