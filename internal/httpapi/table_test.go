package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// row is one request of a handler table and what its answer must be.
type row struct {
	name string
	// route is the routes.go pattern the request must reach ("/" for
	// requests no route matches); TestEveryRouteHasARow reads these.
	route  string
	method string
	path   string
	token  string // sent as a Bearer token when set
	body   string
	header map[string]string
	status int
	// problem is the problem type after ProblemTypeBase (e.g.
	// "malformed-json"); empty for an answer that is not a problem.
	problem string
	// contentType overrides the expected Content-Type: application/json,
	// application/problem+json with problem set, none for 204 and 304.
	contentType string
	// want are body fields that must hold these values; a dotted name
	// reaches into objects ("order.status").
	want map[string]any
	// check asserts anything else (headers, bodies of lists).
	check func(t *testing.T, res *httptest.ResponseRecorder)
}

// request builds the row's request.
func (tc row) request() *http.Request {
	req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
	if tc.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tc.token != "" {
		req.Header.Set("Authorization", "Bearer "+tc.token)
	}
	for k, v := range tc.header {
		req.Header.Set(k, v)
	}
	return req
}

// run serves the rows in order, each as a subtest: later rows may rely on
// what earlier ones created.
func (r *rig) run(t *testing.T, rows []row) {
	t.Helper()
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			res := r.serve(t, tc)
			if tc.check != nil {
				tc.check(t, res)
			}
		})
	}
}

// serve sends one row and asserts its route, status, Content-Type,
// problem type and wanted fields.
func (r *rig) serve(t *testing.T, tc row) *httptest.ResponseRecorder {
	t.Helper()
	req := tc.request()
	if tc.route != "" {
		if _, pattern := r.srv.mux.Handler(req); pattern != tc.route {
			t.Fatalf("%s %s reaches route %q, the row names %q", tc.method, tc.path, pattern, tc.route)
		}
	}
	res := httptest.NewRecorder()
	r.srv.ServeHTTP(res, req)
	if res.Code != tc.status {
		t.Fatalf("%s %s: status %d, want %d; body %s", tc.method, tc.path, res.Code, tc.status, res.Body)
	}
	if !documented(t, tc.route, res.Code) {
		t.Errorf("%s answered %d, which its operation in openapi.json does not list", tc.route, res.Code)
	}
	wantCT := tc.contentType
	switch {
	case wantCT != "":
	case tc.problem != "":
		wantCT = "application/problem+json"
	case tc.status == http.StatusNoContent || tc.status == http.StatusNotModified:
	default:
		wantCT = "application/json"
	}
	if got := res.Header().Get("Content-Type"); !strings.HasPrefix(got, wantCT) || (wantCT == "" && got != "") {
		t.Errorf("Content-Type %q, want %q", got, wantCT)
	}
	if tc.status == http.StatusNoContent || tc.status == http.StatusNotModified {
		if res.Body.Len() != 0 {
			t.Errorf("a %d has a body: %s", tc.status, res.Body)
		}
	}
	if tc.problem != "" {
		var p struct {
			Type   string `json:"type"`
			Status int    `json:"status"`
			Title  string `json:"title"`
		}
		if err := json.Unmarshal(res.Body.Bytes(), &p); err != nil {
			t.Fatalf("problem body: %v: %s", err, res.Body)
		}
		if p.Type != ProblemTypeBase+tc.problem || p.Status != tc.status || p.Title == "" {
			t.Errorf("problem type %q status %d title %q, want %q %d: %s", p.Type, p.Status, p.Title, ProblemTypeBase+tc.problem, tc.status, res.Body)
		}
	}
	if len(tc.want) > 0 {
		var body map[string]any
		if err := json.Unmarshal(res.Body.Bytes(), &body); err != nil {
			t.Fatalf("body: %v: %s", err, res.Body)
		}
		for field, want := range tc.want {
			if got := jsonField(body, field); !sameJSON(got, want) {
				t.Errorf("%s = %v, want %v; body %s", field, got, want, res.Body)
			}
		}
	}
	return res
}

// jsonField follows a dotted name into a decoded JSON object.
func jsonField(v any, dotted string) any {
	for _, name := range strings.Split(dotted, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[name]
	}
	return v
}

func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// decodeBody decodes a JSON answer, failing the test if it is not JSON.
func decodeBody[T any](t *testing.T, res *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(res.Body.Bytes(), &v); err != nil {
		t.Fatalf("body: %v: %s", err, res.Body)
	}
	return v
}

