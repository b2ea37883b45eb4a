package main

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const openapiFile = "../../internal/httpapi/openapi.json"

var httpMethods = []string{"get", "put", "post", "delete", "patch"}

// openapiOps reads the document and calls fn for every operation.
func openapiOps(t *testing.T, fn func(path, method string, op map[string]any)) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(openapiFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	paths := doc["paths"].(map[string]any)
	keys := make([]string, 0, len(paths))
	for p := range paths {
		keys = append(keys, p)
	}
	sort.Strings(keys)
	for _, p := range keys {
		for _, m := range httpMethods {
			if op, ok := paths[p].(map[string]any)[m].(map[string]any); ok {
				fn(p, m, op)
			}
		}
	}
	return doc
}

// contents lists an operation's media types (request body and responses)
// by JSON pointer parts.
func contents(path, method string, op map[string]any) map[string][]string {
	out := map[string][]string{}
	add := func(base []string, c any) {
		for ct, media := range asMap(c) {
			if _, ok := asMap(media)["example"]; ok {
				out[ct+" "+joinParts(base)] = append(append([]string{}, base...), "content", ct)
			}
		}
	}
	add([]string{"paths", path, method, "requestBody"}, asMap(op["requestBody"])["content"])
	for status, r := range asMap(op["responses"]) {
		add([]string{"paths", path, method, "responses", status}, asMap(r)["content"])
	}
	return out
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

func joinParts(p []string) string {
	b, _ := json.Marshal(p)
	return string(b)
}

// TestOpenAPIOperationsDocumented: every operation has a unique
// lowerCamelCase operationId, declared tags, a summary and an example;
// errors that cannot happen are not listed; Idempotency-Key and rate
// limits are described.
func TestOpenAPIOperationsDocumented(t *testing.T) {
	seen := map[string]string{}
	lowerCamel := regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)
	var tags map[string]bool
	doc := openapiOps(t, func(path, method string, op map[string]any) {
		name := method + " " + path
		id, _ := op["operationId"].(string)
		if !lowerCamel.MatchString(id) {
			t.Errorf("%s: operationId %q is not lowerCamelCase", name, id)
		}
		if other, dup := seen[id]; dup {
			t.Errorf("%s: operationId %q also names %s", name, id, other)
		}
		seen[id] = name
		if ts, _ := op["tags"].([]any); len(ts) == 0 {
			t.Errorf("%s: no tags", name)
		}
		if s, _ := op["summary"].(string); s == "" {
			t.Errorf("%s: no summary", name)
		}
		if len(contents(path, method, op)) == 0 {
			t.Errorf("%s: no example", name)
		}
		responses := asMap(op["responses"])
		if _, body := op["requestBody"]; !body {
			for _, s := range []string{"413", "415"} {
				if _, ok := responses[s]; ok {
					t.Errorf("%s: lists %s but takes no body", name, s)
				}
			}
		}
		for _, p := range asSlice(op["parameters"]) {
			if asMap(p)["name"] == "Idempotency-Key" && op["x-idempotency-key"] == nil {
				t.Errorf("%s: honours Idempotency-Key without x-idempotency-key", name)
			}
		}
		if _, ok := responses["429"]; ok && op["x-rate-limit"] == nil {
			t.Errorf("%s: answers 429 without x-rate-limit", name)
		}
	})
	tags = map[string]bool{}
	for _, tg := range asSlice(doc["tags"]) {
		tags[asMap(tg)["name"].(string)] = true
	}
	openapiOps(t, func(path, method string, op map[string]any) {
		for _, tg := range asSlice(op["tags"]) {
			if !tags[tg.(string)] {
				t.Errorf("%s %s: tag %q is not declared in the document's tags", method, path, tg)
			}
		}
	})
	if doc["x-rate-limit"] == nil {
		t.Error("the document has no x-rate-limit")
	}
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// TestOpenAPIExamplesValid: every example matches its schema, with the
// validator the contract test uses.
func TestOpenAPIExamplesValid(t *testing.T) {
	raw, err := os.ReadFile(openapiFile)
	if err != nil {
		t.Fatal(err)
	}
	res, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("https://surge.test/openapi.json", res); err != nil {
		t.Fatal(err)
	}
	n := 0
	openapiOps(t, func(path, method string, op map[string]any) {
		for name, parts := range contents(path, method, op) {
			media := asMap(op)
			for _, p := range parts[3:] {
				media = asMap(media[p])
			}
			if _, ok := media["schema"]; !ok {
				continue
			}
			ex, _ := json.Marshal(media["example"])
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(ex))
			if err != nil {
				t.Fatal(err)
			}
			ptr := "https://surge.test/openapi.json#" + pointer(append(parts, "schema")...)
			sch, err := c.Compile(ptr)
			if err != nil {
				t.Fatalf("compile %s: %v", ptr, err)
			}
			if err := sch.Validate(inst); err != nil {
				t.Errorf("%s %s (%s): example does not match its schema: %v", method, path, name, err)
			}
			n++
		}
	})
	if n == 0 {
		t.Fatal("no example was checked")
	}
}
