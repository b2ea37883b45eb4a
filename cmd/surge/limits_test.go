package main

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
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
