package httpapi

import (
	"net/http"

	"github.com/surge-commerce/surge/internal/precondition"
)

// condition reads If-Match and If-None-Match (RFC 9110 §13.1) of an admin
// write. ETags are precondition.ETag's "vN"; the store compares the
// version inside the write, so the check and the write are one step.
func condition(r *http.Request) precondition.Condition {
	return precondition.Parse(r.Header.Get("If-Match"), r.Header.Get("If-None-Match"))
}
