package psp

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Server. Zero values take the defaults noted below.
type Config struct {
	// Addr is the listen address; "127.0.0.1:0" picks a free port.
	Addr string
	// DataDir holds the SQLite database. Empty means a temporary directory
	// that Stop removes, for in-process use.
	DataDir string
	// WebhookURL, when set, receives every payment state change, signed
	// with WebhookSecret (required then).
	WebhookURL    string
	WebhookSecret string
	// WebhookTimeout bounds one delivery attempt (default 5s).
	WebhookTimeout time.Duration
	// WebhookMaxAttempts bounds deliveries of one event (default 10).
	WebhookMaxAttempts int
	// WebhookBackoff is the first retry delay, doubled per attempt up to
	// WebhookMaxBackoff (defaults 500ms and 1m).
	WebhookBackoff    time.Duration
	WebhookMaxBackoff time.Duration
	// MaxHang bounds how long an injected timeout holds a request (default 30s).
	MaxHang time.Duration
	// Faults are the fault knobs at start; they can be changed at runtime.
	Faults Faults
	// Rand returns a number in [0, 1) for every fault decision. It need
	// not be safe for concurrent use. Default math/rand/v2.
	Rand func() float64
	// Now is the clock (default time.Now).
	Now func() time.Time
	// APIKey, when set, is required of every caller as "Authorization:
	// Bearer <key>" (SURGE_PSP_API_KEY); /healthz stays open. Empty leaves
	// the API open, for development on loopback.
	APIKey string
	// Logger receives operational messages (default slog.Default()).
	Logger *slog.Logger
}

func (c *Config) applyDefaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	if c.WebhookTimeout <= 0 {
		c.WebhookTimeout = 5 * time.Second
	}
	if c.WebhookMaxAttempts <= 0 {
		c.WebhookMaxAttempts = 10
	}
	if c.WebhookBackoff <= 0 {
		c.WebhookBackoff = 500 * time.Millisecond
	}
	if c.WebhookMaxBackoff <= 0 {
		c.WebhookMaxBackoff = time.Minute
	}
	if c.MaxHang <= 0 {
		c.MaxHang = 30 * time.Second
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Server is the simulated provider: an HTTP API over a SQLite store plus a
// background webhook sender.
type Server struct {
	cfg    Config
	log    *slog.Logger
	faults atomic.Pointer[Faults]

	randMu sync.Mutex

	store    *store
	tempDir  string
	listener net.Listener
	http     *http.Server
	hooks    *webhookSender
	stopping chan struct{}
	wg       sync.WaitGroup
}

// NewServer validates cfg and returns a Server that is not yet listening.
func NewServer(cfg Config) (*Server, error) {
	cfg.applyDefaults()
	if cfg.WebhookURL != "" && cfg.WebhookSecret == "" {
		return nil, errors.New("psp: a webhook URL needs a webhook secret")
	}
	if err := cfg.Faults.Validate(); err != nil {
		return nil, fmt.Errorf("psp: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, stopping: make(chan struct{})}
	faults := cfg.Faults
	s.faults.Store(&faults)
	return s, nil
}

// Start opens the store, binds cfg.Addr and serves in the background until
// Stop. ctx bounds only the start-up itself.
func (s *Server) Start(ctx context.Context) error {
	dir, err := s.dataDir()
	if err != nil {
		return err
	}
	st, err := openStore(ctx, dir)
	if err != nil {
		s.removeTemp()
		return err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		st.close()
		s.removeTemp()
		return fmt.Errorf("psp: listen: %w", err)
	}
	st.events = s.cfg.WebhookURL != ""
	s.store, s.listener = st, ln
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	if s.cfg.WebhookURL != "" {
		s.hooks = newWebhookSender(s.cfg, st)
		s.hooks.start()
	}
	s.wg.Go(func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("psp: serve", "err", err)
		}
	})
	return nil
}

// Addr returns the bound address (host:port), or "" before Start.
func (s *Server) Addr() string {
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// URL returns the base URL of the API, or "" before Start.
func (s *Server) URL() string {
	if s.listener == nil {
		return ""
	}
	return "http://" + s.Addr()
}

// Stop ends hanging requests, shuts the HTTP server down (waiting up to 10s
// for requests in flight), stops webhook delivery and closes the store.
func (s *Server) Stop() {
	if s.http == nil {
		return
	}
	close(s.stopping)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.http.Shutdown(ctx); err != nil {
		s.http.Close()
	}
	s.wg.Wait()
	if s.hooks != nil {
		s.hooks.stop()
	}
	s.store.close()
	s.removeTemp()
	s.http = nil
}

func (s *Server) dataDir() (string, error) {
	if s.cfg.DataDir != "" {
		return s.cfg.DataDir, nil
	}
	dir, err := os.MkdirTemp("", "psp-")
	if err != nil {
		return "", fmt.Errorf("psp: temp data dir: %w", err)
	}
	s.tempDir = dir
	return dir, nil
}

func (s *Server) removeTemp() {
	if s.tempDir != "" {
		os.RemoveAll(s.tempDir)
		s.tempDir = ""
	}
}

// SetFaults replaces the fault knobs, as PUT /v1/faults does.
func (s *Server) SetFaults(f Faults) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("psp: %w", err)
	}
	s.faults.Store(&f)
	return nil
}

// Faults returns the fault knobs in force.
func (s *Server) Faults() Faults { return *s.faults.Load() }

// roll reports whether an event of probability rate happens now.
func (s *Server) roll(rate float64) bool {
	if rate <= 0 {
		return false
	}
	return s.random() < rate
}

func (s *Server) random() float64 {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	return s.cfg.Rand()
}

func (s *Server) now() time.Time { return s.cfg.Now().UTC() }

// notifyHooks wakes the webhook sender after a committed state change.
func (s *Server) notifyHooks() {
	if s.hooks != nil {
		s.hooks.wake()
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /v1/faults", s.handleGetFaults)
	mux.HandleFunc("PUT /v1/faults", s.handlePutFaults)
	mux.HandleFunc("GET /v1/ledger", s.handleLedger)
	mux.HandleFunc("POST /v1/payments", s.faulty(s.handleCreate))
	mux.HandleFunc("GET /v1/payments", s.faulty(s.handleList))
	mux.HandleFunc("GET /v1/payments/{id}", s.faulty(s.handleGet))
	mux.HandleFunc("POST /v1/payments/{id}/capture", s.faulty(s.transition(opCapture)))
	mux.HandleFunc("POST /v1/payments/{id}/void", s.faulty(s.transition(opVoid)))
	mux.HandleFunc("POST /v1/payments/{id}/refund", s.faulty(s.transition(opRefund)))
	mux.HandleFunc("GET /v1/payment_methods/{id}", s.faulty(s.handlePaymentMethod))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, typeNotFound, "no such endpoint")
	})
	if s.cfg.APIKey == "" {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" && !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="psp"`)
			writeProblem(w, http.StatusUnauthorized, typeUnauthorized, "an Authorization: Bearer header with the provider API key is required")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// authorized reports whether r carries the API key, compared in constant
// time.
func (s *Server) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.APIKey)) == 1
}
