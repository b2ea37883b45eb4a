package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	psp "github.com/surge-commerce/surge/internal/payment/simulator"
)

// Answers that Go's mux or the auth layer would give in their own shape
// are problem+json like every other error: a path with dot segments or
// doubled slashes, and a missing credential (with WWW-Authenticate).
func TestEdgeAnswersAreProblems(t *testing.T) {
	t.Parallel()
	s := startSurge(t, nil, "--demo")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []struct {
		path, key string
		status    int
		typ       string
	}{
		{"/v1/shops/demo//products", "", 400, "non-canonical-path"},
		{"/v1/shops/demo/./products", "", 400, "non-canonical-path"},
		{"/v1/shops/x/../demo/products", "", 400, "non-canonical-path"},
		{"/v1/admin/flags", "", 401, "unauthorized"},
		{"/v1/admin/flags", "wrong-key", 401, "unauthorized"},
	} {
		req, err := http.NewRequest("GET", s.URL+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = c.path // send the path as written, uncleaned
		if c.key != "" {
			req.Header.Set("Authorization", "Bearer "+c.key)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ct := resp.Header.Get("Content-Type")
		if resp.StatusCode != c.status || ct != "application/problem+json" || !strings.Contains(string(body), "/problems/"+c.typ+`"`) {
			t.Errorf("GET %s: %d %s %s, want %d problem+json of type %s", c.path, resp.StatusCode, ct, body, c.status, c.typ)
		}
		if c.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("GET %s: 401 without a Bearer WWW-Authenticate: %q", c.path, resp.Header.Get("WWW-Authenticate"))
		}
	}
}

// Addresses of one IPv6 /64 share one per-IP budget: a client cannot
// multiply its rate by rotating through its own subnet. Another /64 has
// its own budget. (The client's address comes through a trusted proxy.)
func TestIPv6LimitsBySubnet(t *testing.T) {
	t.Parallel()
	s := startSurge(t, map[string]string{"SURGE_TRUSTED_PROXIES": "127.0.0.1/32", "SURGE_RATE_LIMIT_IP": "5"}, "--demo")
	get := func(from string) (int, string) {
		code, _, body := do(t, "GET", s.URL+"/v1/shops/demo/products/MUG-ENAMEL", "", "", "X-Forwarded-For", from)
		return code, body
	}
	limited := 0
	for i := range 40 { // a burst of 10 is the budget; 40 from one /64 must run into it
		if code, body := get(fmt.Sprintf("2001:db8:aa:bb:%x::1", i+1)); code == 429 && strings.Contains(body, `"limit":"ip"`) {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("40 requests from 40 addresses of one /64 were never limited")
	}
	if code, _ := get("2001:db8:aa:cc::1"); code != 200 {
		t.Fatalf("a request from another /64 got %d, want 200", code)
	}
}

// Slow bodies cost only their own connections: with every checkout slot's
// worth of clients stalled mid-body, an honest checkout still goes through,
// and the stalled ones are answered 408 once their time is up.
func TestSlowBodiesDoNotBlockCheckout(t *testing.T) {
	t.Parallel()
	s := startSurge(t, map[string]string{"SURGE_CHECKOUT_CONCURRENCY": "4"}, "--demo")
	addr := strings.TrimPrefix(s.URL, "http://")
	var stalled []net.Conn
	for range 12 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		req := "POST /v1/shops/demo/checkout HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
			"Authorization: Bearer ct1.stalled\r\nIdempotency-Key: slow\r\nContent-Length: 200\r\n\r\n{"
		if _, err := c.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		stalled = append(stalled, c)
	}
	_, _, body := do(t, "POST", s.URL+"/v1/shops/demo/customers", "", "")
	var cust struct{ Token string }
	if err := json.Unmarshal([]byte(body), &cust); err != nil || cust.Token == "" {
		t.Fatalf("customer: %s", body)
	}
	code, _, body := do(t, "POST", s.URL+"/v1/shops/demo/checkout", cust.Token,
		`{"items":[{"sku":"MUG-ENAMEL","quantity":1}]}`, "Idempotency-Key", "honest-1")
	if code != 201 {
		t.Fatalf("honest checkout beside 12 stalled bodies: %d %s", code, body)
	}
	for i, c := range stalled {
		_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.Contains(line, " 408 ") {
			t.Fatalf("stalled body %d: %q %v, want a 408 when its time is up", i, line, err)
		}
	}
}

// A missing Idempotency-Key and a malformed one are told apart.
func TestIdempotencyKeyProblems(t *testing.T) {
	t.Parallel()
	s := startSurge(t, nil, "--demo")
	_, _, body := do(t, "POST", s.URL+"/v1/shops/demo/customers", "", "")
	var cust struct{ Token string }
	if err := json.Unmarshal([]byte(body), &cust); err != nil {
		t.Fatal(err)
	}
	items := `{"items":[{"sku":"MUG-ENAMEL","quantity":1}]}`
	for _, c := range []struct {
		header []string
		typ    string
	}{
		{nil, "idempotency-key-missing"},
		{[]string{"Idempotency-Key", "3f0c…"}, "idempotency-key-invalid"},
		{[]string{"Idempotency-Key", "has space"}, "idempotency-key-invalid"},
	} {
		code, _, body := do(t, "POST", s.URL+"/v1/shops/demo/checkout", cust.Token, items, c.header...)
		if code != 400 || !strings.Contains(body, "/problems/"+c.typ+`"`) {
			t.Errorf("checkout with %v: %d %s, want 400 %s", c.header, code, body, c.typ)
		}
	}
}

// A key leaks, the owner rotates with a grace period: the leaked key can
// still do the shop's work until it expires, but cannot rotate (which would
// revoke the owner's new key) nor revoke; the owner ends its grace at once.
func TestLeakedKeyCannotLockTheOwnerOut(t *testing.T) {
	t.Parallel()
	s := startSurge(t, nil)
	_, _, body := do(t, "POST", s.URL+"/v1/admin/shops", s.AdminKey, `{"slug":"leak","name":"Leak"}`)
	var created struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil || created.APIKey == "" {
		t.Fatalf("create shop: %s", body)
	}
	leaked := created.APIKey
	code, _, body := do(t, "POST", s.URL+"/v1/shops/leak/admin/keys", leaked, `{"grace_seconds":3600}`)
	var rotated struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal([]byte(body), &rotated); code != 201 || err != nil {
		t.Fatalf("owner's rotation: %d %s", code, body)
	}
	owner := rotated.APIKey
	product := `{"title":"Tee","price":1999,"currency":"EUR","stock":5}`
	if code, _, body := do(t, "PUT", s.URL+"/v1/shops/leak/admin/products/TEE", leaked, product); code != 201 && code != 200 {
		t.Fatalf("a key in grace doing the shop's work: %d %s", code, body)
	}
	for _, path := range []string{"/v1/shops/leak/admin/keys", "/v1/shops/leak/admin/keys/revoke"} {
		code, _, body := do(t, "POST", s.URL+path, leaked, `{"grace_seconds":0}`)
		if path == "/v1/shops/leak/admin/keys/revoke" {
			code, _, body = do(t, "POST", s.URL+path, leaked, "")
		}
		if code != 403 || !strings.Contains(body, "/problems/key-in-grace") {
			t.Fatalf("leaked key POST %s: %d %s, want 403 key-in-grace", path, code, body)
		}
	}
	if code, _, body := do(t, "GET", s.URL+"/v1/shops/leak/admin/products/TEE", owner, ""); code != 200 {
		t.Fatalf("the owner's key after the attempts: %d %s", code, body)
	}
	code, _, body = do(t, "POST", s.URL+"/v1/shops/leak/admin/keys/revoke", owner, "")
	if code != 200 || !strings.Contains(body, `"revoked":1`) {
		t.Fatalf("owner revokes older keys: %d %s", code, body)
	}
	if code, _, _ := do(t, "GET", s.URL+"/v1/shops/leak/admin/products/TEE", leaked, ""); code != 401 {
		t.Fatalf("leaked key after the revoke: %d, want 401 at once", code)
	}
}

// Anonymous traffic, forged credentials included, spends its own share of
// a shop's tier quota: flooding a free shop's catalog leaves the owner's
// admin calls and the shop's customers within their budgets.
func TestAnonymousFloodLeavesOwnerAndCustomers(t *testing.T) {
	t.Parallel()
	s := startSurge(t, map[string]string{"SURGE_RATE_LIMIT_IP": "100000", "SURGE_RATE_LIMIT_KEY": "100000",
		"SURGE_RATE_LIMIT_CUSTOMER": "100000", "SURGE_TIER_LIMITS": "free=5,standard=1000,enterprise=10000"})
	_, _, body := do(t, "POST", s.URL+"/v1/admin/shops", s.AdminKey, `{"slug":"flood","name":"Flood"}`)
	var created struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil || created.APIKey == "" {
		t.Fatalf("create shop: %s", body)
	}
	if code, _, body := do(t, "PUT", s.URL+"/v1/admin/shops/flood/tier", s.AdminKey, `{"tier":"free"}`); code != 200 {
		t.Fatalf("tier: %d %s", code, body)
	}
	_, _, body = do(t, "POST", s.URL+"/v1/shops/flood/customers", "", "")
	var cust struct{ Token string }
	_ = json.Unmarshal([]byte(body), &cust)
	flooded := 0
	for i := range 60 {
		key := ""
		if i%2 == 1 {
			key = "sk_forged" // a forged key counts as anonymous
		}
		if code, _, _ := do(t, "GET", s.URL+"/v1/shops/flood/products", key, ""); code == 429 {
			flooded++
		}
	}
	if flooded == 0 {
		t.Fatal("60 anonymous reads of a free shop (5/s) were never limited")
	}
	if code, _, body := do(t, "GET", s.URL+"/v1/shops/flood/admin/orders", created.APIKey, ""); code != 200 {
		t.Fatalf("the owner after an anonymous flood: %d %s", code, body)
	}
	if code, _, body := do(t, "GET", s.URL+"/v1/shops/flood/products", cust.Token, ""); code != 200 {
		t.Fatalf("a customer after an anonymous flood: %d %s", code, body)
	}
}

// A signed provider event is applied once by its id: a replay within the
// signature's window is acknowledged and changes nothing.
func TestWebhookEventsDeduplicated(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const secret = "webhook-secret-for-the-dedup-test-0123456789"
	s := startSurge(t, map[string]string{"SURGE_DATA": dir, "SURGE_PSP_WEBHOOK_SECRET": secret})
	body := `{"id":"evt_replayed","type":"payment.captured","payment":{"id":"pay_x","merchant_reference":"ord_unknown","amount":100,"currency":"EUR","status":"captured"}}`
	st := evOpenStore(t, dir, "")
	for i := range 2 {
		sig := psp.Sign(secret, []byte(body), time.Now())
		code, _, resp := do(t, "POST", s.URL+"/v1/payments/webhook", "", body, "Psp-Signature", sig, "Content-Type", "application/json")
		if code != 204 {
			t.Fatalf("delivery %d: %d %s", i+1, code, resp)
		}
		seen, err := st.WebhookSeen(context.Background(), "evt_replayed")
		if err != nil || !seen {
			t.Fatalf("after delivery %d the event id is not recorded (%v)", i+1, err)
		}
	}
}

// Customer tokens can be ended: by the customer (sign-out, or every token
// they hold) and by the shop; an ended token is refused at once.
func TestCustomerTokensRevoked(t *testing.T) {
	t.Parallel()
	s := startSurge(t, nil, "--demo")
	_, _, body := do(t, "POST", s.URL+"/v1/shops/demo/customers", "", "")
	var cust struct{ ID, Token string }
	if err := json.Unmarshal([]byte(body), &cust); err != nil {
		t.Fatal(err)
	}
	// The shop key of the demo shop is printed once; the admin makes a new one.
	_, _, body = do(t, "POST", s.URL+"/v1/admin/shops/demo/keys", s.AdminKey, `{"grace_seconds":60}`)
	var key struct {
		APIKey string `json:"api_key"`
	}
	_ = json.Unmarshal([]byte(body), &key)
	for _, c := range []struct {
		name       string
		path       string
		useShopKey bool
	}{
		{name: "sign-out", path: "/v1/shops/demo/customers/me/sign-out"},
		{name: "revoke all", path: "/v1/shops/demo/customers/me/revoke-tokens"},
		{name: "by the shop", useShopKey: true},
	} {
		_, _, body := do(t, "POST", s.URL+"/v1/shops/demo/customers", "", "")
		var cu struct{ ID, Token string }
		_ = json.Unmarshal([]byte(body), &cu)
		if code, _, body := do(t, "POST", s.URL+"/v1/shops/demo/carts", cu.Token, ""); code != 201 {
			t.Fatalf("%s: cart before: %d %s", c.name, code, body)
		}
		path, cred := c.path, cu.Token
		if c.useShopKey {
			path, cred = "/v1/shops/demo/admin/customers/"+cu.ID+"/revoke-tokens", key.APIKey
		}
		if code, _, body := do(t, "POST", s.URL+path, cred, ""); code != 204 {
			t.Fatalf("%s: %d %s", c.name, code, body)
		}
		if code, _, body := do(t, "POST", s.URL+"/v1/shops/demo/carts", cu.Token, ""); code != 401 || !strings.Contains(body, "token-revoked") {
			t.Fatalf("%s: cart after: %d %s, want 401 token-revoked", c.name, code, body)
		}
		// Checkout checks revocation inside its own transaction.
		code, _, body := do(t, "POST", s.URL+"/v1/shops/demo/checkout", cu.Token,
			`{"items":[{"sku":"MUG-ENAMEL","quantity":1}]}`, "Idempotency-Key", "revoked-"+cu.ID)
		if code != 401 || !strings.Contains(body, "token-revoked") {
			t.Fatalf("%s: checkout after: %d %s, want 401 token-revoked", c.name, code, body)
		}
	}
	if code, _, body := do(t, "POST", s.URL+"/v1/shops/demo/carts", cust.Token, ""); code != 201 {
		t.Fatalf("another customer's token after the revocations: %d %s", code, body)
	}
}

// Sign-ups are limited per client address, so identities (and with them
// per-customer limits) are not free; SURGE_RATE_LIMITS=off lifts it.
func TestSignupLimitedPerAddress(t *testing.T) {
	t.Parallel()
	for _, off := range []bool{false, true} {
		env := map[string]string{"SURGE_SIGNUP_LIMIT": "3"}
		if off {
			env["SURGE_RATE_LIMITS"] = "off"
		}
		s := startSurge(t, env, "--demo")
		created := 0
		for range 10 {
			code, _, body := do(t, "POST", s.URL+"/v1/shops/demo/customers", "", "")
			switch {
			case code == 201:
				created++
			case code == 429 && strings.Contains(body, `"limit":"signup"`):
			default:
				t.Fatalf("sign-up: %d %s", code, body)
			}
		}
		if want := map[bool]int{false: 3, true: 10}[off]; created != want {
			t.Fatalf("rate limits off=%v: %d of 10 sign-ups from one address, want %d", off, created, want)
		}
	}
}

// A waiting-room ticket admits only to the sale that issued it: after the
// sale ends and a new one of the same SKU opens, the old place-1 ticket is
// refused, and the new sale's queue starts empty.
func TestTicketOfEndedSaleAdmitsNobody(t *testing.T) {
	t.Parallel()
	s := startSurge(t, map[string]string{"SURGE_RATE_LIMITS": "off"})
	sh := fsNewShop(t, s, "epoch", nil)
	sh.product(t, "DROP", 10)
	saleBody := `{"stock":10,"per_customer_limit":1,"admission_rate":1,"admission_burst":1}`
	sh.sale(t, "DROP", saleBody)
	customer := func() string {
		r := sh.must(t, http.StatusCreated, "POST", sh.url("/customers"), "", "")
		var c struct{ Token string }
		_ = json.Unmarshal([]byte(r.body), &c)
		return c.Token
	}
	join := func(token string) (string, int64) {
		r := sh.must(t, http.StatusOK, "POST", sh.url("/sales/DROP/queue"), token, "")
		var tk struct {
			Token    string
			Position int64
		}
		_ = json.Unmarshal([]byte(r.body), &tk)
		return tk.Token, tk.Position
	}
	early := customer()
	oldTicket, pos := join(early)
	if pos != 1 {
		t.Fatalf("first in the queue got place %d", pos)
	}
	sh.must(t, http.StatusNoContent, "DELETE", sh.url("/admin/sales/DROP"), sh.key, "")
	sh.sale(t, "DROP", saleBody)
	if _, pos := join(customer()); pos != 1 {
		t.Fatalf("first in the new sale's queue got place %d, want 1", pos)
	}
	r, _, _ := sh.send("POST", sh.url("/checkout"), early, `{"items":[{"sku":"DROP","quantity":1}]}`,
		"Idempotency-Key", "old-ticket", "Surge-Queue-Ticket", oldTicket)
	if r.code != http.StatusForbidden || !strings.Contains(string(r.body), "queue-ticket-required") {
		t.Fatalf("checkout with the ended sale's ticket: %d %s, want 403 queue-ticket-required", r.code, r.body)
	}
}

// Per-shop business figures never reach the public /metrics: a sale's
// units left and queue are on the --metrics-addr listener and in the
// shop's admin API only.
func TestPerShopFiguresOffThePublicMetrics(t *testing.T) {
	t.Parallel()
	s := startSurge(t, map[string]string{"SURGE_RATE_LIMITS": "off"}, "--metrics-addr", "127.0.0.1:0")
	sh := fsNewShop(t, s, "figures", nil)
	sh.product(t, "SECRET", 7)
	sh.sale(t, "SECRET", `{"stock":7,"per_customer_limit":1,"admission_rate":5,"admission_burst":1,"starts_at":"2099-01-01T00:00:00Z"}`)
	_, _, public := do(t, "GET", s.URL+"/metrics", "", "")
	if strings.Contains(public, "surge_sale_") || strings.Contains(public, `shop="figures"`) {
		t.Fatal("the public /metrics shows a shop's sale figures")
	}
	m := regexp.MustCompile(`metrics with per-shop figures: (http://\S+)`).FindStringSubmatch(s.Stdout.String())
	if m == nil {
		t.Fatalf("no metrics listener announced:\n%s", s.Stdout)
	}
	_, _, private := do(t, "GET", m[1], "", "")
	if !strings.Contains(private, `surge_sale_units_left{shop="figures",sku="SECRET"} 7`) {
		t.Fatalf("the metrics listener lacks the sale's units left:\n%.2000s", private)
	}
	if v := fsFigure(t, sh, "SECRET", "units_left"); v != 7 {
		t.Fatalf("admin API units_left = %v, want 7", v)
	}
}
