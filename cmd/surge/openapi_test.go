package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/surge-commerce/surge/internal/flashsale"
)

// contract checks real responses against the served OpenAPI document.
type contract struct {
	t      *testing.T
	doc    map[string]any
	schema *jsonschema.Compiler
	// seen records which operation+status pairs were exercised.
	seen map[string]bool
}

func newContract(t *testing.T, s *surge) *contract {
	t.Helper()
	code, _, body := do(t, "GET", s.URL+"/openapi.json", "", "")
	if code != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d", code)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	raw, err := jsonschema.UnmarshalJSON(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("https://surge.test/openapi.json", raw); err != nil {
		t.Fatal(err)
	}
	return &contract{t: t, doc: doc, schema: c, seen: map[string]bool{}}
}

func pointer(parts ...string) string {
	for i, p := range parts {
		p = strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1")
		parts[i] = url.PathEscape(p)
	}
	return "/" + strings.Join(parts, "/")
}

// check validates one response of the operation (method, path template).
func (c *contract) check(method, path string, status int, header http.Header, body string) {
	c.t.Helper()
	m := strings.ToLower(method)
	op, ok := c.doc["paths"].(map[string]any)[path].(map[string]any)[m].(map[string]any)
	if !ok {
		c.t.Fatalf("%s %s is not in the document", method, path)
	}
	resp, ok := op["responses"].(map[string]any)[strconv.Itoa(status)].(map[string]any)
	if !ok {
		c.t.Fatalf("%s %s answered %d, which the document does not declare (body %s)", method, path, status, body)
	}
	c.seen[method+" "+path+" "+strconv.Itoa(status)] = true
	content, _ := resp["content"].(map[string]any)
	if len(content) == 0 {
		if strings.TrimSpace(body) != "" {
			c.t.Fatalf("%s %s %d: the document declares no body, got %s", method, path, status, body)
		}
		return
	}
	ct := header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	if _, ok := content[ct]; !ok {
		c.t.Fatalf("%s %s %d: content type %q not declared", method, path, status, ct)
	}
	if ct == "text/plain" {
		return
	}
	ptr := "https://surge.test/openapi.json#" + pointer("paths", path, m, "responses", strconv.Itoa(status), "content", ct, "schema")
	sch, err := c.schema.Compile(ptr)
	if err != nil {
		c.t.Fatalf("compile %s: %v", ptr, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(body)))
	if err != nil {
		c.t.Fatalf("%s %s %d: body is not JSON: %v", method, path, status, err)
	}
	if err := sch.Validate(inst); err != nil {
		c.t.Fatalf("%s %s %d: body does not match the document: %v\nbody: %s", method, path, status, err, body)
	}
}

// call sends a request to a concrete URL path and checks the response
// against the operation given by its template.
func (c *contract) call(s *surge, method, tmpl, path, key, body string, header ...string) (int, string) {
	c.t.Helper()
	code, h, b := do(c.t, method, s.URL+path, key, body, header...)
	c.check(method, tmpl, code, h, b)
	return code, b
}

