package httpapi

import "testing"

// Only Go's canned answers are rewritten: a handler's own response, even
// a plain-text 400, passes through untouched.
func TestCannedProblemLeavesResponsesAlone(t *testing.T) {
	for _, b := range []string{
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n\r\nbad\n",
		"HTTP/1.1 2xx\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n",
	} {
		if _, ok := cannedProblem([]byte(b)); ok {
			t.Errorf("rewrote %q", b)
		}
	}
	if _, ok := cannedProblem([]byte("HTTP/1.1 431 Request Header Fields Too Large" + cannedHeaders + "431 Request Header Fields Too Large")); !ok {
		t.Error("did not rewrite Go's 431")
	}
}
