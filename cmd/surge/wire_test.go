package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Errors that Go's HTTP server writes itself, before any handler runs, are
// problem+json with a stable type like every other error: a malformed
// request line, a missing Host header, headers beyond the limit. A second,
// malformed request on a kept-alive connection gets the same.
func TestWireErrorsAreProblems(t *testing.T) {
	t.Parallel()
	s := startSurge(t, nil)
	addr := strings.TrimPrefix(s.URL, "http://")
	for _, c := range []struct {
		name, req string
		status    int
		typ       string
	}{
		{"malformed request line", "NOT A REQUEST\r\n\r\n", 400, "malformed-request"},
		{"missing host", "GET /healthz HTTP/1.1\r\n\r\n", 400, "malformed-request"},
		{"header too large", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 80<<10) + "\r\n\r\n", 431, "header-too-large"},
		{"after a good request", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nBROKEN\r\n\r\n", 400, "malformed-request"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
			go func() { _, _ = io.WriteString(conn, c.req) }()
			br := bufio.NewReader(conn)
			var resp *http.Response
			for {
				resp, err = http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != http.StatusOK {
					break
				}
				_, _ = io.Copy(io.Discard, resp.Body) // the good request's answer
				resp.Body.Close()
			}
			body, _ := io.ReadAll(resp.Body)
			var p struct {
				Type   string `json:"type"`
				Status int    `json:"status"`
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("%d %s %q, want problem+json", resp.StatusCode, ct, body)
			}
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if resp.StatusCode != c.status || p.Status != c.status || !strings.HasSuffix(p.Type, "/problems/"+c.typ) {
				t.Errorf("%d %+v, want %d of type %s", resp.StatusCode, p, c.status, c.typ)
			}
		})
	}
}
