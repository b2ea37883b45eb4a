package testrig

import (
	"os/exec"
	"testing"
)

// Chromium returns the path of Debian's chromium, for tests that load
// Surge's pages in a real browser; without it the test skips (fails in CI).
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	unavailable(t, "chromium", "not on PATH (apt-get install -y chromium)")
	return ""
}

// Node returns the path of node, for the TypeScript client's tests; without
// it the test skips (fails in CI).
func Node(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("node")
	if err != nil {
		unavailable(t, "node", "not on PATH (apt-get install -y nodejs)")
	}
	return p
}
