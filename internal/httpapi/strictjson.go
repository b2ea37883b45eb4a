package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"

	"github.com/surge-commerce/surge/internal/errcode"
)

// checkKeys walks a JSON body against the Go type it will be decoded into
// and refuses two things encoding/json accepts silently: a key that names
// a struct field only case-insensitively ("Price" for "price"), and a key
// given twice in one object (where the last value would win). Either lets
// a proxy or a WAF in front of Surge read a different request than Surge
// does. Map keys are data and stay as they are, but not twice.
func checkKeys(body []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := walkValue(dec, t, ""); err != errStopWalk {
		return err
	}
	return nil // malformed JSON: the decoder that follows says so
}

// errStopWalk ends a walk at malformed JSON.
var errStopWalk = errors.New("malformed JSON")

func walkValue(dec *json.Decoder, t reflect.Type, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return errStopWalk
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch tok {
	case json.Delim('{'):
		return walkObject(dec, t, path)
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := walkValue(dec, elem, path+"[]"); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // ']'
			return errStopWalk
		}
	}
	return nil
}

func walkObject(dec *json.Decoder, t reflect.Type, path string) error {
	var fields map[string]reflect.Type // exact JSON name → type, for structs
	if t != nil && t.Kind() == reflect.Struct {
		fields = jsonFields(t)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return errStopWalk
		}
		key, _ := tok.(string)
		name := key
		if path != "" {
			name = path + "." + key
		}
		var next reflect.Type
		switch {
		case fields != nil:
			ft, exact := fields[key]
			if !exact {
				for f := range fields {
					if strings.EqualFold(f, key) {
						var v errcode.Validation
						v.Add(name, "is not a known field; did you mean "+f+"? (names are case-sensitive)")
						return v.Err()
					}
				}
			}
			next = ft
		case t != nil && t.Kind() == reflect.Map:
			next = t.Elem()
		}
		dupKey := key
		if fields != nil {
			dupKey = strings.ToLower(key)
		}
		if seen[dupKey] {
			var v errcode.Validation
			v.Add(name, "is given more than once")
			return v.Err()
		}
		seen[dupKey] = true
		if err := walkValue(dec, next, name); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return errStopWalk
	}
	return nil
}

// jsonFields returns a struct's fields by their JSON names, as
// encoding/json names them (tag name, else the Go name), embedded structs
// flattened.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					out[k] = v
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}
