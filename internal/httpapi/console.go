package httpapi

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/surge-commerce/surge/internal/errcode"
)

// The ops console (/ops) is a browser client of this API with a cookie
// instead of a bearer key: signing in checks the platform admin key or a
// shop key once, and the session cookie carries that key sealed with
// AES-GCM (HttpOnly, SameSite=Strict, Secure over TLS, eight hours).
// Every console call goes through /ops/api/..., which opens the cookie and
// sends the request on to the API itself with the key as its bearer
// token: the console has no authorisation of its own to get wrong, and a
// key rotated or revoked stops its sessions at once. Writes must carry the
// X-Surge-Console header, which no other site can make a browser send.
//
// Live figures stream over server-sent events from the metrics registry
// (the same data /metrics exposes) while a console is open, and cost
// nothing when none is.
const (
	consoleCookie   = "surge_console"
	consoleLifetime = 8 * time.Hour
	consoleHeader   = "X-Surge-Console"
	consoleTick     = time.Second
)

// consoleSession is what the sealed cookie holds.
type consoleSession struct {
	Shop    string `json:"shop,omitempty"` // empty: the platform admin
	Key     string `json:"key"`
	Expires int64  `json:"exp"`
}

// SaleFigure is one flash sale's live figures for the console.
type SaleFigure struct {
	Shop          string `json:"shop"`
	SKU           string `json:"sku"`
	UnitsLeft     int64  `json:"units_left"`
	Queue         int64  `json:"queue_length"`
	AdmissionRate int64  `json:"admission_rate"`
}

// consoleMetrics are the metric families the console draws.
var consoleMetrics = map[string]bool{
	"surge_http_requests_total": true, "surge_http_request_duration_seconds": true, "surge_http_in_flight_requests": true,
	"surge_shed_total": true, "surge_shed_inflight": true, "surge_shed_limit": true, "surge_breaker_state": true,
	"go_sql_in_use_connections": true, "go_sql_open_connections": true, "go_sql_max_open_connections": true,
	"go_sql_wait_count_total": true, "surge_db_writer_wait_seconds": true,
	"surge_outbox_lag_seconds": true, "surge_consumer_lag": true, "surge_dlq_depth": true, "surge_refunds_owed": true,
	"surge_feature_flag": true,
}

func (s *Server) sealer() (cipher.AEAD, error) {
	if len(s.consoleKey) < 32 {
		return nil, errors.New("console: no session key")
	}
	block, err := aes.NewCipher(s.consoleKey[:32])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (s *Server) sealSession(sess consoleSession) (string, error) {
	aead, err := s.sealer()
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(sess)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, []byte(consoleCookie))), nil
}

// session opens the console cookie. Errors: unauthorized.
func (s *Server) session(r *http.Request) (consoleSession, error) {
	none := errcode.Typed(errcode.Unauthorized, "console_session_required", "sign in to the console first")
	c, err := r.Cookie(consoleCookie)
	if err != nil {
		return consoleSession{}, none
	}
	aead, err := s.sealer()
	if err != nil {
		return consoleSession{}, none
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(raw) < aead.NonceSize() {
		return consoleSession{}, none
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(consoleCookie))
	if err != nil {
		return consoleSession{}, none
	}
	var sess consoleSession
	if json.Unmarshal(plain, &sess) != nil || s.now().Unix() >= sess.Expires {
		return consoleSession{}, none
	}
	return sess, nil
}

func setConsoleCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: consoleCookie, Value: value, Path: "/ops", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https",
	})
}

// sameOrigin refuses a console write another site could have made a
// browser send: it needs the console's header and, when the browser says
// where it comes from, this origin.
func sameOrigin(r *http.Request) error {
	bad := errcode.Typed(errcode.Forbidden, "cross_site_request", "console writes come only from the console's own page")
	if r.Header.Get(consoleHeader) == "" {
		return bad
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return bad
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return bad
		}
	}
	return nil
}

// signIn checks a key once and opens a session: the platform admin key
// with no shop, or a shop's key with its shop.
func (s *Server) signIn() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := sameOrigin(r); err != nil {
			s.problem(w, r, err)
			return
		}
		var req struct {
			Shop string `json:"shop"`
			Key  string `json:"key"`
		}
		if err := decode(r, &req); err != nil {
			s.problem(w, r, err)
			return
		}
		wrong := errcode.New(errcode.Unauthorized, "that key does not open this console")
		if req.Shop == "" {
			if ok, err := s.admin.Authenticate(r.Context(), req.Key); err != nil || !ok {
				s.problem(w, r, wrong)
				return
			}
		} else if _, err := s.shops.Authenticate(r.Context(), req.Shop, req.Key); err != nil {
			s.problem(w, r, wrong)
			return
		}
		value, err := s.sealSession(consoleSession{Shop: req.Shop, Key: req.Key, Expires: s.now().Add(consoleLifetime).Unix()})
		if err != nil {
			s.problem(w, r, err)
			return
		}
		setConsoleCookie(w, r, value, int(consoleLifetime.Seconds()))
		encode(w, http.StatusOK, map[string]string{"shop": req.Shop})
	})
}

