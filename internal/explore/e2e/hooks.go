package e2e

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"
)

// hookRelay stands between the provider and the server and passes each
// webhook on, sometimes twice and sometimes late, so that later ones
// overtake it: the duplicated and reordered deliveries a real provider
// produces. Its decisions come from the seed, in the order webhooks
// arrive.
type hookRelay struct {
	target    string // the server's webhook URL
	dup, late float64
	http      *http.Client

	mu   sync.Mutex
	rand *rand.Rand

	ctx context.Context // ends the relay's delayed deliveries
	wg  sync.WaitGroup
	srv *http.Server
	ln  net.Listener
}

// startHookRelay listens on a free loopback port until stop.
func startHookRelay(ctx context.Context, target string, seed uint64, dup, late float64) (*hookRelay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := &hookRelay{target: target, dup: dup, late: late, http: &http.Client{Timeout: requestTimeout},
		rand: rand.New(rand.NewPCG(seed, 0x400c)), ctx: ctx, ln: ln}
	h.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = h.srv.Serve(ln) }()
	return h, nil
}

// URL is where the provider sends its webhooks.
func (h *hookRelay) URL() string { return "http://" + h.ln.Addr().String() + "/v1/payments/webhook" }

func (h *hookRelay) stop() {
	_ = h.srv.Close()
	h.wg.Wait()
}

func (h *hookRelay) roll(p float64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rand.Float64() < p
}

// ServeHTTP answers the provider with the server's answer to the first
// delivery; a late delivery is acknowledged at once, so the provider does
// not resend it, and a duplicate follows the first on its own.
func (h *hookRelay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	header := r.Header.Clone()
	if h.roll(h.late) {
		h.later(1500*time.Millisecond, body, header)
		w.WriteHeader(http.StatusOK)
		return
	}
	status := h.forward(r.Context(), body, header)
	if h.roll(h.dup) {
		h.later(300*time.Millisecond, body, header)
	}
	w.WriteHeader(status)
}

// later delivers the webhook after d (a schedule, not a wait for a
// condition), unless the relay stops first.
func (h *hookRelay) later(d time.Duration, body []byte, header http.Header) {
	h.wg.Go(func() {
		ctxSleep(h.ctx, d)
		if h.ctx.Err() == nil {
			h.forward(h.ctx, body, header)
		}
	})
}

func (h *hookRelay) forward(ctx context.Context, body []byte, header http.Header) int {
	req, err := http.NewRequestWithContext(ctx, "POST", h.target, bytes.NewReader(body))
	if err != nil {
		return http.StatusBadGateway
	}
	req.Header = header
	resp, err := h.http.Do(req)
	if err != nil {
		return http.StatusBadGateway
	}
	resp.Body.Close()
	return resp.StatusCode
}
