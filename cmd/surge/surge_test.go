package main

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/testrig"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a running
// server and the reads of a test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// surge is a running `surge serve` started through run().
type surge struct {
	URL      string
	AdminKey string
	Stdout   *syncBuffer
	Stderr   *syncBuffer
	stop     context.CancelFunc
	done     chan struct{} // closed when run returns
	err      error         // what run returned; read after done
}

// Stop cancels the server's context and waits for run to return.
func (s *surge) Stop(t testing.TB) error {
	t.Helper()
	s.stop()
	select {
	case <-s.done:
		return s.err
	case <-time.After(60 * time.Second):
		t.Fatal("surge did not stop within 60s")
		return nil
	}
}

var listenLine = regexp.MustCompile(`listening on (http://\S+)`)

// startSurge runs `surge serve` on a free loopback port with the given
// environment (SURGE_DATA defaults to a temp dir; SURGE_ADMIN_KEY to a test
// key) and waits until /readyz answers 200. It is stopped at test end.
func startSurge(t testing.TB, env map[string]string, args ...string) *surge {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	if env["SURGE_DATA"] == "" {
		env["SURGE_DATA"] = t.TempDir()
	}
	if env["SURGE_ADMIN_KEY"] == "" {
		env["SURGE_ADMIN_KEY"] = "test-admin-key-0123456789abcdef"
	}
	if env["SURGE_ACCESS_LOG"] == "" {
		env["SURGE_ACCESS_LOG"] = "false"
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &surge{AdminKey: env["SURGE_ADMIN_KEY"], Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, stop: cancel, done: make(chan struct{})}
	getenv := func(k string) string { return env[k] }
	go func() {
		s.err = run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), getenv, s.Stdout, s.Stderr)
		close(s.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(60 * time.Second):
		}
	})
	ready := false
	t.Cleanup(func() {
		if !ready {
			t.Logf("surge never became ready\nstdout:\n%s\nstderr:\n%s", s.Stdout, s.Stderr)
		}
	})
	testrig.Eventually(t, "surge to answer /readyz", func() bool {
		select {
		case <-s.done:
			t.Fatalf("surge exited early: %v", s.err)
		default:
		}
		if m := listenLine.FindStringSubmatch(s.Stdout.String()); m != nil && s.URL == "" {
			s.URL = m[1]
		}
		ready = s.URL != "" && readyz(s.URL)
		return ready
	})
	return s
}

// TestServeAndRestart is the smoke test of the embedded defaults: a shop and
// a product survive a restart on the same data directory, and shutdown is
// clean.
func TestServeAndRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startSurge(t, map[string]string{"SURGE_DATA": dir})
	code, _, body := do(t, "POST", s.URL+"/v1/admin/shops", s.AdminKey, `{"slug":"acme","name":"Acme"}`)
	if code != http.StatusCreated {
		t.Fatalf("create shop: %d %s", code, body)
	}
	key := regexp.MustCompile(`"api_key":"([^"]+)"`).FindStringSubmatch(body)[1]
	code, _, body = do(t, "PUT", s.URL+"/v1/shops/acme/admin/products/TEE-1", key,
		`{"title":"Tee","price":1999,"currency":"EUR","stock":5}`)
	if code != http.StatusCreated {
		t.Fatalf("put product: %d %s", code, body)
	}
	if err := s.Stop(t); err != nil {
		t.Fatalf("clean shutdown returned %v", err)
	}

	s = startSurge(t, map[string]string{"SURGE_DATA": dir})
	code, _, body = do(t, "GET", s.URL+"/v1/shops/acme/products/TEE-1", "", "")
	if code != http.StatusOK || !strings.Contains(body, `"title":"Tee"`) {
		t.Fatalf("after restart: %d %s", code, body)
	}
	code, _, _ = do(t, "GET", s.URL+"/v1/shops/acme/admin/products/TEE-1", key, "")
	if code != http.StatusOK {
		t.Fatalf("shop key after restart: %d", code)
	}
}

// cli runs a surge subcommand in-process exactly as a user would, with env
// as the whole environment.
func cli(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := run(ctx, args, func(k string) string { return env[k] }, &out, &out)
	return out.String(), err
}

// runOK runs a surge command as a user would and returns what it printed.
func runOK(t *testing.T, args ...string) string {
	t.Helper()
	out, err := cli(t, nil, args...)
	if err != nil {
		t.Fatalf("surge %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}
