package drill

import (
	"errors"
	"strings"
	"testing"
)

// A use is clean when accepted or refused with a 4xx problem; a 5xx, a
// refusal without a problem, or no answer breaches.
func TestProbeVerdict(t *testing.T) {
	problem := []byte(`{"type":"https://surge.dev/problems/unauthorized","title":"Unauthorized","status":401}`)
	for _, tc := range []struct {
		name   string
		status int
		ct     string
		body   []byte
		err    error
		clean  bool
		ptype  string
	}{
		{"accepted", 201, "application/json", []byte(`{"id":"c1"}`), nil, true, ""},
		{"refused with a problem", 401, "application/problem+json; charset=utf-8", problem, nil, true, "https://surge.dev/problems/unauthorized"},
		{"refused without a problem", 401, "text/plain", []byte("no"), nil, false, ""},
		{"a problem without a type", 403, "application/problem+json", []byte(`{"title":"x"}`), nil, false, ""},
		{"server error", 500, "application/problem+json", problem, nil, false, ""},
		{"unavailable", 503, "application/problem+json", problem, nil, false, ""},
		{"redirect", 302, "", nil, nil, false, ""},
		{"no answer", 0, "", nil, errors.New("context deadline exceeded"), false, ""},
	} {
		p := judge(Probe{What: "customer token", IssuedBy: "api-1", UsedAt: "api-2"}, tc.status, tc.ct, tc.body, tc.err)
		if p.Clean != tc.clean || p.ProblemType != tc.ptype {
			t.Errorf("%s: clean %t type %q, want %t %q", tc.name, p.Clean, p.ProblemType, tc.clean, tc.ptype)
		}
		problems := probeProblems([]Probe{p})
		if tc.clean != (len(problems) == 0) {
			t.Errorf("%s: problems %q", tc.name, problems)
		}
		if !tc.clean && !strings.Contains(problems[0], "api-1") {
			t.Errorf("%s: the breach does not name the issuer: %q", tc.name, problems[0])
		}
	}
}
