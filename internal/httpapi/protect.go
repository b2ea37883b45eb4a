package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/gateway/loadshed"
	"github.com/surge-commerce/surge/internal/gateway/ratelimit"
	"github.com/surge-commerce/surge/internal/shop"
)

// Limits are the per-second request rates (bursts are twice as large).
type Limits struct {
	PerIP       int
	PerKey      int // per shop or admin API key
	PerCustomer int // per customer token
	// PerShop is the rate of a whole shop by quota tier.
	PerShop map[string]int
	// TrustedProxies may set X-Forwarded-For; other peers cannot.
	TrustedProxies []netip.Prefix
	// IPv6Prefix is how many bits of an IPv6 address name one client
	// (0: ratelimit.DefaultIPv6Prefix).
	IPv6Prefix int
	// SignupsPerMinute is how many customers one client address may create
	// per minute: per-customer limits are only as strong as identities
	// are dear (docs/INVARIANTS.md, I11).
	SignupsPerMinute int
}

// protect wraps a route: rate limits first (cheap, per client), then the
// class's bulkhead and the adaptive concurrency limit. Operations routes
// (class "") are never limited: probes and scrapes must get through.
func (s *Server) protect(pattern string, class loadshed.Class, next http.Handler) http.Handler {
	if class == "" {
		return next
	}
	// Only checkouts that did the whole work are timed for the shedder: the
	// class's other routes (carts, order reads), refusals and idempotent
	// replays are far quicker, and would set a pace no checkout could keep
	// (a client could even set it on purpose).
	timed := pattern == "POST /v1/shops/{shop}/checkout"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.limiter != nil && !s.withinLimits(w, r) {
			return
		}
		// The body is read before any shared slot is taken: a client that
		// sends it slowly then holds only its own connection, never a
		// bulkhead slot that other clients' checkouts need.
		if err := s.readBody(w, r); err != nil {
			s.problem(w, r, err)
			return
		}
		if s.shedder != nil {
			release, err := s.shedder.Admit(r.Context(), class)
			if err != nil {
				w.Header().Set("Retry-After", "1")
				s.problem(w, r, errcode.Typed(errcode.Unavailable, "overloaded", "the server is at capacity; retry shortly"))
				return
			}
			defer release()
		}
		if !timed || s.shedder == nil {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		next.ServeHTTP(w, r)
		if rec, ok := w.(*statusRecorder); ok && (rec.status == http.StatusCreated || rec.status == http.StatusAccepted) &&
			w.Header().Get("Idempotent-Replayed") == "" {
			s.shedder.RecordCheckout(time.Since(start))
		}
	})
}

// withinLimits applies every limit that concerns the request, sets the
// RateLimit headers from the tightest one and answers 429 when one is
// exhausted. The per-address limit comes first, so what follows (telling
// a real credential from a forged one) is bounded per client.
func (s *Server) withinLimits(w http.ResponseWriter, r *http.Request) bool {
	var tightest *ratelimit.Result
	var policies []string
	allow := func(key string, lim ratelimit.Limit) bool {
		if lim.Rate <= 0 {
			return true
		}
		res := s.limiter.Allow(r.Context(), key, lim)
		policies = append(policies, lim.Policy())
		if tightest == nil || !res.Allowed || res.Remaining < tightest.Remaining {
			tightest = &res
		}
		return res.Allowed // a refusal does not spend the other limits
	}
	client := ratelimit.ClientKey(s.clientIP(r), s.limits.IPv6Prefix)
	ok := allow(client, perSecond("ip", s.limits.PerIP))
	if ok && r.Pattern == signupPattern {
		n := s.limits.SignupsPerMinute
		ok = allow("signup|"+client, ratelimit.Limit{Name: "signup", Rate: n, Burst: n, Period: time.Minute})
	}
	if ok {
		sh, hasShop, caller := s.caller(r)
		if tok := bearer(r); tok != "" && caller != "anonymous" {
			rate := s.limits.PerKey
			if caller == "customer" {
				rate = s.limits.PerCustomer
			}
			sum := sha256.Sum256([]byte(tok))
			ok = allow(hex.EncodeToString(sum[:12]), perSecond(caller, rate))
		}
		if ok && hasShop {
			// The shop's tier quota is kept apart per kind of caller, each
			// with the tier's rate: a flood of anonymous reads (or of
			// forged credentials, which count as anonymous) cannot push
			// the owner's admin calls or paying customers into 429.
			allow(sh.Slug+"|"+caller, perSecond("shop-"+sh.Tier+"-"+caller, s.limits.PerShop[sh.Tier]))
		}
	}
	if tightest == nil {
		return true
	}
	h := w.Header()
	h.Set("RateLimit-Policy", strings.Join(policies, ", "))
	h.Set("RateLimit", tightest.Header())
	if tightest.Allowed {
		return true
	}
	h.Set("Retry-After", ratelimit.CeilSeconds(tightest.RetryAfter))
	s.problem(w, r, errcode.Typed(errcode.RateLimited, "rate_limited", "too many requests for the %s limit", tightest.Limit.Name).
		With("limit", tightest.Limit.Name))
	return false
}