// TestOpenAPIMatchesResponses exercises every route, good and bad requests,
// and validates each real response against /openapi.json.
func TestOpenAPIMatchesResponses(t *testing.T) {
	t.Parallel()
	s := startSurge(t, map[string]string{"SURGE_RATE_LIMITS": "off"})
	c := newContract(t, s)
	id := func(body, field string) string {
		m := regexp.MustCompile(`"` + field + `":"([^"]+)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no %s in %s", field, body)
		}
		return m[1]
	}
	A := s.AdminKey
	c.call(s, "GET", "/healthz", "/healthz", "", "")
	c.call(s, "GET", "/readyz", "/readyz", "", "")
	c.call(s, "GET", "/metrics", "/metrics", "", "")
	c.call(s, "GET", "/openapi.json", "/openapi.json", "", "")

	_, body := c.call(s, "POST", "/v1/admin/shops", "/v1/admin/shops", A, `{"slug":"oas","name":"OAS"}`)
	K := id(body, "api_key")
	c.call(s, "POST", "/v1/admin/shops", "/v1/admin/shops", A, `{"slug":"oas","name":"Again"}`) // 409
	c.call(s, "POST", "/v1/admin/shops", "/v1/admin/shops", "", `{"slug":"x","name":"X"}`)      // 401
	c.call(s, "POST", "/v1/admin/shops", "/v1/admin/shops", A, `{"slug":"Bad Slug","name":""}`) // 422
	c.call(s, "POST", "/v1/admin/shops", "/v1/admin/shops", A, `{"slug":`)                      // 400
	c.call(s, "PUT", "/v1/admin/shops/{shop}/tier", "/v1/admin/shops/oas/tier", A, `{"tier":"enterprise"}`)
	c.call(s, "PUT", "/v1/admin/shops/{shop}/tier", "/v1/admin/shops/oas/tier", A, `{"tier":"free"}`, "If-Match", `"v1"`) // 412
	c.call(s, "GET", "/v1/admin/shops/{shop}", "/v1/admin/shops/oas", A, "")
	c.call(s, "GET", "/v1/admin/shops/{shop}", "/v1/admin/shops/nope", A, "") // 404
	c.call(s, "GET", "/v1/admin/flags", "/v1/admin/flags", A, "")
	c.call(s, "PUT", "/v1/admin/flags/{flag}", "/v1/admin/flags/search", A, `{"enabled":true}`)
	c.call(s, "PUT", "/v1/admin/flags/{flag}", "/v1/admin/flags/search", A, `{"enabled":true}`, "If-Match", `"v9"`) // 412
	c.call(s, "PUT", "/v1/admin/flags/{flag}", "/v1/admin/flags/nope", A, `{"enabled":true}`)                       // 404
	c.call(s, "GET", "/v1/admin/flags/{flag}", "/v1/admin/flags/search", A, "")
	c.call(s, "GET", "/v1/admin/flags/{flag}", "/v1/admin/flags/nope", A, "") // 404

	P := "/v1/shops/oas/admin/products/TEE-1"
	T := "/v1/shops/{shop}/admin/products/{sku}"
	c.call(s, "PUT", T, P, K, `{"title":"Tee","description":"Red cotton tee","price":1999,"currency":"EUR","stock":50,"attributes":{"color":"red"},"images":["https://img.example/t.png"]}`)
	c.call(s, "PUT", T, P, K, `{"title":"Tee","description":"Red cotton tee","price":1999,"currency":"EUR","stock":60}`)
	c.call(s, "PUT", T, P, K, `{"title":"","price":-1,"currency":"XXX"}`) // 422
	c.call(s, "PUT", T, P, "", `{}`)                                      // 401
	c.call(s, "PUT", "/v1/shops/{shop}/admin/products/{sku}", "/v1/shops/oas/admin/products/MUG", K, `{"title":"Mug","price":900,"currency":"EUR","stock":10}`)
	c.call(s, "GET", T, P, K, "")
	c.call(s, "GET", "/v1/shops/{shop}/admin/inventory/{sku}", "/v1/shops/oas/admin/inventory/TEE-1", K, "")
	c.call(s, "POST", "/v1/shops/{shop}/admin/inventory/{sku}/restock", "/v1/shops/oas/admin/inventory/TEE-1/restock", K, `{"quantity":5}`)
	c.call(s, "POST", "/v1/shops/{shop}/admin/inventory/{sku}/restock", "/v1/shops/oas/admin/inventory/TEE-1/restock", K, `{"quantity":5}`,
		"If-Match", `"v1"`) // 412

	c.call(s, "GET", "/v1/shops/{shop}/products/{sku}", "/v1/shops/oas/products/TEE-1", "", "")
	c.call(s, "GET", "/v1/shops/{shop}/products/{sku}", "/v1/shops/oas/products/NOPE", "", "") // 404
	c.call(s, "GET", "/v1/shops/{shop}/products/{sku}", "/v1/shops/oas/products/TEE-1", "", "", "If-None-Match", `"v2"`)
	_, list := c.call(s, "GET", "/v1/shops/{shop}/products", "/v1/shops/oas/products?limit=1", "", "")
	c.call(s, "GET", "/v1/shops/{shop}/products", "/v1/shops/oas/products?limit=1&cursor="+id(list, "next_cursor"), "", "")
	c.call(s, "GET", "/v1/shops/{shop}/products", "/v1/shops/oas/products?cursor=!!", "", "") // 422
	c.call(s, "GET", "/v1/shops/{shop}/search", "/v1/shops/oas/search?q=cotton", "", "")
	c.call(s, "GET", "/v1/shops/{shop}/products/{sku}/recommendations", "/v1/shops/oas/products/TEE-1/recommendations", "", "")

	_, body = c.call(s, "POST", "/v1/shops/{shop}/customers", "/v1/shops/oas/customers", "", `{"email":"a@example.com"}`)
	C := id(body, "token")
	_, body = c.call(s, "POST", "/v1/shops/{shop}/carts", "/v1/shops/oas/carts", C, "")
	cart := id(body, "id")
	c.call(s, "PUT", "/v1/shops/{shop}/carts/{cart}/lines/{sku}", "/v1/shops/oas/carts/"+cart+"/lines/MUG", C, `{"quantity":2}`)
	c.call(s, "PUT", "/v1/shops/{shop}/carts/{cart}/lines/{sku}", "/v1/shops/oas/carts/"+cart+"/lines/NOPE", C, `{"quantity":1}`) // 422
	c.call(s, "DELETE", "/v1/shops/{shop}/carts/{cart}/lines/{sku}", "/v1/shops/oas/carts/"+cart+"/lines/MUG", C, "")
	c.call(s, "GET", "/v1/shops/{shop}/carts/{cart}", "/v1/shops/oas/carts/"+cart, C, "")
	c.call(s, "GET", "/v1/shops/{shop}/carts/{cart}", "/v1/shops/oas/carts/"+cart, "", "") // 401

	CO := "/v1/shops/{shop}/checkout"
	_, body = c.call(s, "POST", CO, "/v1/shops/oas/checkout", C, `{"items":[{"sku":"TEE-1","quantity":1}]}`, "Idempotency-Key", "k1")
	order := id(body, "id")
	c.call(s, "POST", CO, "/v1/shops/oas/checkout", C, `{"items":[{"sku":"TEE-1","quantity":1}]}`, "Idempotency-Key", "k1")  // replay
	c.call(s, "POST", CO, "/v1/shops/oas/checkout", C, `{"items":[{"sku":"TEE-1","quantity":2}]}`, "Idempotency-Key", "k1")  // 422
	c.call(s, "POST", CO, "/v1/shops/oas/checkout", C, `{"items":[{"sku":"TEE-1","quantity":1}]}`)                           // 400
	c.call(s, "POST", CO, "/v1/shops/oas/checkout", C, `{"items":[{"sku":"MUG","quantity":1000}]}`, "Idempotency-Key", "k2") // 409
	c.call(s, "GET", "/v1/shops/{shop}/orders/{order}", "/v1/shops/oas/orders/"+order, C, "")
	c.call(s, "GET", "/v1/shops/{shop}/admin/orders", "/v1/shops/oas/admin/orders?status=paid", K, "")
	c.call(s, "GET", "/v1/shops/{shop}/admin/orders/{order}", "/v1/shops/oas/admin/orders/"+order, K, "")
	c.call(s, "POST", "/v1/shops/{shop}/admin/orders/{order}/fulfil", "/v1/shops/oas/admin/orders/"+order+"/fulfil", K, "", "If-Match", `"v99"`) // 412
	c.call(s, "POST", "/v1/shops/{shop}/admin/orders/{order}/fulfil", "/v1/shops/oas/admin/orders/"+order+"/fulfil", K, "")
	c.call(s, "POST", "/v1/shops/{shop}/admin/orders/{order}/refund", "/v1/shops/oas/admin/orders/"+order+"/refund", K, "") // 409: fulfilled

	c.call(s, "PUT", "/v1/shops/{shop}/admin/sales/{sku}", "/v1/shops/oas/admin/sales/MUG", K, `{"stock":5,"per_customer_limit":1,"admission_rate":10,"admission_burst":1}`)
	c.call(s, "GET", "/v1/shops/{shop}/admin/sales/{sku}", "/v1/shops/oas/admin/sales/MUG", K, "")
	c.call(s, "PUT", "/v1/shops/{shop}/admin/sales/{sku}", "/v1/shops/oas/admin/sales/MUG", K, `{"stock":5}`, "If-None-Match", "*") // 412
	_, body = c.call(s, "POST", "/v1/shops/{shop}/sales/{sku}/queue", "/v1/shops/oas/sales/MUG/queue", C, "")
	c.call(s, "GET", "/v1/shops/{shop}/sales/{sku}/queue", "/v1/shops/oas/sales/MUG/queue", C, "", "Surge-Queue-Ticket", id(body, "token"))
	c.call(s, "GET", "/v1/shops/{shop}/sales/{sku}", "/v1/shops/oas/sales/MUG", "", "")
	c.call(s, "GET", "/v1/shops/{shop}/sales/{sku}", "/v1/shops/oas/sales/TEE-1", "", "") // 404
	c.call(s, "PUT", "/v1/shops/{shop}/admin/sales/{sku}", "/v1/shops/oas/admin/sales/MUG", K, `{"stock":5,"admission_rate":10,"pow_difficulty":8}`)
	_, body = c.call(s, "GET", "/v1/shops/{shop}/sales/{sku}/queue/challenge", "/v1/shops/oas/sales/MUG/queue/challenge", C, "")
	challenge := id(body, "challenge")
	proof, _ := json.Marshal(flashsale.Proof{Challenge: challenge, Nonce: flashsale.SolvePoW(challenge, 8)})
	c.call(s, "POST", "/v1/shops/{shop}/sales/{sku}/queue", "/v1/shops/oas/sales/MUG/queue", C, string(proof))
	c.call(s, "DELETE", "/v1/shops/{shop}/admin/sales/{sku}", "/v1/shops/oas/admin/sales/MUG", K, "")

	c.call(s, "GET", "/v1/shops/{shop}/admin/notifications", "/v1/shops/oas/admin/notifications", K, "")
	c.call(s, "GET", "/v1/shops/{shop}/admin/invoices", "/v1/shops/oas/admin/invoices", K, "")
	c.call(s, "GET", "/v1/shops/{shop}/admin/bestsellers", "/v1/shops/oas/admin/bestsellers", K, "")
	c.call(s, "POST", "/v1/shops/{shop}/admin/keys", "/v1/shops/oas/admin/keys", K, `{"grace_seconds":60}`)
	c.call(s, "POST", "/v1/admin/shops/{shop}/keys", "/v1/admin/shops/oas/keys", A, "")
	c.call(s, "GET", "/v1/admin/audit", "/v1/admin/audit", A, "")
	c.call(s, "GET", "/v1/admin/dead-letters", "/v1/admin/dead-letters", A, "")
	c.call(s, "POST", "/v1/admin/dead-letters/replay", "/v1/admin/dead-letters/replay", A, `{"consumer":"invoice"}`)
	c.call(s, "POST", "/v1/admin/dead-letters/replay", "/v1/admin/dead-letters/replay", A, `{"consumer":"nope"}`)     // 422
	c.call(s, "POST", "/v1/payments/webhook", "/v1/payments/webhook", "", `{"id":"x"}`, "Psp-Signature", "t=1,v1=00") // 401
	c.call(s, "DELETE", T, P, K, "")
	c.call(s, "DELETE", T, P, K, "")                                                                                                              // 404
	c.call(s, "POST", "/v1/shops/{shop}/admin/customers/{customer}/revoke-tokens", "/v1/shops/oas/admin/customers/cus_nope/revoke-tokens", K, "") // 404
	c.call(s, "POST", "/v1/shops/{shop}/customers/me/sign-out", "/v1/shops/oas/customers/me/sign-out", C, "")
	c.call(s, "POST", "/v1/shops/{shop}/customers/me/revoke-tokens", "/v1/shops/oas/customers/me/revoke-tokens", C, "")                       // 401: signed out
	c.call(s, "POST", "/v1/shops/{shop}/admin/notifications/{notification}/retry", "/v1/shops/oas/admin/notifications/ntf_nope/retry", K, "") // 404
	c.call(s, "POST", "/v1/shops/{shop}/admin/keys/revoke", "/v1/shops/oas/admin/keys/revoke", K, "")                                         // 403: K is in grace
	c.call(s, "POST", "/v1/admin/shops/{shop}/keys/revoke", "/v1/admin/shops/oas/keys/revoke", A, "")

	// Every route is documented and every documented operation was called.
	for _, route := range routePatterns(t) {
		method, path, _ := strings.Cut(route, " ")
		called := false
		for k := range c.seen {
			if strings.HasPrefix(k, method+" "+path+" ") {
				called = true
			}
		}
		if !called {
			t.Errorf("route %s was not exercised against the document", route)
		}
	}
	var documented []string
	for path, ops := range c.doc["paths"].(map[string]any) {
		for m := range ops.(map[string]any) {
			documented = append(documented, strings.ToUpper(m)+" "+path)
		}
	}
	sort.Strings(documented)
	routes := routePatterns(t)
	if strings.Join(documented, "\n") != strings.Join(routes, "\n") {
		t.Errorf("documented operations differ from routes.go:\ndocument:\n%s\nroutes:\n%s", strings.Join(documented, "\n"), strings.Join(routes, "\n"))
	}
}

// routePatterns reads every registered route from routes.go.
func routePatterns(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("../../internal/httpapi/routes.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`s\.handle\("([A-Z]+ [^"]+)"`).FindAllStringSubmatch(string(src), -1) {
		out = append(out, m[1])
	}
	sort.Strings(out)
	return out
}
