package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/surge-commerce/surge/internal/cluster"
)

// Probe is one credential issued by one replica and used at another,
// straight to each, past the balancer.
type Probe struct {
	What     string `json:"what"`
	IssuedBy string `json:"issued_by"`
	UsedAt   string `json:"used_at"`
	// Status is the answer to the use (0: none, see Error); ProblemType
	// the RFC 9457 type of a refusal.
	Status      int    `json:"status"`
	ProblemType string `json:"problem_type,omitempty"`
	Error       string `json:"error,omitempty"`
	// Clean: accepted (2xx) or refused with a 4xx problem. A 5xx, a hang
	// or a refusal that is not a problem is a breach.
	Clean bool `json:"clean"`
}

// probeTimeout bounds every probe request: a hang is a breach, not a wait.
const probeTimeout = 10 * time.Second

// verdict judges the answer to a use: whether it is clean, and the
// problem type of a refusal.
func verdict(status int, contentType string, body []byte) (bool, string) {
	switch {
	case status >= 200 && status < 300:
		return true, ""
	case status < 400 || status >= 500:
		return false, ""
	}
	var p struct {
		Type string `json:"type"`
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt != "application/problem+json" || json.Unmarshal(body, &p) != nil || p.Type == "" {
		return false, ""
	}
	return true, p.Type
}

// probeTokens signs a customer up at the skewed replica (c.API[0]) and
// uses its token at the other two, then signs one up at c.API[1] and uses
// its token at the skewed one. A token is used by opening a cart, which
// verifies it (signature, shop, expiry) and that it was not revoked.
// Flash-sale tickets are not probed: the drills' checkout load has no sale.
func probeTokens(ctx context.Context, t Target, shop string) []Probe {
	c, ok := t.(*cluster.Cluster)
	if !ok {
		return []Probe{{What: "customer token", Error: fmt.Sprintf("the probe needs the topology, not %T", t)}}
	}
	hc := &http.Client{Timeout: probeTimeout}
	skewed, others := c.API[0], c.API[1:]
	var out []Probe
	use := func(by *cluster.Component, at []*cluster.Component) {
		token, p := signUp(ctx, hc, by, shop)
		if token == "" {
			out = append(out, p)
			return
		}
		for _, a := range at {
			status, ct, body, err := call(ctx, hc, "POST", a.URL+"/v1/shops/"+shop+"/carts", token, []byte("{}"))
			out = append(out, judge(Probe{What: "customer token", IssuedBy: by.Name, UsedAt: a.Name}, status, ct, body, err))
		}
	}
	use(skewed, others)
	use(others[0], []*cluster.Component{skewed})
	return out
}

func judge(p Probe, status int, contentType string, body []byte, err error) Probe {
	p.Status = status
	if err != nil {
		p.Error = err.Error()
		return p
	}
	p.Clean, p.ProblemType = verdict(status, contentType, body)
	return p
}

// signUp registers a customer at the replica and returns its token, or
// "" and the probe that says how the sign-up itself was answered.
func signUp(ctx context.Context, hc *http.Client, at *cluster.Component, shop string) (string, Probe) {
	status, ct, body, err := call(ctx, hc, "POST", at.URL+"/v1/shops/"+shop+"/customers", "", nil)
	p := judge(Probe{What: "customer sign-up", IssuedBy: at.Name, UsedAt: at.Name}, status, ct, body, err)
	var c struct {
		Token string `json:"token"`
	}
	if err != nil || status != http.StatusCreated || json.Unmarshal(body, &c) != nil || c.Token == "" {
		if p.Clean && status < 300 {
			p.Clean, p.Error = false, "a sign-up answered without a token"
		}
		return "", p
	}
	return c.Token, p
}

func call(ctx context.Context, hc *http.Client, method, url, token string, body []byte) (int, string, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, resp.Header.Get("Content-Type"), b, err
}

// probeProblems names the probes that breach.
func probeProblems(ps []Probe) []string {
	var out []string
	for _, p := range ps {
		if p.Clean {
			continue
		}
		what := fmt.Sprintf("%d", p.Status)
		if p.Error != "" {
			what = p.Error
		}
		out = append(out, fmt.Sprintf("%s issued by %s, used at %s: %s, neither accepted nor a clean 4xx problem", p.What, p.IssuedBy, p.UsedAt, what))
	}
	return out
}
