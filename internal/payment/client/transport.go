package pspclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/failsafe-go/failsafe-go"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/payment/wire"
	"github.com/surge-commerce/surge/internal/tracing/tracectx"
)

// maxResponse bounds a response body; a full ledger page is a few MB.
const maxResponse = 32 << 20

// response is a 2xx answer from the provider.
type response struct {
	status int
	body   []byte
}

// problem is the provider's RFC 9457 error body.
type problem wire.Problem

// subtype is the stable last segment of the problem type, spelt as an
// errcode subtype ("idempotency-key-reused" becomes "idempotency_key_reused").
func (p problem) subtype() string {
	return strings.ReplaceAll(p.Type[strings.LastIndex(p.Type, "/")+1:], "-", "_")
}

// statusError is a non-2xx answer.
type statusError struct {
	status  int
	problem problem
}

func (e *statusError) Error() string {
	if e.problem.Detail != "" {
		return fmt.Sprintf("provider answered %d: %s", e.status, e.problem.Detail)
	}
	return fmt.Sprintf("provider answered %d", e.status)
}

// rejected reports whether the provider definitively refused the request
// (4xx other than 429): retrying it cannot help, and it says nothing about
// the provider's health.
func (e *statusError) rejected() bool {
	return e.status >= 400 && e.status < 500 && e.status != http.StatusTooManyRequests
}

// refused reports whether err is the provider's definitive refusal of a
// new payment: the request is invalid or the payment refused. A conflict on
// the idempotency key is not one: the key's first request may have taken
// the money.
func refused(err error) bool {
	var se *statusError
	if !errors.As(err, &se) {
		return false
	}
	switch se.status {
	case http.StatusBadRequest, http.StatusPaymentRequired:
		return true
	case http.StatusUnprocessableEntity:
		return se.problem.subtype() != "idempotency_key_reused"
	}
	return false
}

// isProviderFailure reports whether err means the provider failed or could
// not be reached: such attempts are retried and count against the breaker.
func isProviderFailure(err error) bool {
	if err == nil || errors.Is(err, ErrBreakerOpen) {
		return false
	}
	var se *statusError
	return !errors.As(err, &se) || !se.rejected()
}

// call runs one idempotent request under the retry, breaker and timeout
// policies, within the total budget.
func (c *Client) call(ctx context.Context, method, path, key string, body []byte) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.total)
	defer cancel()
	return c.exec.WithContext(ctx).GetWithExecution(func(exec failsafe.Execution[*response]) (*response, error) {
		return c.attempt(exec.Context(), method, path, key, body)
	})
}

func (c *Client) attempt(ctx context.Context, method, path, key string, body []byte) (*response, error) {
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, reader)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	// The provider's work joins the caller's trace: the hop that pays is
	// its parent.
	if tp := tracectx.From(ctx).String(); tp != "" {
		req.Header.Set("traceparent", tp)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		se := &statusError{status: resp.StatusCode}
		json.Unmarshal(data, &se.problem) // a body that is not a problem leaves it empty
		return nil, se
	}
	return &response{status: resp.StatusCode, body: data}, nil
}

// classify turns a failed call into an errcode error, keeping the cause in
// the chain. Only a definitive refusal keeps its own code; everything else
// means the provider's answer is unknown.
func classify(err error) error {
	var se *statusError
	if errors.As(err, &se) && se.rejected() {
		return &errcode.Error{Code: rejectionCode(se.status), Type: se.problem.subtype(), Message: "payment provider refused the request", Err: err}
	}
	return errcode.Wrap(errcode.Unavailable, err, "payment provider outcome unknown")
}

func rejectionCode(status int) string {
	switch status {
	case http.StatusNotFound:
		return errcode.NotFound
	case http.StatusConflict, http.StatusUnprocessableEntity:
		return errcode.Conflict
	case http.StatusUnauthorized:
		return errcode.Unauthorized
	case http.StatusForbidden:
		return errcode.Forbidden
	}
	return errcode.Invalid
}
