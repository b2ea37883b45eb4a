package main

import (
	"strings"
	"testing"
)

// surge healthcheck passes against a ready server and fails, with the
// reason, against one that does not answer: the probe compose runs inside
// the image.
func TestHealthcheckCommand(t *testing.T) {
	t.Parallel()
	s := startSurge(t, nil)
	out, err := cli(t, nil, "healthcheck", "--url", s.URL+"/readyz")
	if err != nil || !strings.Contains(out, "ready") {
		t.Fatalf("against a ready server: %v\n%s", err, out)
	}
	if _, err := cli(t, nil, "healthcheck", "--url", "http://127.0.0.1:1/readyz", "--timeout", "2s"); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("against nothing: %v, want unreachable", err)
	}
	if got := probeAddr("0.0.0.0:8080"); got != "127.0.0.1:8080" {
		t.Fatalf("probeAddr(0.0.0.0:8080) = %s", got)
	}
}
