package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// Go's HTTP server answers a request it cannot parse (a malformed request
// line, a missing Host, headers beyond MaxHeaderBytes) itself, straight on
// the connection and in text/plain, before any handler sees it. The
// listener below rewrites those canned answers into problem+json, so every
// error a client can get has the same shape and a stable type.
//
// Go writes each canned answer in one Write of the form
//
//	"HTTP/1.1 " status errorHeaders text
//
// and closes the connection after it.
const (
	cannedPrefix  = "HTTP/1.1 "
	cannedHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
	// cannedMax bounds the writes worth looking at: Go's texts are short.
	cannedMax = 512
)

// ProblemListener wraps ln so Go's own error answers on its connections
// are problem+json.
func ProblemListener(ln net.Listener) net.Listener { return problemListener{ln} }

type problemListener struct{ net.Listener }

func (l problemListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		// net/http half-closes after a 431 (closeWriteAndWait) and uses
		// sendfile through ReadFrom: keep both.
		return &problemTCPConn{tc}, nil
	}
	return &problemConn{c}, nil
}

type problemConn struct{ net.Conn }

func (c *problemConn) Write(b []byte) (int, error) { return writeCanned(c.Conn, b) }

type problemTCPConn struct{ *net.TCPConn }

func (c *problemTCPConn) Write(b []byte) (int, error) { return writeCanned(c.TCPConn, b) }

// writeCanned writes b, or its problem+json form if b is one of Go's canned
// error answers. The check costs a length and a prefix comparison for
// every other write.
func writeCanned(c net.Conn, b []byte) (int, error) {
	if len(b) > cannedMax || !bytes.HasPrefix(b, []byte(cannedPrefix)) {
		return c.Write(b)
	}
	rewritten, ok := cannedProblem(b)
	if !ok {
		return c.Write(b)
	}
	if _, err := c.Write(rewritten); err != nil {
		return 0, err
	}
	return len(b), nil
}

// cannedProblem turns one of Go's canned answers into the same status as
// problem+json; ok is false for anything else.
func cannedProblem(b []byte) ([]byte, bool) {
	i := bytes.Index(b, []byte(cannedHeaders))
	if i < 0 || i < len(cannedPrefix)+3 {
		return nil, false
	}
	status, err := strconv.Atoi(string(b[len(cannedPrefix) : len(cannedPrefix)+3]))
	if err != nil || status < 400 || status > 599 {
		return nil, false
	}
	// The text repeats the status line; what follows "NNN Reason: " (if
	// anything) says what was wrong, e.g. "missing required Host header".
	text := string(b[i+len(cannedHeaders):])
	detail := ""
	if j := strings.Index(text, ": "); j >= 0 {
		detail = text[j+2:]
	}
	typ := "malformed-request"
	switch status {
	case http.StatusRequestHeaderFieldsTooLarge:
		typ = "header-too-large"
	case http.StatusNotImplemented:
		typ = "unsupported-transfer-encoding"
	}
	body, err := json.Marshal(Problem{Type: ProblemTypeBase + typ, Title: http.StatusText(status), Status: status, Detail: detail})
	if err != nil {
		return nil, false
	}
	body = append(body, '\n')
	head := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: application/problem+json\r\nCache-Control: no-store\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
		status, http.StatusText(status), len(body))
	return append([]byte(head), body...), true
}
