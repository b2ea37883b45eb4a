package main

import (
	"net/http"
	"strings"
	"testing"
)

// A storefront in a browser on an allowed origin may read the API: the
// origin is echoed with the headers it needs exposed, and a preflight is
// answered 204 without touching the rate limits. Other origins get no CORS
// headers, and without --cors-origins no origin does.
func TestCORS(t *testing.T) {
	t.Parallel()
	const shopURL = "https://shop.example"
	s := startSurge(t, map[string]string{"SURGE_RATE_LIMIT_IP": "1"}, "--demo", "--cors-origins", shopURL+",https://other.example")
	product := s.URL + "/v1/shops/demo/products/MUG-ENAMEL"

	code, h, _ := do(t, "GET", product, "", "", "Origin", shopURL)
	if code != 200 || h.Get("Access-Control-Allow-Origin") != shopURL || !hasToken(h.Values("Vary"), "Origin") {
		t.Fatalf("GET from allowed origin: %d %v", code, h)
	}
	for _, want := range []string{"ETag", "Retry-After", "RateLimit", "RateLimit-Policy", "Location", "Idempotent-Replayed"} {
		if !hasToken(h.Values("Access-Control-Expose-Headers"), want) {
			t.Errorf("Access-Control-Expose-Headers %q lacks %s", h.Values("Access-Control-Expose-Headers"), want)
		}
	}
	if h.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("credentials allowed: %v", h)
	}

	// Many preflights in a row, more than the per-IP budget allows
	// requests: none is limited.
	for range 10 {
		code, h, _ = do(t, "OPTIONS", s.URL+"/v1/shops/demo/admin/products/MUG-ENAMEL", "", "",
			"Origin", shopURL, "Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "authorization, content-type, if-match")
		if code != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != shopURL || h.Get("Access-Control-Max-Age") == "" {
			t.Fatalf("preflight: %d %v", code, h)
		}
	}
	for _, want := range []string{"Authorization", "Content-Type", "Idempotency-Key", "If-Match", "If-None-Match"} {
		if !hasToken(h.Values("Access-Control-Allow-Headers"), want) {
			t.Errorf("Access-Control-Allow-Headers %q lacks %s", h.Values("Access-Control-Allow-Headers"), want)
		}
	}
	if !hasToken(h.Values("Access-Control-Allow-Methods"), "PUT") {
		t.Errorf("Access-Control-Allow-Methods %q lacks PUT", h.Values("Access-Control-Allow-Methods"))
	}

	_, h, _ = do(t, "GET", product, "", "", "Origin", "https://evil.example")
	if h.Get("Access-Control-Allow-Origin") != "" || h.Get("Access-Control-Expose-Headers") != "" {
		t.Errorf("disallowed origin got CORS headers: %v", h)
	}
}

func TestCORSOffByDefault(t *testing.T) {
	t.Parallel()
	s := startSurge(t, nil, "--demo")
	_, h, _ := do(t, "GET", s.URL+"/v1/shops/demo/products/MUG-ENAMEL", "", "", "Origin", "https://shop.example")
	if h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS without --cors-origins: %v", h)
	}
}

// hasToken reports whether a comma-separated header holds tok (any case).
func hasToken(values []string, tok string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), tok) {
				return true
			}
		}
	}
	return false
}
