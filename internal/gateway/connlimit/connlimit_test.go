package connlimit_test

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/gateway/connlimit"
)

func TestPerClientLimit(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(connlimit.New(ln, 2, 0, slog.New(slog.DiscardHandler)))
	t.Cleanup(func() { srv.Close() })

	dial := func() net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// Two idle connections (a slowloris that never sends) hold the slots.
	a, _ := dial(), dial()
	over := dial()
	resp, err := http.ReadResponse(bufio.NewReader(over), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || len(body) == 0 {
		t.Fatalf("third connection: %d %v %q, want 503 with Retry-After and a problem body", resp.StatusCode, resp.Header, body)
	}
	// The body is part of the contract: its bytes must not drift when the
	// problem type's base moves.
	const want = `{"type":"https://surge.dev/problems/too-many-connections","title":"Too many connections","status":503}` + "\n"
	if string(body) != want || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("third connection body %q (%s), want %q (application/problem+json)", body, resp.Header.Get("Content-Type"), want)
	}
	// Closing one frees its slot for the next connection.
	a.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c := dial()
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil && resp.StatusCode == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot never freed: %v %v", resp, err)
		}
		time.Sleep(20 * time.Millisecond) // polling until the server saw the close
	}
}
