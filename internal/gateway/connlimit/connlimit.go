// Package connlimit bounds how many connections one client address may
// hold open at once, so a single client (or a slowloris) cannot exhaust
// the server's sockets and goroutines. A connection over the limit gets an
// immediate 503 with Retry-After and is closed.
//
// It must never read a request: it works below HTTP, on accepted sockets.
package connlimit

import (
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/gateway/ratelimit"
)

// Listener wraps a net.Listener with a per-address connection cap.
type Listener struct {
	net.Listener
	max      int
	v6Prefix int
	log      *slog.Logger

	mu       sync.Mutex
	open     map[string]int
	lastWarn map[string]time.Time
}

// New returns a Listener allowing at most perClient open connections per
// client: per IPv4 address, per IPv6 prefix of v6Prefix bits (0: a /64),
// as the rate limits count clients.
func New(ln net.Listener, perClient, v6Prefix int, log *slog.Logger) *Listener {
	return &Listener{Listener: ln, max: perClient, v6Prefix: v6Prefix, log: log, open: map[string]int{}, lastWarn: map[string]time.Time{}}
}

var overloaded = func() string {
	body := `{"type":"` + errcode.ProblemTypeBase + `too-many-connections","title":"Too many connections","status":503}` + "\n"
	return "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/problem+json\r\n" +
		"Connection: close\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}()

// Accept returns the next connection within its client's limit.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := l.clientOf(c.RemoteAddr())
		if l.acquire(ip) {
			return &conn{Conn: c, release: func() { l.release(ip) }}, nil
		}
		// Answer without reading: a bounded write, then close.
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.Write([]byte(overloaded))
		_ = c.Close()
	}
}

func (l *Listener) acquire(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip] >= l.max {
		if time.Since(l.lastWarn[ip]) > time.Minute { // logged once a minute per client, not per connection
			l.lastWarn[ip] = time.Now()
			l.log.Warn("client over its connection limit", "client", ip, "limit", l.max)
		}
		return false
	}
	l.open[ip]++
	return true
}

func (l *Listener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
		delete(l.lastWarn, ip)
	}
}

func (l *Listener) clientOf(a net.Addr) string {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return a.String()
	}
	return ratelimit.ClientKey(ap.Addr(), l.v6Prefix)
}

// conn releases its slot exactly once when closed.
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
