// Package errcode gives Surge's errors a small, fixed set of codes so that
// every layer can say what went wrong without knowing how it is reported.
//
// Business and store packages return *Error values; the HTTP layer maps the
// code to a status in exactly one place. This package must never import a
// transport or a driver.
package errcode

import (
	"errors"
	"fmt"
)

// ProblemTypeBase prefixes the `type` of every problem+json answer Surge
// gives, including those written below HTTP (connlimit). The rest of the
// URI (the error's subtype, or its code) is stable: clients may branch on it.
const ProblemTypeBase = "https://surge.dev/problems/"

// The codes an error can carry. They are part of the public API (they appear
// in problem+json `type` URIs), so they never change meaning.
const (
	Invalid      = "invalid"
	NotFound     = "not_found"
	Conflict     = "conflict"
	Unauthorized = "unauthorized"
	Forbidden    = "forbidden"
	Unavailable  = "unavailable"
	RateLimited  = "rate_limited"
	TooLarge     = "too_large"
	// PreconditionFailed: a conditional write (If-Match, If-None-Match)
	// found the resource in another state than the client expected.
	PreconditionFailed = "precondition_failed"
	Internal           = "internal"
)

// FieldError names one offending input field and why it was rejected.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Error is an error with a code, a human message, an optional stable subtype
// (e.g. "out_of_stock", "malformed_json") and optional field details.
type Error struct {
	Code    string
	Type    string
	Message string
	Fields  []FieldError
	// Extra holds machine-readable details a client may act on, such as
	// the SKU that is out of stock or the purchase limit that was hit.
	Extra map[string]any
	Err   error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// New returns an error with the given code and message.
func New(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error with the given code that keeps err as its cause.
func Wrap(code string, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// Typed returns an error with a code and a stable subtype that clients can
// branch on (for example errcode.Typed(errcode.Conflict, "out_of_stock", ...)).
func Typed(code, typ, format string, args ...any) *Error {
	return &Error{Code: code, Type: typ, Message: fmt.Sprintf(format, args...)}
}

// With adds a machine-readable detail and returns e.
func (e *Error) With(key string, value any) *Error {
	if e.Extra == nil {
		e.Extra = map[string]any{}
	}
	e.Extra[key] = value
	return e
}

// Code returns the code of err, Internal for an error without one and ""
// for nil.
func Code(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries the given code.
func Is(err error, code string) bool { return Code(err) == code }

// Validation collects field errors so a request reports every bad field at
// once rather than one per round trip.
type Validation struct {
	fields []FieldError
}

// Add records that field is invalid for reason.
func (v *Validation) Add(field, reason string) {
	v.fields = append(v.fields, FieldError{Field: field, Reason: reason})
}

// Err returns nil when nothing was added, else an Invalid error listing
// every field.
func (v *Validation) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Type: "validation", Message: "the request has invalid fields", Fields: v.fields}
}
