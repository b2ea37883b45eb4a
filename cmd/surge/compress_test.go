package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
)

// A JSON list above a kilobyte is gzip-compressed for a client that asks,
// under an ETag of its own that still revalidates to 304; a single product
// and a problem are never compressed.
func TestListCompression(t *testing.T) {
	t.Parallel()
	s := startSurge(t, nil)
	c := catCreateShop(t, s, "gz")
	for i := range 20 {
		sku := fmt.Sprintf("GZ-%02d", i)
		if code, body := c.put(t, sku, catProduct(sku, "Plain cotton tee", 1000+i)); code != http.StatusCreated {
			t.Fatalf("put %s: %d %s", sku, code, body)
		}
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}} // see the wire as it is
	get := func(path string, header ...string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest("GET", c.url(path), nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}

	plain, plainBody := get("/products?limit=20")
	gz, gzBody := get("/products?limit=20", "Accept-Encoding", "gzip")
	if gz.Header.Get("Content-Encoding") != "gzip" || plain.Header.Get("Content-Encoding") != "" {
		t.Fatalf("Content-Encoding %q with gzip, %q without", gz.Header.Get("Content-Encoding"), plain.Header.Get("Content-Encoding"))
	}
	if !hasToken(gz.Header.Values("Vary"), "Accept-Encoding") || !hasToken(plain.Header.Values("Vary"), "Accept-Encoding") {
		t.Errorf("Vary lacks Accept-Encoding: %q / %q", gz.Header.Values("Vary"), plain.Header.Values("Vary"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(gzBody))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || string(unzipped) != string(plainBody) || !json.Valid(unzipped) {
		t.Fatalf("gzip body does not match the plain one (%v)", err)
	}
	etag := gz.Header.Get("ETag")
	if etag == "" || etag == plain.Header.Get("ETag") {
		t.Fatalf("compressed ETag %q, plain %q: must differ", etag, plain.Header.Get("ETag"))
	}
	if resp, _ := get("/products?limit=20", "Accept-Encoding", "gzip", "If-None-Match", etag); resp.StatusCode != http.StatusNotModified || resp.Header.Get("ETag") != etag {
		t.Fatalf("revalidating the compressed list: %d ETag %q", resp.StatusCode, resp.Header.Get("ETag"))
	}
	if resp, _ := get("/products?limit=20", "If-None-Match", plain.Header.Get("ETag")); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidating the plain list: %d", resp.StatusCode)
	}
	if resp, _ := get("/products/GZ-01", "Accept-Encoding", "gzip"); resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("a single product was compressed")
	}
	if resp, _ := get("/products?limit=bogus", "Accept-Encoding", "gzip"); resp.Header.Get("Content-Encoding") != "" || resp.StatusCode < 400 {
		t.Errorf("a problem was compressed: %d %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
}
