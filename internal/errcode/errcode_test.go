package errcode

import (
	"errors"
	"fmt"
	"testing"
)

func TestCodes(t *testing.T) {
	cause := errors.New("disk full")
	wrapped := Wrap(Unavailable, cause, "saving %s", "order")
	if Code(nil) != "" || Code(cause) != Internal || Code(wrapped) != Unavailable {
		t.Fatalf("Code: nil %q, plain %q, wrapped %q", Code(nil), Code(cause), Code(wrapped))
	}
	// The code survives further wrapping with %w, and the cause stays reachable.
	outer := fmt.Errorf("checkout: %w", wrapped)
	if !Is(outer, Unavailable) || Is(outer, Internal) || !errors.Is(outer, cause) {
		t.Fatalf("wrapped twice: code %q, cause reachable %v", Code(outer), errors.Is(outer, cause))
	}
	if got := wrapped.Error(); got != "unavailable: saving order: disk full" {
		t.Fatalf("Error() = %q", got)
	}
	if got := New(NotFound, "no shop %q", "x").Error(); got != `not_found: no shop "x"` {
		t.Fatalf("Error() = %q", got)
	}
	typed := Typed(Conflict, "out_of_stock", "no stock").With("sku", "TEE-1").With("available", 0)
	if typed.Code != Conflict || typed.Type != "out_of_stock" || typed.Extra["sku"] != "TEE-1" || typed.Extra["available"] != 0 {
		t.Fatalf("typed: %+v", typed)
	}
}

func TestValidation(t *testing.T) {
	var v Validation
	if v.Err() != nil {
		t.Fatal("an empty Validation is an error")
	}
	v.Add("title", "too long")
	v.Add("price", "negative")
	var e *Error
	if !errors.As(v.Err(), &e) || e.Code != Invalid || e.Type != "validation" || len(e.Fields) != 2 ||
		e.Fields[0] != (FieldError{"title", "too long"}) || e.Fields[1] != (FieldError{"price", "negative"}) {
		t.Fatalf("Validation.Err() = %#v", v.Err())
	}
}
