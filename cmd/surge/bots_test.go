package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/flashsale"
)

// One address runs 50 bots against 100 honest customers, each from an
// address of their own, for 30 units of a limit-1 drop behind a waiting
// room that asks a proof of work. Identities cost the bots sign-ups (limited
// per address), the pre-queue takes the edge off arriving first, and their
// two cards buy no more than two customers may: the bots end with at most
// 10 % of the units, and honest buyers get all the rest (docs/SECURITY.md,
// API6 and the flash-sale threat model).
func TestBotsAgainstHonestBuyers(t *testing.T) {
	t.Parallel()
	const units, honestN, botsN = 30, 100, 50
	s := startSurge(t, nil, "--demo") // rate limits and the sign-up limit on, as in production
	key := demoShopKey(t, s)
	if code, _, body := do(t, "PUT", s.URL+"/v1/shops/demo/admin/products/DROP", key,
		`{"title":"The drop","description":"Thirty pairs","price":19900,"currency":"EUR","stock":30}`); code/100 != 2 {
		t.Fatalf("product: %d %s", code, body)
	}
	startsAt := time.Now().Add(8 * time.Second)
	if code, _, body := do(t, "PUT", s.URL+"/v1/shops/demo/admin/sales/DROP", key, fmt.Sprintf(
		`{"stock":%d,"per_customer_limit":1,"admission_rate":20,"admission_burst":10,"pow_difficulty":10,"starts_at":%q}`,
		units, startsAt.UTC().Format(time.RFC3339Nano))); code/100 != 2 {
		t.Fatalf("sale: %d %s", code, body)
	}

	var honestUnits, botUnits, botIdentities atomic.Int64
	var wg sync.WaitGroup
	for i := range honestN {
		// 127.0.0.0/8 is all loopback: an address of one's own.
		c := clientFrom(t, fmt.Sprintf("127.0.1.%d", i+1))
		wg.Go(func() {
			if bought(t, c, s.URL, fmt.Sprintf("pm_honest_%d", i), nil) {
				honestUnits.Add(1)
			}
		})
	}
	bots := clientFrom(t, "127.0.2.1")
	for i := range botsN {
		wg.Go(func() {
			if bought(t, bots, s.URL, fmt.Sprintf("pm_bot_%d", i%2), &botIdentities) {
				botUnits.Add(1)
			}
		})
	}
	wg.Wait()
	_, _, body := do(t, "GET", s.URL+"/v1/shops/demo/admin/sales/DROP", key, "")
	t.Logf("%d bots from one address against %d honest buyers, %d units, limit 1: bots bought %d, honest buyers %d (%s)",
		botsN, honestN, units, botUnits.Load(), honestUnits.Load(), body)
	fmt.Printf("bots vs honest buyers: bots %d of %d units (%.0f %%), honest buyers %d; bot identities %d\n",
		botUnits.Load(), units, 100*float64(botUnits.Load())/units, honestUnits.Load(), botIdentities.Load())
	if botUnits.Load() > units/10 {
		t.Errorf("bots bought %d of %d units, want at most 10 %%", botUnits.Load(), units)
	}
	if botUnits.Load()+honestUnits.Load() != units {
		t.Errorf("%d units sold of %d: honest buyers were left without the rest", botUnits.Load()+honestUnits.Load(), units)
	}
	requireAudit(t, s.URL, s.AdminKey)
}

// clientFrom is an HTTP client whose connections leave from addr.
func clientFrom(t *testing.T, addr string) *client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(addr)}, Timeout: 5 * time.Second}
	return &client{http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4}}}
}

// bought runs one buyer: sign up, ask a challenge and solve it, join the
// waiting room, wait for the turn and check out one unit with card. A bot
// (one that counts its identities) polls every second whatever the server
// asks; an honest buyer waits what the server asks, up to a second. It
// reports whether the buyer got a unit.
func bought(t *testing.T, c *client, base, card string, identities *atomic.Int64) bool {
	bot := identities != nil
	deadline := time.Now().Add(90 * time.Second)
	pause := func(h http.Header) {
		wait, err := strconv.Atoi(h.Get("Retry-After"))
		if bot || err != nil || wait < 1 {
			wait = 1
		}
		time.Sleep(min(time.Duration(wait)*time.Second, time.Second)) // the server asked for this pause
	}
	var token string
	for token == "" {
		r := c.call("POST", base+"/v1/shops/demo/customers", "", "")
		if r.code == http.StatusCreated {
			token = field(r.body, "token")
			if bot {
				identities.Add(1)
			}
			break
		}
		if bot && r.code == http.StatusTooManyRequests {
			return false // no identity left for this bot
		}
		if time.Now().After(deadline) {
			t.Errorf("sign-up: %s", r)
			return false
		}
		pause(r.header)
	}
	challenge := field(c.call("GET", base+"/v1/shops/demo/sales/DROP/queue/challenge", token, "").body, "challenge")
	proof, _ := json.Marshal(flashsale.Proof{Challenge: challenge, Nonce: flashsale.SolvePoW(challenge, 10)})
	var ticket string
	for ticket == "" {
		r := c.call("POST", base+"/v1/shops/demo/sales/DROP/queue", token, string(proof))
		if r.code == http.StatusOK {
			ticket = field(r.body, "token")
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("join: %s", r)
			return false
		}
		pause(r.header)
	}
	for key := 0; time.Now().Before(deadline); {
		r := c.call("GET", base+"/v1/shops/demo/sales/DROP/queue", token, "", "Surge-Queue-Ticket", ticket)
		if r.code == http.StatusOK {
			ticket = field(r.body, "token")
			switch field(r.body, "status") {
			case "sold_out":
				return false
			case "admitted":
				r = c.call("POST", base+"/v1/shops/demo/checkout", token,
					`{"items":[{"sku":"DROP","quantity":1}],"payment_method":"`+card+`"}`,
					"Idempotency-Key", fmt.Sprintf("%s-%d", card, key), "Surge-Queue-Ticket", ticket)
				switch {
				case r.code == http.StatusCreated:
					return true
				case r.code == http.StatusConflict && (strings.Contains(r.body, "instrument-limit") || strings.Contains(r.body, "out-of-stock")):
					return false
				case r.code == http.StatusConflict && strings.Contains(r.body, "purchase-limit"):
					return false
				}
				key++
			}
		}
		pause(r.header)
	}
	t.Errorf("a buyer neither bought nor saw the sale sold out within 90 s")
	return false
}

func field(body, name string) string {
	var m map[string]any
	_ = json.Unmarshal([]byte(body), &m)
	v, _ := m[name].(string)
	return v
}