// caller tells which budget a request spends: the shop its path names (if
// any), and "customer" for a valid customer token of that shop, "key" for a
// valid key of that shop, else "anonymous". On the platform admin's routes
// a token is taken by its form: they spend no shop's budget.
func (s *Server) caller(r *http.Request) (shop.Shop, bool, string) {
	tok := bearer(r)
	slug := r.PathValue("shop")
	if slug == "" || strings.HasPrefix(r.URL.Path, "/v1/admin/") {
		switch {
		case tok == "":
			return shop.Shop{}, false, "anonymous"
		case strings.HasPrefix(tok, "ct1."):
			return shop.Shop{}, false, "customer"
		}
		return shop.Shop{}, false, "key"
	}
	sh, err := s.shops.Resolve(r.Context(), slug)
	if err != nil {
		return shop.Shop{}, false, "anonymous"
	}
	switch {
	case tok == "":
	case strings.HasPrefix(tok, "ct1."):
		if _, err := s.customers.Tokens().Verify(tok, sh.ID); err == nil {
			return sh, true, "customer"
		}
	default:
		if _, err := s.shops.Authenticate(r.Context(), slug, tok); err == nil {
			return sh, true, "key"
		}
	}
	return sh, true, "anonymous"
}

// signupPattern is the route that creates customers.
const signupPattern = "POST /v1/shops/{shop}/customers"

func perSecond(name string, rate int) ratelimit.Limit {
	return ratelimit.Limit{Name: name, Rate: rate, Burst: 2 * rate, Period: time.Second}
}

// clientIP is the socket's peer, unless that peer is a trusted proxy: then
// the right-most X-Forwarded-For address that is not itself trusted.
func (s *Server) clientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	if !s.trusted(peer) {
		return peer
	}
	hops := strings.Split(r.Header.Get("X-Forwarded-For"), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		ip, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !s.trusted(ip) {
			return ip
		}
	}
	return peer
}

func (s *Server) trusted(ip netip.Addr) bool {
	for _, p := range s.limits.TrustedProxies {
		if p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

// bodyReadTimeout bounds how long a client may take to send a request
// body. Surge's bodies are small JSON documents; a client that needs
// longer is too slow to serve or doing it on purpose.
const bodyReadTimeout = 5 * time.Second

// readBody reads the whole request body under its own deadline and puts it
// back as an in-memory reader. Errors: timeout (408), too_large.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) error {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	rc := http.NewResponseController(w)
	deadline := time.Now().Add(min(bodyReadTimeout, s.requestTimeout))
	if err := rc.SetReadDeadline(deadline); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		// The deadline stays: closing the body would otherwise wait to
		// drain what the client never sends. The connection closes after
		// this answer rather than being reused.
		w.Header().Set("Connection", "close")
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return decodeError(err)
		}
		return errcode.Typed(errcode.Invalid, "body_timeout", "the request body did not arrive within %s", bodyReadTimeout)
	}
	_ = rc.SetReadDeadline(time.Time{})
	r.Body = io.NopCloser(bytes.NewReader(data))
	return nil
}