// signOut ends the session in this browser.
func (s *Server) signOutConsole() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := sameOrigin(r); err != nil {
			s.problem(w, r, err)
			return
		}
		setConsoleCookie(w, r, "", -1)
		w.WriteHeader(http.StatusNoContent)
	})
}

// consoleAPI sends /ops/api/REST on to /v1/REST with the session's key,
// through the whole API (its limits, its authorisation). A shop's session
// reaches only its own shop's admin routes.
func (s *Server) consoleAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.session(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := sameOrigin(r); err != nil {
				s.problem(w, r, err)
				return
			}
		}
		path := "/v1/" + r.PathValue("rest")
		allowed := "/v1/admin/"
		if sess.Shop != "" {
			allowed = "/v1/shops/" + sess.Shop + "/admin/"
		}
		if !strings.HasPrefix(path, allowed) {
			s.problem(w, r, errcode.New(errcode.Forbidden, "this console session reaches only %s", allowed))
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawPath, r2.RequestURI = path, "", path
		r2.Header.Set("Authorization", "Bearer "+sess.Key)
		r2.Header.Del("Cookie")
		s.mux.ServeHTTP(w, r2)
	})
}

// consoleStream pushes a snapshot of the live figures every second while
// the console is open: the metric families it draws, as the registry has
// them, and the flash sales the session may see. The stream ends with the
// request's deadline; the page reconnects at once.
func (s *Server) consoleStream() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.session(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		flush := http.NewResponseController(w).Flush
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("retry: 500\n\n"))
		tick := time.NewTicker(consoleTick)
		defer tick.Stop()
		for {
			b, err := s.snapshot(r, sess)
			if err != nil {
				return
			}
			var frame bytes.Buffer
			frame.WriteString("data: ")
			frame.Write(b)
			frame.WriteString("\n\n")
			if _, err := w.Write(frame.Bytes()); err != nil {
				return
			}
			if flush() != nil {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
			}
		}
	})
}

// snapshot renders one frame of the stream. Platform figures are for the
// platform admin only; a shop sees its own sales.
func (s *Server) snapshot(r *http.Request, sess consoleSession) ([]byte, error) {
	frame := struct {
		Time    time.Time                 `json:"time"`
		Shop    string                    `json:"shop,omitempty"`
		Metrics map[string][]consoleValue `json:"metrics,omitempty"`
		Sales   []SaleFigure              `json:"sales"`
	}{Time: s.now().UTC(), Shop: sess.Shop, Sales: []SaleFigure{}}
	if sess.Shop == "" && s.registry != nil {
		families, err := s.registry.Gather()
		if err != nil {
			return nil, err
		}
		frame.Metrics = consoleValues(families)
	}
	if s.saleFigures != nil {
		sales, err := s.saleFigures(r.Context())
		if err == nil {
			for _, f := range sales {
				if sess.Shop == "" || f.Shop == sess.Shop {
					frame.Sales = append(frame.Sales, f)
				}
			}
		}
	}
	return json.Marshal(frame)
}

// consoleValue is one series of a metric family: its labels and either a
// value or a histogram's cumulative buckets.
type consoleValue struct {
	Labels  map[string]string `json:"labels,omitempty"`
	Value   float64           `json:"value"`
	Buckets map[string]uint64 `json:"buckets,omitempty"` // upper bound → cumulative count
	Count   uint64            `json:"count,omitempty"`
	Sum     float64           `json:"sum,omitempty"`
}

func consoleValues(families []*dto.MetricFamily) map[string][]consoleValue {
	out := map[string][]consoleValue{}
	for _, f := range families {
		if !consoleMetrics[f.GetName()] {
			continue
		}
		for _, m := range f.GetMetric() {
			v := consoleValue{}
			if len(m.GetLabel()) > 0 {
				v.Labels = map[string]string{}
				for _, l := range m.GetLabel() {
					v.Labels[l.GetName()] = l.GetValue()
				}
			}
			switch {
			case m.GetCounter() != nil:
				v.Value = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				v.Value = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				hist := m.GetHistogram()
				v.Count, v.Sum = hist.GetSampleCount(), hist.GetSampleSum()
				v.Buckets = map[string]uint64{}
				for _, b := range hist.GetBucket() {
					v.Buckets[strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)] = b.GetCumulativeCount()
				}
			}
			out[f.GetName()] = append(out[f.GetName()], v)
		}
	}
	return out
}
