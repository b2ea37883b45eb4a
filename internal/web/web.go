// Package web serves Surge's browser pages from files embedded in the
// binary: the API reference at /docs, drawn in the page by a vendored
// Redoc from the /openapi.json this server serves, with nothing fetched
// from anywhere else; and a shop's storefront at /shops/{shop}/, drawn
// from the API by the TypeScript client (sdk/typescript, compiled).
//
// Assets are addressed by their content (/web/{hash}/{path}) and cached
// for a year; pages are revalidated against a strong ETag on every load,
// so the pages of a new binary pick up its new assets at once. Text is
// gzipped once, on first use, never per request.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"text/template"
)

//go:embed static
var static embed.FS

// AssetPrefix is where assets are served: AssetPrefix + hash + "/" + path.
const AssetPrefix = "/web/"

// contentPolicy keeps pages to this origin: scripts, styles, images and
// the API alike. Redoc sets styles inline and searches in a blob worker.
// The storefront also shows product images, which shops host anywhere
// on https (storePolicy).
const (
	contentPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
		"img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
	storePolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
		"img-src 'self' data: https:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

// Site holds every page and asset, prepared once.
type Site struct {
	assets map[string]*file // by hash + "/" + path
	urls   map[string]string
	pages  map[string]*file // by path, e.g. "docs/index.html"
}

type file struct {
	body        []byte
	etag, ctype string
	// gz is body gzipped, made on first use rather than at every start:
	// Redoc alone takes 40 ms to compress. Nil when not worth it.
	gzOnce sync.Once
	gz     []byte
}

func (f *file) gzipped() []byte {
	f.gzOnce.Do(func() {
		if !compressible(f.ctype) || len(f.body) <= 1024 {
			return
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(f.body)
		_ = zw.Close()
		f.gz = buf.Bytes()
	})
	return f.gz
}

// New prepares the embedded files: it hashes the plain assets, renders
// the templated ones (NAME.tmpl, served as NAME) with the plain assets'
// addresses and hashes them in turn, then renders the pages (.html) with
// every asset's address. A templated asset may refer only to plain ones.
func New() (*Site, error) {
	s := &Site{assets: map[string]*file{}, urls: map[string]string{}, pages: map[string]*file{}}
	root, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err
	}
	var templated, pages []string
	err = fs.WalkDir(root, ".", func(name string, d fs.DirEntry, err error) error {
		switch {
		case err != nil || d.IsDir():
			return err
		case strings.HasSuffix(name, ".html"):
			pages = append(pages, name)
		case strings.HasSuffix(name, ".tmpl"):
			templated = append(templated, name)
		default:
			b, err := fs.ReadFile(root, name)
			if err != nil {
				return err
			}
			s.addAsset(name, b)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rendered := map[string][]byte{}
	for _, name := range templated {
		if rendered[name], err = s.render(root, name); err != nil {
			return nil, err
		}
	}
	for name, b := range rendered {
		s.addAsset(strings.TrimSuffix(name, ".tmpl"), b)
	}
	for _, name := range pages {
		b, err := s.render(root, name)
		if err != nil {
			return nil, err
		}
		s.pages[name] = newFile(name, b)
	}
	return s, nil
}

func (s *Site) addAsset(name string, b []byte) {
	f := newFile(name, b)
	hash := strings.Trim(f.etag, `"`)
	s.assets[hash+"/"+name] = f
	s.urls[name] = AssetPrefix + hash + "/" + name
}

// render executes an embedded file as a template whose asset function
// gives an asset's address.
func (s *Site) render(root fs.FS, name string) ([]byte, error) {
	b, err := fs.ReadFile(root, name)
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{"asset": func(asset string) (string, error) {
		u, ok := s.urls[asset]
		if !ok {
			return "", fmt.Errorf("web: %s refers to %q, which is not a plain asset", name, asset)
		}
		return u, nil
	}}
	t, err := template.New(name).Funcs(funcs).Parse(string(b))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := t.Execute(&out, nil); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func newFile(name string, b []byte) *file {
	sum := sha256.Sum256(b)
	f := &file{body: b, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, ctype: mime.TypeByExtension(path.Ext(name))}
	if f.ctype == "" {
		f.ctype = "application/octet-stream"
	}
	return f
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "javascript") || strings.Contains(ctype, "json")
}

// Page serves one page, revalidated on every load. It panics on a page
// that is not embedded: routes are wired at start.
func (s *Site) Page(name string) http.Handler {
	f, ok := s.pages[name]
	if !ok {
		panic("web: no page " + name)
	}
	policy := contentPolicy
	if strings.HasPrefix(name, "store/") {
		policy = storePolicy
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", policy)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		serve(w, r, f, "no-cache")
	})
}

// Assets serves AssetPrefix + hash + "/" + path. An address whose hash is
// not the content's (an old page asking for an old asset) is 404: the
// page reloads and asks for the new one.
func (s *Site) Assets() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.assets[strings.TrimPrefix(r.URL.Path, AssetPrefix)]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		serve(w, r, f, "public, max-age=31536000, immutable")
	})
}

func serve(w http.ResponseWriter, r *http.Request, f *file, cacheControl string) {
	h := w.Header()
	h.Set("ETag", f.etag)
	h.Set("Cache-Control", cacheControl)
	h.Set("Content-Type", f.ctype)
	gz := f.gzipped()
	if gz != nil {
		h.Add("Vary", "Accept-Encoding")
	}
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatch(match, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.body
	if gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		body = gz
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

func etagMatch(header, etag string) bool {
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || tag == etag || tag == "W/"+etag {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether Accept-Encoding takes gzip (with a weight
// above zero).
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
		if !ok {
			return true
		}
		w, err := strconv.ParseFloat(q, 64)
		return err == nil && w > 0
	}
	return false
}
