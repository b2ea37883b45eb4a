package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
)

func jsonEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

// encode writes v as a JSON response with the given status.
func encode(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = jsonEncoder(w).Encode(v) // the client went away; nothing to do
}

// decode reads a JSON request body into v, which must be a pointer to a
// struct. Errors: invalid (malformed JSON has Type "malformed_json", and
// maps to 400), too_large.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return errcode.Typed(errcode.Invalid, "unsupported_media_type", "the body must be application/json")
		}
	}
	return decodeJSON(r.Body, v)
}

// decodeJSON is decode without the HTTP request, so fuzz targets reach it.
func decodeJSON(body io.Reader, v any) error {
	data, err := io.ReadAll(body)
	if err != nil {
		return decodeError(err)
	}
	if err := checkKeys(data, reflect.TypeOf(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return malformed("the body must hold exactly one JSON value")
		}
		return nil
	}
	// A time that does not parse comes back without its field: find the
	// field that holds the value, so the client is told which it was.
	var bad *time.ParseError
	if errors.As(err, &bad) {
		return fieldError(fieldHolding(data, bad.Value), "must be an RFC 3339 date-time, e.g. 2026-12-04T12:00:00Z")
	}
	return decodeError(err)
}

// fieldHolding names the top-level field whose value is the JSON string
// value ("body" when none is).
func fieldHolding(data []byte, value string) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) == nil {
		want, _ := json.Marshal(value)
		for k, v := range fields {
			if bytes.Equal(bytes.TrimSpace(v), want) || string(bytes.TrimSpace(v)) == value {
				return k
			}
		}
	}
	return "body"
}

// decodeError maps what reading or decoding a body failed with to a
// problem.
func decodeError(err error) error {
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var v1 errcode.Validation
	switch {
	case errors.As(err, &tooBig):
		return errcode.New(errcode.TooLarge, "the body exceeds %d bytes", tooBig.Limit)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return malformed("the body must be a JSON object")
		}
		v1.Add(field, "must be of type "+jsonType(typeErr.Type.Kind().String()))
		return v1.Err()
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		v1.Add(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "is not a known field")
		return v1.Err()
	case errors.Is(err, io.EOF):
		return malformed("the body is empty")
	}
	return malformed("the body is not valid JSON: " + err.Error())
}

func malformed(msg string) error {
	return errcode.Typed(errcode.Invalid, "malformed_json", "%s", msg)
}

func jsonType(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "integer"
	case strings.HasPrefix(kind, "float"):
		return "number"
	case kind == "map", kind == "struct", kind == "ptr":
		return "object"
	case kind == "slice":
		return "array"
	}
	return kind
}

// fieldError is a validation error for one field.
func fieldError(field, reason string) error {
	var v errcode.Validation
	v.Add(field, reason)
	return v.Err()
}
