// Command console prices the ops console's live stream: Surge's processor
// time per second idle with nobody watching, then with one console open
// (a stream pushing a snapshot every second), measured in the same run.
// What nobody watches must cost nothing: the stream has no background
// work of its own.
//
//	go run ./bench/console [-d 10s]
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/surge-commerce/surge/bench/loadgen"
)

const adminKey = "bench-admin-key-0123456789abcdef"

func main() {
	d := flag.Duration("d", 10*time.Second, "duration of each phase")
	flag.Parse()
	if err := run(*d); err != nil {
		fmt.Fprintln(os.Stderr, "console:", err)
		os.Exit(1)
	}
}

func run(d time.Duration) error {
	dir, err := os.MkdirTemp("", "surge-bench-console-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := loadgen.StartSurge(ctx, dir)
	if err != nil {
		return err
	}
	defer s.Stop()
	c := &http.Client{Timeout: 10 * time.Second}
	code, _, err := loadgen.Do(c, "POST", s.URL+"/ops/session", "", `{"key":"`+adminKey+`"}`, "X-Surge-Console", "1")
	if err != nil || code != 200 {
		return fmt.Errorf("sign in: %d %v", code, err)
	}
	time.Sleep(2 * time.Second) // let start-up work finish before measuring idle

	idle := perSecond(s.PID(), d, func() {})
	frames := 0
	watched := perSecond(s.PID(), d, func() { frames = watch(c, s.URL, d) })
	fmt.Printf("ops console stream, sqlite, %v per phase\n", d)
	fmt.Printf("  nobody watching   Surge uses %6.2f ms of processor time per second\n", idle)
	fmt.Printf("  one console open  Surge uses %6.2f ms of processor time per second (%d frames, %.2f ms a frame above idle)\n",
		watched, frames, (watched-idle)*d.Seconds()/float64(max(frames, 1)))
	return nil
}

// perSecond runs fn (or waits) for d and returns the process's processor
// time per second of it, in milliseconds.
func perSecond(pid int, d time.Duration, fn func()) float64 {
	before := loadgen.CPU(pid)
	start := time.Now()
	fn()
	if rest := d - time.Since(start); rest > 0 {
		time.Sleep(rest)
	}
	return float64(loadgen.CPU(pid)-before) / float64(time.Millisecond) / time.Since(start).Seconds()
}

// watch holds a console stream open for d, reconnecting as the page does,
// and counts the frames received. It signs in once per call.
func watch(c *http.Client, url string, d time.Duration) int {
	jar := signIn(c, url)
	frames := 0
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		req, _ := http.NewRequestWithContext(ctx, "GET", url+"/ops/stream", nil)
		req.Header.Set("Cookie", jar)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			continue
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data: ") {
				frames++
			}
		}
		resp.Body.Close()
		cancel()
	}
	return frames
}

func signIn(c *http.Client, url string) string {
	req, _ := http.NewRequest("POST", url+"/ops/session", strings.NewReader(`{"key":"`+adminKey+`"}`))
	req.Header.Set("X-Surge-Console", "1")
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return ""
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "surge_console" {
			return ck.Name + "=" + ck.Value
		}
	}
	return ""
}
