package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/surge-commerce/surge/internal/testrig"
)

// TestFlashSaleWaitingRoom checks the waiting room on one server: who
// joins before the start is in a pre-queue and gets a random place at the
// start, ahead of later arrivals; places are admitted in order; a ticket
// is useless to anyone but its customer; when the stock is gone every
// waiting buyer's next poll says sold out; the sale events reach the
// broker and the sale gauges reach /metrics.
func TestFlashSaleWaitingRoom(t *testing.T) {
	t.Parallel()
	broker := testrig.StartNATS(t) // a broker of its own, so the test can read the SALES stream
	s := startSurge(t, map[string]string{"SURGE_RATE_LIMITS": "off", "SURGE_NATS_URL": broker.URL()})
	sh := fsNewShop(t, s, "room", nil)

	t.Run("pre-queue, then in order", func(t *testing.T) {
		const n = 15
		sh.product(t, "FIFO", 100)
		custs := sh.customers(t, n+1)
		early, late := custs[:n], custs[n]
		// Nobody is let in before the start; then 5 a second.
		startsAt := time.Now().Add(5 * time.Second)
		sh.sale(t, "FIFO", `{"stock":100,"starts_at":"`+startsAt.UTC().Format(time.RFC3339Nano)+`","admission_burst":0,"admission_rate":5}`)
		tickets := make([]fsTicket, n)
		round := make([]int, n) // polling round in which each buyer was first seen admitted
		for i, c := range early {
			tk, r := sh.join(t, "FIFO", c)
			if time.Now().Before(startsAt) && (tk.Position != 0 || tk.Status != "waiting" || !strings.Contains(r.body, `"pre_queue":true`)) {
				t.Fatalf("buyer %d joined before the start: %s, want the pre-queue", i+1, r.body)
			}
			tickets[i], round[i] = tk, -1
		}
		if time.Now().After(startsAt) {
			t.Fatalf("15 joins took over 5 s: the pre-queue closed before the last")
		}
		testrig.Eventually(t, "the sale to start", func() bool { return time.Now().After(startsAt) })
		// After the start: a late arrival queues behind the whole pre-queue.
		if tk, _ := sh.join(t, "FIFO", late); tk.Position <= n {
			t.Fatalf("a buyer arriving after the start got place %d, ahead of the pre-queue of %d", tk.Position, n)
		}

		// Poll everyone still waiting, round after round.
		places := map[int64]int{}
		var lastUpTo int64
		r := 0
		testrig.Eventually(t, "every early buyer admitted", func() bool {
			r++
			for i, c := range early {
				if round[i] >= 0 {
					continue
				}
				res := sh.must(t, http.StatusOK, "GET", sh.url("/sales/FIFO/queue"), c.Token, "", "Surge-Queue-Ticket", tickets[i].Token)
				var tk fsTicket
				if err := json.Unmarshal([]byte(res.body), &tk); err != nil {
					t.Fatal(err)
				}
				if tk.Position < 1 || tk.Position > n || (tickets[i].Position != 0 && tk.Position != tickets[i].Position) ||
					tk.AdmittedUpTo < lastUpTo || (tk.Status == "admitted") != (tk.Position <= tk.AdmittedUpTo) {
					t.Fatalf("inconsistent ticket after admitted_up_to %d: %s", lastUpTo, res.body)
				}
				if other, taken := places[tk.Position]; taken && other != i {
					t.Fatalf("place %d given to buyers %d and %d", tk.Position, other+1, i+1)
				}
				places[tk.Position] = i
				tickets[i] = tk
				lastUpTo = tk.AdmittedUpTo
				if tk.Status == "admitted" {
					round[i] = r
				}
			}
			return !slices.Contains(round, -1)
		})
		if len(places) != n {
			t.Fatalf("%d places for %d buyers of the pre-queue", len(places), n)
		}
		// Admitted in the order of the places the start gave, within one
		// polling round.
		for i := range n {
			for j := range n {
				if tickets[i].Position < tickets[j].Position && round[i] > round[j]+1 {
					t.Fatalf("place %d admitted in round %d, after place %d in round %d", tickets[i].Position, round[i], tickets[j].Position, round[j])
				}
			}
		}
		t.Logf("places in join order: %v", func() []int64 {
			out := make([]int64, n)
			for i := range n {
				out[i] = tickets[i].Position
			}
			return out
		}())
	})

	t.Run("ticket bound to its customer", func(t *testing.T) {
		sh.product(t, "LATER", 10)
		later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		sh.sale(t, "LATER", `{"stock":10,"starts_at":"`+later+`","admission_burst":0,"admission_rate":1}`)
		custs := sh.customers(t, 2)
		a, b := custs[0], custs[1]
		tk, r := sh.join(t, "LATER", a)
		if tk.Status != "waiting" || tk.Position != 0 || r.header.Get("Retry-After") != "30" {
			t.Fatalf("ticket an hour before the sale: %v %s", r.header, r.body)
		}
		expect := func(what string, want int, typ string, r reply, gaveUp bool, why string) {
			t.Helper()
			if why != "" || gaveUp || r.code != want || (typ != "" && r.problemType() != typ) {
				t.Fatalf("%s: %d %s %s, want %d %s", what, r.code, r.body, why, want, typ)
			}
		}
		// Checkout by a client that stops on the first answer.
		raw := func(c fsCustomer, key, ticket string) (reply, bool, string) {
			r := sh.c.call("POST", sh.url("/checkout"), c.Token, `{"items":[{"sku":"LATER","quantity":1}]}`,
				"Idempotency-Key", key, "Surge-Queue-Ticket", ticket)
			if r.err != nil {
				return r, false, r.err.Error()
			}
			return r, false, ""
		}
		r, gaveUp, why := raw(a, "a-early", tk.Token)
		expect("own ticket before the sale", http.StatusConflict, "sale-not-started", r, gaveUp, why)
		r, gaveUp, why = raw(a, "a-none", "")
		expect("checkout without a ticket", http.StatusForbidden, "queue-ticket-required", r, gaveUp, why)
		r, gaveUp, why = raw(b, "b-stolen", tk.Token)
		expect("checkout with another customer's ticket", http.StatusForbidden, "queue-ticket-required", r, gaveUp, why)
		r, gaveUp, why = sh.send("GET", sh.url("/sales/LATER/queue"), b.Token, "", "Surge-Queue-Ticket", tk.Token)
		expect("status with another customer's ticket", http.StatusForbidden, "", r, gaveUp, why)
		r, gaveUp, why = sh.send("GET", sh.url("/sales/FIFO/queue"), a.Token, "", "Surge-Queue-Ticket", tk.Token)
		expect("status with a ticket of another sale", http.StatusForbidden, "", r, gaveUp, why)
		forged := tk.Token[:len(tk.Token)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(tk.Token, "AA")]
		r, gaveUp, why = sh.send("GET", sh.url("/sales/LATER/queue"), a.Token, "", "Surge-Queue-Ticket", forged)
		expect("status with a forged ticket", http.StatusUnauthorized, "", r, gaveUp, why)

		// Nothing changed: no unit moved and B never joined.
		if l := sh.level(t, "LATER"); l != (stockLevel{SKU: "LATER", Received: 10, Available: 10}) {
			t.Fatalf("inventory after refused checkouts: %+v", l)
		}
		if v := fsFigure(t, sh, "LATER", "queue_length"); v != 1 {
			t.Fatalf("queue_length = %v, want 1", v)
		}
	})

	t.Run("sold out wakes everybody", func(t *testing.T) {
		const n = 13
		sh.product(t, "LAST", 3)
		// Three are admitted at once, the others at one a second.
		sh.sale(t, "LAST", `{"stock":3,"per_customer_limit":1,"admission_burst":3,"admission_rate":1}`)
		custs := sh.customers(t, n+1)
		tickets := make([]fsTicket, n)
		for i := range n {
			tickets[i], _ = sh.join(t, "LAST", custs[i])
			if tickets[i].Position != int64(i+1) || (i < 3 && tickets[i].Status != "admitted") {
				t.Fatalf("join %d: %+v", i+1, tickets[i])
			}
		}
		for i := range 3 {
			if r, gaveUp, why := sh.checkout("LAST", custs[i], "last", tickets[i].Token); why != "" || gaveUp ||
				(r.code != http.StatusCreated && r.code != http.StatusAccepted) {
				t.Fatalf("admitted buyer %d: %d %s %s", i+1, r.code, r.body, why)
			}
		}
		sh.waitLevel(t, "LAST", stockLevel{Received: 3, Sold: 3})
		// Everyone still in line learns it on their very next poll.
		for i := 3; i < n; i++ {
			r := sh.must(t, http.StatusOK, "GET", sh.url("/sales/LAST/queue"), custs[i].Token, "", "Surge-Queue-Ticket", tickets[i].Token)
			var tk fsTicket
			if json.Unmarshal([]byte(r.body), &tk) != nil || tk.Status != "sold_out" || tk.RetryAfter != 0 || r.header.Get("Retry-After") != "" {
				t.Fatalf("buyer %d after the sell-out: %v %s", i+1, r.header, r.body)
			}
		}
		if tk, _ := sh.join(t, "LAST", custs[n]); tk.Status != "sold_out" {
			t.Fatalf("a newcomer after the sell-out: %+v", tk)
		}
		for name, want := range map[string]float64{"units_left": 0, "queue_length": n + 1, "admission_rate": 1} {
			if v := fsFigure(t, sh, "LAST", name); v != want {
				t.Fatalf("%s = %v, want %v", name, v, want)
			}
		}
		requireAudit(t, s.URL, s.AdminKey)
	})

	t.Run("sale events", func(t *testing.T) {
		nc, err := nats.Connect(broker.URL(), nats.Timeout(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		// Three sales opened, one sold out, each announced once.
		want := map[string]uint64{"surge.room.sale.opened": 3, "surge.room.sale.sold_out": 1}
		var got map[string]uint64
		testrig.Eventually(t, "the sale events in the SALES stream", func() bool {
			st, err := js.Stream(ctx, "SALES")
			if err != nil {
				return false
			}
			info, err := st.Info(ctx, jetstream.WithSubjectFilter("surge.room.sale.>"))
			if err != nil {
				return false
			}
			got = info.State.Subjects
			return got["surge.room.sale.sold_out"] >= 1 && got["surge.room.sale.opened"] >= 3
		})
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("SALES stream subjects %v, want %v", got, want)
		}
		st, _ := js.Stream(ctx, "SALES")
		msg, err := st.GetLastMsgForSubject(ctx, "surge.room.sale.sold_out")
		if err != nil {
			t.Fatal(err)
		}
		var ev struct {
			Type string
			Data struct{ SKU string }
		}
		if json.Unmarshal(msg.Data, &ev) != nil || ev.Type != "sale.sold_out" || ev.Data.SKU != "LAST" {
			t.Fatalf("sold-out event: %s", msg.Data)
		}
	})
}