// header asserts a response header's value.
func header(name, want string) func(t *testing.T, res *httptest.ResponseRecorder) {
	return func(t *testing.T, res *httptest.ResponseRecorder) {
		t.Helper()
		if got := res.Header().Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}

// all runs every check in turn.
func all(checks ...func(t *testing.T, res *httptest.ResponseRecorder)) func(t *testing.T, res *httptest.ResponseRecorder) {
	return func(t *testing.T, res *httptest.ResponseRecorder) {
		t.Helper()
		for _, c := range checks {
			c(t, res)
		}
	}
}

// fieldErrors asserts that a validation problem names exactly these fields.
func fieldErrors(fields ...string) func(t *testing.T, res *httptest.ResponseRecorder) {
	return func(t *testing.T, res *httptest.ResponseRecorder) {
		t.Helper()
		p := decodeBody[struct {
			Errors []struct {
				Field  string `json:"field"`
				Reason string `json:"reason"`
			} `json:"errors"`
		}](t, res)
		got := map[string]bool{}
		for _, e := range p.Errors {
			if e.Reason == "" {
				t.Errorf("field %s has no reason", e.Field)
			}
			got[e.Field] = true
		}
		for _, f := range fields {
			if !got[f] {
				t.Errorf("no error for field %q: %s", f, res.Body)
			}
		}
		if len(got) != len(fields) {
			t.Errorf("errors for fields %v, want %v", got, fields)
		}
	}
}

// Fixtures: what most tables need before their first row. Each goes
// through the API, as a client would.

// newShop creates a shop and returns its key.
func (r *rig) newShop(slug string) string {
	r.t.Helper()
	res := r.serve(r.t, row{method: "POST", path: "/v1/admin/shops", token: r.adminKey,
		body: `{"slug":"` + slug + `","name":"Shop ` + slug + `"}`, status: http.StatusCreated})
	return decodeBody[struct {
		APIKey string `json:"api_key"`
	}](r.t, res).APIKey
}

// newProduct puts a product of price 1500 EUR with the given stock.
func (r *rig) newProduct(slug, key, sku string, stock int) {
	r.t.Helper()
	r.serve(r.t, row{method: "PUT", path: "/v1/shops/" + slug + "/admin/products/" + sku, token: key,
		body: `{"title":"Product ` + sku + `","price":1500,"currency":"EUR","stock":` + strconv.Itoa(stock) + `}`, status: http.StatusCreated})
}

// newCustomer registers a customer and returns its id and token.
func (r *rig) newCustomer(slug string) (id, token string) {
	r.t.Helper()
	res := r.serve(r.t, row{method: "POST", path: "/v1/shops/" + slug + "/customers",
		body: `{"email":"c@example.com","name":"C"}`, status: http.StatusCreated})
	c := decodeBody[struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}](r.t, res)
	return c.ID, c.Token
}

// newOrder checks out quantity units of sku and returns the paid order's id.
func (r *rig) newOrder(slug, token, sku string, quantity int) string {
	r.t.Helper()
	res := r.serve(r.t, row{method: "POST", path: "/v1/shops/" + slug + "/checkout", token: token,
		header: map[string]string{"Idempotency-Key": randomHex()},
		body:   `{"items":[{"sku":"` + sku + `","quantity":` + strconv.Itoa(quantity) + `}]}`, status: http.StatusCreated})
	return decodeBody[struct {
		Order struct {
			ID string `json:"id"`
		} `json:"order"`
	}](r.t, res).Order.ID
}

var openAPIResponses = sync.OnceValues(func() (map[string]map[string]bool, error) {
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openapiDoc, &doc); err != nil {
		return nil, err
	}
	out := map[string]map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			codes := map[string]bool{}
			for code := range op.Responses {
				codes[code] = true
			}
			out[strings.ToUpper(method)+" "+path] = codes
		}
	}
	return out, nil
})

// documented says whether the OpenAPI document lists status for a
// routes.go pattern: every answer a row sees must be one the document
// promises, and the rows reach every route (TestEveryRouteHasARow). A
// request no route matches ("/" or none) has no operation to check.
func documented(t *testing.T, route string, status int) bool {
	t.Helper()
	ops, err := openAPIResponses()
	if err != nil {
		t.Fatal(err)
	}
	codes, ok := ops[route]
	if !ok {
		return true // pages and console routes are not API operations
	}
	return codes[strconv.Itoa(status)]
}

func TestDocumentedReadsTheDocument(t *testing.T) {
	if !documented(t, "PUT /v1/admin/flags/{flag}", http.StatusPreconditionFailed) ||
		documented(t, "PUT /v1/admin/flags/{flag}", http.StatusPaymentRequired) ||
		documented(t, "GET /v1/shops/{shop}/admin/orders/{order}", http.StatusUnprocessableEntity) {
		t.Fatal("documented does not answer from openapi.json")
	}
}
