package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// requestTimeout bounds every request: past the server's own 5 s deadline
// and a restart's worth of waiting.
const requestTimeout = 15 * time.Second

// reply is what one HTTP exchange produced. Status 0 means no answer
// (refused, reset or timed out): the outcome is unknown.
type reply struct {
	Status  int
	Body    []byte
	Err     error
	Problem string // the problem type's last path segment, e.g. "out-of-stock"
}

// client speaks JSON to one base URL.
type client struct {
	http *http.Client
}

func newClient() *client {
	return &client{http: &http.Client{Timeout: requestTimeout}}
}

// do sends body (nil, a []byte sent as is, or a value encoded as JSON) with
// the bearer token and extra headers.
func (c *client) do(ctx context.Context, method, url, token string, body any, header map[string]string) reply {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return reply{Err: err}
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return reply{Err: err}
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return reply{Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{Err: err}
	}
	r := reply{Status: resp.StatusCode, Body: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") || resp.StatusCode == http.StatusPaymentRequired {
		var p struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(raw, &p) == nil {
			r.Problem = p.Type[strings.LastIndex(p.Type, "/")+1:]
		}
	}
	return r
}

// decode reads the reply's body into v and reports whether it could.
func (r reply) decode(v any) bool {
	return r.Status != 0 && json.Unmarshal(r.Body, v) == nil
}

// orderID returns the order id of a checkout reply, or "".
func (r reply) orderID() string {
	var v struct {
		Order struct {
			ID string `json:"id"`
		} `json:"order"`
	}
	r.decode(&v)
	return v.Order.ID
}
