package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// consoleReq sends a request to the console with the given cookie and
// whether it carries the console's header.
func consoleReq(r *rig, method, path, cookie, body string, console bool) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	if console {
		req.Header.Set(consoleHeader, "1")
	}
	w := httptest.NewRecorder()
	r.srv.ServeHTTP(w, req)
	return w
}

func signInConsole(t *testing.T, r *rig, shop, key string) string {
	t.Helper()
	w := consoleReq(r, "POST", "/ops/session", "", `{"shop":"`+shop+`","key":"`+key+`"}`, true)
	if w.Code != 200 {
		t.Fatalf("sign in (%q): %d %s", shop, w.Code, w.Body)
	}
	c := w.Result().Cookies()
	if len(c) != 1 || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode || c[0].Path != "/ops" {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/ops", c)
	}
	return c[0].Name + "=" + c[0].Value
}

func TestConsoleSessions(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	keyA := r.newShop("con-a")
	r.newShop("con-b")

	// A wrong key opens nothing; a right one opens its own console only.
	if w := consoleReq(r, "POST", "/ops/session", "", `{"shop":"con-a","key":"nope"}`, true); w.Code != 401 {
		t.Fatalf("wrong key: %d", w.Code)
	}
	if w := consoleReq(r, "POST", "/ops/session", "", `{"key":"`+keyA+`"}`, true); w.Code != 401 {
		t.Fatalf("a shop key as the platform admin: %d", w.Code)
	}
	shopA := signInConsole(t, r, "con-a", keyA)
	admin := signInConsole(t, r, "", r.adminKey)

	for _, c := range []struct {
		name, method, path, cookie, body string
		console                          bool
		want                             int
	}{
		{"no session", "GET", "/ops/api/admin/flags", "", "", false, 401},
		{"a forged cookie", "GET", "/ops/api/admin/flags", "surge_console=AAAA" + strings.Repeat("A", 60), "", false, 401},
		{"admin reads flags", "GET", "/ops/api/admin/flags", admin, "", false, 200},
		{"admin write without the console header", "PUT", "/ops/api/admin/flags/search", admin, `{"enabled":false}`, false, 403},
		{"admin write", "PUT", "/ops/api/admin/flags/search", admin, `{"enabled":true}`, true, 200},
		{"a shop reads its own products", "GET", "/ops/api/shops/con-a/admin/orders", shopA, "", false, 200},
		{"a shop cannot reach another shop", "GET", "/ops/api/shops/con-b/admin/orders", shopA, "", false, 403},
		{"a shop cannot reach the platform", "GET", "/ops/api/admin/flags", shopA, "", false, 403},
		{"sign out needs the header", "DELETE", "/ops/session", admin, "", false, 403},
	} {
		if w := consoleReq(r, c.method, c.path, c.cookie, c.body, c.console); w.Code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, w.Code, w.Body, c.want)
		}
	}

	// A session ends with its lifetime.
	r.srv.now = func() time.Time { return time.Now().Add(consoleLifetime + time.Minute) }
	if w := consoleReq(r, "GET", "/ops/api/admin/flags", admin, "", false); w.Code != 401 {
		t.Fatalf("an expired session: %d", w.Code)
	}
}

// The stream sends the platform's figures to the platform admin and only
// its own sales to a shop.
func TestConsoleStream(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	keyA, keyB := r.newShop("str-a"), r.newShop("str-b")
	for _, s := range []struct{ slug, key string }{{"str-a", keyA}, {"str-b", keyB}} {
		r.newProduct(s.slug, s.key, "DROP", 5)
		r.serve(t, row{method: "PUT", path: "/v1/shops/" + s.slug + "/admin/sales/DROP", token: s.key, body: `{"stock":5}`, status: 200})
	}
	frame := func(cookie string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		req := httptest.NewRequest("GET", "/ops/stream", nil).WithContext(ctx)
		req.Header.Set("Cookie", cookie)
		w := httptest.NewRecorder()
		r.srv.ServeHTTP(w, req)
		if w.Code != 200 || w.Header().Get("Content-Type") != "text/event-stream" {
			t.Fatalf("stream: %d %s", w.Code, w.Body)
		}
		_, first, _ := strings.Cut(w.Body.String(), "data: ")
		first, _, _ = strings.Cut(first, "\n")
		return first
	}
	admin := frame(signInConsole(t, r, "", r.adminKey))
	if !strings.Contains(admin, `"surge_http_requests_total"`) || !strings.Contains(admin, `"shop":"str-a"`) || !strings.Contains(admin, `"shop":"str-b"`) {
		t.Fatalf("admin frame lacks the platform's figures or a sale: %.600s", admin)
	}
	shop := frame(signInConsole(t, r, "str-a", keyA))
	if strings.Contains(shop, `"metrics"`) || strings.Contains(shop, "str-b") || !strings.Contains(shop, `"sku":"DROP"`) {
		t.Fatalf("a shop's frame shows more than its own sales: %.600s", shop)
	}
	if w := consoleReq(r, "GET", "/ops/stream", "", "", false); w.Code != 401 {
		t.Fatalf("stream without a session: %d", w.Code)
	}
}
