package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/surge-commerce/surge/internal/catalog"
)

// productPrecondition reads If-Match and If-None-Match (RFC 9110 §13.1)
// of a product write. ETags are productETag's "vN"; the store compares
// the version inside the write, so the check and the write are one step.
func productPrecondition(r *http.Request) catalog.Precondition {
	var cond catalog.Precondition
	if v := r.Header.Get("If-None-Match"); strings.TrimSpace(v) == "*" {
		cond.Absent = true
	}
	im := strings.TrimSpace(r.Header.Get("If-Match"))
	if im == "" {
		return cond
	}
	cond.Match = true
	if im == "*" {
		return cond
	}
	for _, tag := range strings.Split(im, ",") {
		// Strong comparison: a weak tag never matches (§13.1.1).
		tag = strings.TrimSpace(tag)
		if len(tag) < 4 || !strings.HasPrefix(tag, `"v`) || !strings.HasSuffix(tag, `"`) {
			continue
		}
		if v, err := strconv.ParseInt(tag[2:len(tag)-1], 10, 64); err == nil && v > 0 {
			cond.Versions = append(cond.Versions, v)
		}
	}
	if len(cond.Versions) == 0 {
		// None of the tags is one of ours: no version can match. Versions
		// start at 1, so 0 fails the write as RFC 9110 requires.
		cond.Versions = []int64{0}
	}
	return cond
}
