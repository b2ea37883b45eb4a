package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestDocsPageAndItsAssets(t *testing.T) {
	t.Parallel()
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /docs", s.Page("docs/index.html"))
	mux.Handle("GET "+AssetPrefix, s.Assets())
	get := func(path string, header ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}

	page := get("/docs")
	if page.Code != 200 || !strings.HasPrefix(page.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /docs: %d %s", page.Code, page.Header().Get("Content-Type"))
	}
	if csp := page.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Fatalf("page policy %q lets the page reach other origins", csp)
	}
	if page.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("page Cache-Control %q: a page must be revalidated", page.Header().Get("Cache-Control"))
	}
	etag := page.Header().Get("ETag")
	if again := get("/docs", "If-None-Match", etag); again.Code != http.StatusNotModified || again.Body.Len() != 0 {
		t.Fatalf("revalidation with %s: %d", etag, again.Code)
	}
	if strings.Contains(page.Body.String(), "http://") || strings.Contains(page.Body.String(), "https://") {
		t.Fatalf("the page names another origin:\n%s", page.Body)
	}

	urls := regexp.MustCompile(`src="(/web/[0-9a-f]+/[^"]+)"`).FindAllStringSubmatch(page.Body.String(), -1)
	if len(urls) != 2 {
		t.Fatalf("page refers to %d assets, want 2:\n%s", len(urls), page.Body)
	}
	for _, u := range urls {
		a := get(u[1])
		if a.Code != 200 || a.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Fatalf("GET %s: %d, Cache-Control %q", u[1], a.Code, a.Header().Get("Cache-Control"))
		}
		if !strings.Contains(a.Header().Get("Content-Type"), "javascript") {
			t.Fatalf("GET %s: Content-Type %q", u[1], a.Header().Get("Content-Type"))
		}
		// Gzipped once; the client that takes it gets the same bytes.
		z := get(u[1], "Accept-Encoding", "br;q=1, gzip;q=0.8")
		if a.Body.Len() > 1024 {
			if z.Header().Get("Content-Encoding") != "gzip" {
				t.Fatalf("GET %s with gzip accepted: Content-Encoding %q", u[1], z.Header().Get("Content-Encoding"))
			}
			zr, err := gzip.NewReader(z.Body)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(plain, a.Body.Bytes()) {
				t.Fatalf("GET %s: the gzipped body differs from the plain one (%v)", u[1], err)
			}
		}
		if n := get(u[1], "Accept-Encoding", "gzip;q=0"); n.Header().Get("Content-Encoding") != "" {
			t.Fatalf("gzip;q=0 still got %q", n.Header().Get("Content-Encoding"))
		}
	}
	// An address of content that is not this binary's is not found.
	stale := regexp.MustCompile(`/web/[0-9a-f]+/`).ReplaceAllString(urls[0][1], "/web/000000000000000000000000/")
	if got := get(stale); got.Code != http.StatusNotFound {
		t.Fatalf("GET %s: %d, want 404", stale, got.Code)
	}
}
