package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/testrig"
)

// TestOversizedInputIsBounded sends headers and a body over the caps: each
// is refused with a 4xx and the server keeps serving.
func TestOversizedInputIsBounded(t *testing.T) {
	t.Parallel()
	s := startSurge(t, map[string]string{"SURGE_MAX_BODY_BYTES": "2048"})
	c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Written from another goroutine: the server answers and closes before
	// reading it all, which may fail the rest of the write.
	go c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 128<<10) + "\r\n\r\n"))
	_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("128 KiB header: %v %v, want 431", resp, err)
	}
	code, h, _ := do(t, "POST", s.URL+"/v1/admin/shops", s.AdminKey, `{"slug":"big","name":"`+strings.Repeat("x", 4096)+`"}`)
	if code != http.StatusRequestEntityTooLarge || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("4 KiB body over a 2 KiB cap: %d %v, want 413 problem", code, h)
	}
	if code, _, _ := do(t, "GET", s.URL+"/v1/shops/big/products", "", ""); code != http.StatusNotFound {
		t.Fatalf("the refused shop exists: %d", code)
	}
}

// TestSlowHeadersAreCut opens a connection that sends half a request and
// stalls (slowloris): the server hangs up after its header timeout instead
// of holding the connection forever.
func TestSlowHeadersAreCut(t *testing.T) {
	t.Parallel()
	s := startSurge(t, nil)
	c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")); err != nil {
		t.Fatal(err)
	}
	// Bounded wait: the server's ReadHeaderTimeout is 5 s; give it plenty.
	_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
	_, err = bufio.NewReader(c).ReadByte()
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server still holds a stalled connection after 60 s")
	}
}

// TestAbuseLeavesNoGoroutines holds three times the connections one client
// may have, all stalled mid-header, then sends oversized bodies: the excess
// is refused, the server answers again, and once the clients are gone so
// are the goroutines they cost.
func TestAbuseLeavesNoGoroutines(t *testing.T) {
	s := startSurge(t, map[string]string{"SURGE_MAX_CONNS_PER_CLIENT": "8", "SURGE_MAX_BODY_BYTES": "2048"})
	addr := strings.TrimPrefix(s.URL, "http://")
	if code, _, _ := do(t, "GET", s.URL+"/healthz", "", ""); code != http.StatusOK {
		t.Fatalf("healthz: %d", code)
	}
	api.http.CloseIdleConnections()
	before := runtime.NumGoroutine()

	var conns []net.Conn
	refused := 0
	for range 24 { // three times the per-client cap, each stalled mid-header
		c, err := net.Dial("tcp", addr)
		if err != nil {
			refused++
			continue
		}
		conns = append(conns, c)
		_, _ = c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "))
	}
	// Connections over the cap are answered 503 at once and closed; the
	// stalled ones under it are cut at the header timeout (5 s).
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
			if b, err := bufio.NewReader(c).Peek(12); err == nil && string(b) == "HTTP/1.1 503" {
				mu.Lock()
				refused++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if refused < 24-8 {
		t.Errorf("%d of 24 connections refused, want at least 16 over a cap of 8", refused)
	}
	for _, c := range conns {
		c.Close()
	}
	testrig.Eventually(t, "the connection cap to free up", func() bool {
		resp, err := http.Get(s.URL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	for range 4 {
		code, _, _ := do(t, "POST", s.URL+"/v1/admin/shops", s.AdminKey, `{"slug":"big","name":"`+strings.Repeat("x", 4096)+`"}`)
		if code != http.StatusRequestEntityTooLarge {
			t.Fatalf("oversized body: %d, want 413", code)
		}
	}
	api.http.CloseIdleConnections()
	// Background work (relay, workers, sweeper) comes and goes, so allow a
	// little slack over the count before the abuse.
	testrig.Eventually(t, fmt.Sprintf("goroutines to return to about %d", before), func() bool {
		return runtime.NumGoroutine() <= before+10
	})
}
