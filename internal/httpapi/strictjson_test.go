package httpapi

import (
	"errors"
	"strings"
	"testing"

	"github.com/surge-commerce/surge/internal/errcode"
)

type strictLine struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

type strictBody struct {
	Title      string            `json:"title"`
	Items      []strictLine      `json:"items"`
	Attributes map[string]string `json:"attributes"`
}

// A proxy and Surge must read the same request: keys that match a field
// only without case, and keys given twice, are refused with a field error
// naming them; map keys (data) keep their case.
func TestDecodeRefusesAmbiguousKeys(t *testing.T) {
	cases := []struct {
		body, field string // field "" means accepted
	}{
		{`{"title":"a","items":[{"sku":"A","quantity":1}],"attributes":{"Colour":"red","colour":"blue"}}`, ""},
		{`{"Title":"a"}`, "Title"},
		{`{"title":"a","title":"b"}`, "title"},
		{`{"title":"a","TITLE":"b"}`, "TITLE"},
		{`{"items":[{"sku":"A","Quantity":1}]}`, "items[].Quantity"},
		{`{"items":[{"sku":"A","quantity":1,"quantity":1000}]}`, "items[].quantity"},
		{`{"attributes":{"k":"a","k":"b"}}`, "attributes.k"},
	}
	for _, c := range cases {
		var v strictBody
		err := decodeJSON(strings.NewReader(c.body), &v)
		if c.field == "" {
			if err != nil {
				t.Errorf("%s: %v, want accepted", c.body, err)
			}
			continue
		}
		var e *errcode.Error
		if err == nil || !errors.As(err, &e) || len(e.Fields) == 0 || e.Fields[0].Field != c.field {
			t.Errorf("%s: %v, want a field error on %q", c.body, err, c.field)
		}
	}
}
