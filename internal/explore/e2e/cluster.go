package e2e

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"
)

// The time-to-lives the server runs with: short, so that a run of seconds
// sees reservations and keys expire. The reservation outlives the charge
// budget by more than the 5 s margin the server requires.
const (
	chargeBudget      = 1 * time.Second
	reservationTTL    = 8 * time.Second
	idempotencyTTL    = 3 * time.Second
	reconcileInterval = 250 * time.Millisecond
)

const (
	adminKey      = "explore-admin-key-0123456789abcdef"
	webhookSecret = "explore-webhook-secret"
	pspAPIKey     = "explore-psp-api-key-0123456789abcdef"
)

var (
	surgeListening = regexp.MustCompile(`listening on (http://\S+)`)
	pspListening   = regexp.MustCompile(`psp listening on (http://\S+)`)
)

// cluster is a `surge psp` and a `surge serve` that can be killed and
// restarted on the same data and address.
type cluster struct {
	t     testing.TB
	bin   string
	data  string
	dbURL string // empty on SQLite
	addr  string
	PSP   string // base URL of the provider

	URL string // the server's base URL, the same across restarts

	mu    sync.Mutex
	serve *process
}

// newCluster starts the provider, the webhook relay and the server, on
// PostgreSQL at dbURL or, when it is empty, on SQLite.
func newCluster(t *testing.T, bin, dbURL string, s Schedule) *cluster {
	t.Helper()
	c := &cluster{t: t, bin: bin, dbURL: dbURL, data: t.TempDir(), addr: freeAddr(t)}
	c.URL = "http://" + c.addr
	hooks, err := startHookRelay(t.Context(), c.URL+"/v1/payments/webhook", s.Seed, s.HookDup, s.HookLate)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hooks.stop)
	_, c.PSP, err = start(t, bin, []string{"SURGE_PSP_WEBHOOK_SECRET=" + webhookSecret, "SURGE_PSP_API_KEY=" + pspAPIKey}, pspListening,
		"psp", "--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "psp"),
		"--webhook-url", hooks.URL())
	if err != nil {
		t.Fatal(err)
	}
	if err := waitReady(c.PSP+"/healthz", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.startServe(); err != nil {
		t.Fatal(err)
	}
	return c
}

// args are the configuration shared by serve and audit.
func (c *cluster) args() []string {
	a := []string{"--data", c.data, "--psp-url", c.PSP}
	if c.dbURL != "" {
		a = append(a, "--database-url", c.dbURL)
	}
	return a
}

func (c *cluster) env() []string {
	return []string{"SURGE_ADMIN_KEY=" + adminKey, "SURGE_PSP_WEBHOOK_SECRET=" + webhookSecret, "SURGE_PSP_API_KEY=" + pspAPIKey,
		"SURGE_RATE_LIMITS=off", "SURGE_ACCESS_LOG=false"}
}

// startServe starts the server; it may be called from any goroutine.
func (c *cluster) startServe() error {
	args := append([]string{"serve", "--addr", c.addr,
		"--reservation-ttl", reservationTTL.String(), "--charge-budget", chargeBudget.String(),
		"--reconcile-interval", reconcileInterval.String(), "--idempotency-ttl", idempotencyTTL.String()}, c.args()...)
	p, url, err := start(c.t, c.bin, c.env(), surgeListening, args...)
	if err != nil {
		return err
	}
	if url != c.URL {
		p.kill(c.t)
		return fmt.Errorf("surge serve listens on %s, want %s", url, c.URL)
	}
	if err := waitReady(url+"/readyz", p.exited); err != nil {
		return fmt.Errorf("surge serve: %v\n%s", err, p.out.tail(4000))
	}
	c.mu.Lock()
	c.serve = p
	c.mu.Unlock()
	return nil
}

// crash SIGKILLs the server and starts it again on the same data.
func (c *cluster) crash() error {
	c.mu.Lock()
	p := c.serve
	c.mu.Unlock()
	p.kill(c.t)
	return c.startServe()
}

// stop ends the server cleanly, so the command-line audit can read its data.
func (c *cluster) stop() {
	c.t.Helper()
	c.mu.Lock()
	p := c.serve
	c.mu.Unlock()
	p.terminate(c.t)
}

// logs returns the tail of the server's output.
func (c *cluster) logs() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.serve.out.tail(6000)
}
