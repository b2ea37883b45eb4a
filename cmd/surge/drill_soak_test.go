package main

import (
	"strings"
	"testing"
)

// TestDrillSoakFlags: bad soak settings are refused before anything starts.
func TestDrillSoakFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ args []string }{
		{[]string{"--duration", "10s"}},
		{[]string{"--duration", "3m", "--every", "2m"}},
		{[]string{"--rate", "0"}},
	} {
		out, err := cli(t, nil, append([]string{"drill", "soak"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), "drill soak") {
			t.Errorf("surge drill soak %v: %v\n%s", tc.args, err, out)
		}
	}
}
