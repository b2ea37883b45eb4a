// Package loadgen is the benchmarks' shared harness: it builds and starts
// Surge (and a throw-away PostgreSQL) as processes on loopback, and drives
// load either closed-loop (to find the maximum rate) or open-model (fixed
// arrival schedule, latency counted from the scheduled time). Benchmarks
// only: it must never be imported by the product.
package loadgen

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Surge is a running surge serve process.
type Surge struct {
	URL string
	cmd *exec.Cmd
}

var listenLine = regexp.MustCompile(`listening on (http://\S+)`)

// StartSurge builds ./cmd/surge into dir and runs `serve` with env added.
func StartSurge(ctx context.Context, dir string, env ...string) (*Surge, error) {
	bin := filepath.Join(dir, "surge")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/surge").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data"))
	// One load generator stands for many clients: no per-IP limits.
	cmd.Env = append(append(os.Environ(), "SURGE_ADMIN_KEY=bench-admin-key-0123456789abcdef", "SURGE_RATE_LIMITS=off", "SURGE_ACCESS_LOG=false",
		"SURGE_MAX_CONNS_PER_CLIENT=100000"), env...)
	DieWithParent(cmd)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	buf, tmp := []byte{}, make([]byte, 512)
	for {
		n, err := stdout.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if m := listenLine.FindSubmatch(buf); m != nil {
			go io.Copy(io.Discard, stdout)
			return &Surge{URL: string(m[1]), cmd: cmd}, nil
		}
		if err != nil {
			_ = cmd.Process.Kill()
			return nil, fmt.Errorf("surge did not start: %s", buf)
		}
	}
}

// Stop kills the process.
func (s *Surge) Stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// PID is the process id, for CPU accounting.
func (s *Surge) PID() int { return s.cmd.Process.Pid }

// StartPostgres runs a throw-away PostgreSQL in dir on a free loopback
// port (as the postgres user when running as root) and returns its URL and
// a stop function. Each of settings is a name=value server setting. If the
// benchmark is interrupted, the server is stopped and dir removed.
func StartPostgres(dir string, settings ...string) (string, func(), error) {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	if len(bins) == 0 {
		return "", nil, fmt.Errorf("no PostgreSQL under /usr/lib/postgresql")
	}
	bin := bins[len(bins)-1]
	data := filepath.Join(dir, "pg")
	wrap := func(name string, args ...string) *exec.Cmd {
		if os.Geteuid() == 0 {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(bin, name)}, args...)...)
		}
		return exec.Command(filepath.Join(bin, name), args...)
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return "", nil, err
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return "", nil, err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		_ = os.Chown(dir, uid, gid)
		_ = os.Chown(data, uid, gid)
	}
	if out, err := wrap("initdb", "-D", data, "-A", "trust", "-U", "postgres").CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=256MB", port, dir)
	for _, kv := range settings {
		opts += " -c " + kv
	}
	if out, err := wrap("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "pg.log"), "-w", "start").CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("pg_ctl start: %v\n%s", err, out)
	}
	var once sync.Once
	stop := func() { once.Do(func() { _ = wrap("pg_ctl", "-D", data, "-m", "immediate", "stop").Run() }) }
	stopOnInterrupt(func() { stop(); _ = os.RemoveAll(dir) })
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port), stop, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Result is what a load phase measured. Latencies are in microseconds.
type Result struct {
	Latency  *hdrhistogram.Histogram // successful requests only
	OK, Fail int64
	Late     int64 // open model: requests the client could not issue on time
	Duration time.Duration
}

// Rate is successful requests per second.
func (r Result) Rate() float64 { return float64(r.OK) / r.Duration.Seconds() }

// P returns a latency quantile in milliseconds.
func (r Result) P(q float64) float64 { return float64(r.Latency.ValueAtQuantile(q)) / 1000 }

// ClosedLoop runs workers that each call fn back to back for d, pausing
// 20 ms after a failure.
func ClosedLoop(workers int, d time.Duration, fn func() bool) Result {
	r := Result{Latency: hdrhistogram.New(1, 60_000_000, 3), Duration: d}
	var mu sync.Mutex
	var ok, fail atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				start := time.Now()
				if fn() {
					ok.Add(1)
					mu.Lock()
					_ = r.Latency.RecordValue(time.Since(start).Microseconds())
					mu.Unlock()
				} else {
					fail.Add(1)
					// A real client backs off when refused; one that retried
					// at once would measure how fast the server says no.
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	r.OK, r.Fail = ok.Load(), fail.Load()
	return r
}

// Open issues fn at rate per second for d on a fixed schedule, with at
// most maxInFlight outstanding; latency runs from each scheduled time.
func Open(rate float64, d time.Duration, maxInFlight int, fn func() bool) Result {
	r := Result{Latency: hdrhistogram.New(1, 60_000_000, 3), Duration: d}
	var mu sync.Mutex
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / rate)
	sem := make(chan struct{}, maxInFlight)
	start := time.Now()
	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * interval)
		if at.Sub(start) >= d {
			break
		}
		time.Sleep(time.Until(at))
		select {
		case sem <- struct{}{}:
		default:
			mu.Lock()
			r.Late++
			mu.Unlock()
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			ok := fn()
			lat := time.Since(at)
			mu.Lock()
			defer mu.Unlock()
			if ok {
				r.OK++
				_ = r.Latency.RecordValue(lat.Microseconds())
			} else {
				r.Fail++
			}
		})
	}
	wg.Wait()
	return r
}

// Do sends one request with an optional bearer key, JSON body and extra
// header pairs, and returns the status and the body.
func Do(c *http.Client, method, url, key, body string, header ...string) (int, []byte, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// Median returns the middle value of v (the upper one of an even count),
// leaving v as it is: benchmarks compare medians of alternating passes.
func Median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}
