package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
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
