package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// Answers that Go's mux or the auth layer would give in their own shape
// are problem+json like every other error: a path with dot segments or
// doubled slashes, and a missing credential (with WWW-Authenticate).
func TestEdgeAnswersAreProblems(t *testing.T) {
	t.Parallel()
	s := startSurge(t, nil, "--demo")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []struct {
		path, key string
		status    int
		typ       string
	}{
		{"/v1/shops/demo//products", "", 400, "non-canonical-path"},
		{"/v1/shops/demo/./products", "", 400, "non-canonical-path"},
		{"/v1/shops/x/../demo/products", "", 400, "non-canonical-path"},
		{"/v1/admin/flags", "", 401, "unauthorized"},
		{"/v1/admin/flags", "wrong-key", 401, "unauthorized"},
	} {
		req, err := http.NewRequest("GET", s.URL+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = c.path // send the path as written, uncleaned
		if c.key != "" {
			req.Header.Set("Authorization", "Bearer "+c.key)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ct := resp.Header.Get("Content-Type")
		if resp.StatusCode != c.status || ct != "application/problem+json" || !strings.Contains(string(body), "/problems/"+c.typ+`"`) {
			t.Errorf("GET %s: %d %s %s, want %d problem+json of type %s", c.path, resp.StatusCode, ct, body, c.status, c.typ)
		}
		if c.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("GET %s: 401 without a Bearer WWW-Authenticate: %q", c.path, resp.Header.Get("WWW-Authenticate"))
		}
	}
}
