package httpapi

import (
	"net/http"
	"strings"

	"github.com/klauspost/compress/gzhttp"
)

// compressSuffixes are what gzhttp adds to the ETag of a compressed
// representation, so it never shares a strong ETag with the identity one.
var compressSuffixes = []string{"-gzip", "-zstd"}

// compressList compresses JSON lists (gzip, or zstd when the client
// prefers it) above a kilobyte. Only list routes use it: single resources
// are small, and the catalog read it would slow is the hottest path.
// Problems (application/problem+json) and event streams are never
// compressed.
var compressList = func() func(http.Handler) http.HandlerFunc {
	wrap, err := gzhttp.NewWrapper(
		gzhttp.MinSize(1024),
		gzhttp.ContentTypes([]string{"application/json"}),
		gzhttp.SuffixETag("-gzip"),
	)
	if err != nil {
		panic(err) // the options above are constant
	}
	return wrap
}()

// notModified reports whether If-None-Match matches etag, in its identity
// or compressed form. On a match it sets the ETag of the 304 to the tag the
// client holds, so a cached compressed copy stays under its own tag.
func notModified(w http.ResponseWriter, r *http.Request, etag string) bool {
	inm := r.Header.Get("If-None-Match")
	if inm == "" {
		return false
	}
	for _, tag := range strings.Split(inm, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
		for _, suffix := range compressSuffixes {
			if tag == strings.TrimSuffix(etag, `"`)+suffix+`"` {
				w.Header().Set("ETag", tag)
				return true
			}
		}
	}
	return false
}
