package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// client speaks HTTP to the target over a bounded pool of connections.
type client struct {
	base string
	hc   *http.Client
}

func newClient(base string, conns int, timeout time.Duration) *client {
	tr := &http.Transport{
		Proxy:               nil, // the target is addressed directly
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxConnsPerHost:     conns,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &client{base: strings.TrimRight(base, "/"), hc: &http.Client{Transport: tr, Timeout: timeout}}
}

func (c *client) close() { c.hc.CloseIdleConnections() }

// response is what a request got: a status, or err for none.
type response struct {
	code   int
	header http.Header
	body   []byte
	err    error
}

// problemType is the last segment of an RFC 9457 problem's type, or "".
func (r response) problemType() string {
	var p struct {
		Type string `json:"type"`
	}
	if r.code < 400 || json.Unmarshal(r.body, &p) != nil {
		return ""
	}
	return p.Type[strings.LastIndexByte(p.Type, '/')+1:]
}

// retryAfter is the server's Retry-After in seconds, or def when absent.
func (r response) retryAfter(def time.Duration) time.Duration {
	if r.header != nil {
		if s, err := strconv.Atoi(strings.TrimSpace(r.header.Get("Retry-After"))); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
	}
	return def
}

// failed says whether a response counts against the error rate: no
// answer, a refusal to serve (429), or a server error. Other 4xx are
// business outcomes (out of stock, declined) the scenario handles.
func (r response) failed() bool {
	return r.err != nil || r.code == http.StatusTooManyRequests || r.code >= 500
}

// kind names why a request failed or was refused, for "errors by kind".
func (r response) kind() string {
	if r.err != nil {
		return errKind(r.err)
	}
	if r.code < 400 {
		return ""
	}
	k := "http_" + strconv.Itoa(r.code)
	if t := r.problemType(); t != "" {
		k += "_" + t
	}
	return k
}

func errKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection_reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection_closed"
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EMFILE):
		return "client_resources"
	}
	return "transport"
}

// call sends one request and reads the whole body (so the connection is
// reused). It records nothing: see session.do.
func (c *client) call(ctx context.Context, method, path, token string, body []byte, header ...string) response {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return response{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return response{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return response{err: err}
	}
	return response{code: resp.StatusCode, header: resp.Header, body: b}
}

// session is one arrival's operation: its first request is timed from the
// scheduled arrival, later ones from when the operation decided to send
// them, so client-side queueing is always part of the latency.
type session struct {
	c    *client
	rec  *Recorder
	i    int
	next time.Time
}

func (s *session) do(ctx context.Context, method, path, token string, body []byte, header ...string) response {
	start := s.next
	if start.IsZero() {
		start = time.Now()
	}
	s.next = time.Time{}
	r := s.c.call(ctx, method, path, token, body, header...)
	s.rec.RecordOp(operationOf(method, path), start, time.Now(), r.code, r.kind(), r.failed())
	return r
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
