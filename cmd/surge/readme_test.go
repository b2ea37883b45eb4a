package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// shBlock matches a ```sh fenced block of README.md.
var shBlock = regexp.MustCompile("(?s)```sh\n(.*?)```")

// readmeBlocks returns README.md's sh blocks after the first, which holds
// the two commands themselves (running Surge and running these tests).
func readmeBlocks(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, m := range shBlock.FindAllStringSubmatch(string(b), -1) {
		blocks = append(blocks, m[1])
	}
	if len(blocks) < 2 || !strings.Contains(blocks[0], "go run ./cmd/surge serve") {
		t.Fatalf("README.md: want the run command in the first sh block, then the blocks to paste; found %d blocks", len(blocks))
	}
	return blocks[1:]
}

// TestReadme pastes every sh block of README.md, in order, into one bash
// against a fresh `surge serve --demo`, the way a newcomer does after the
// run command. Only the addresses change: the test's server listens on a
// random free port rather than 8080, and so does the load-test target.
// Any failing step (every curl uses -f) fails the test.
func TestReadme(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs load tests")
	}
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is required in CI: %v", tool, err)
			}
			t.Skipf("%s not installed", tool)
		}
	}
	t.Parallel()
	s := startSurge(t, map[string]string{"SURGE_DATA": t.TempDir()}, "--demo")
	serveAddr := strings.TrimPrefix(s.URL, "http://")
	loadAddr := freeAddr(t)

	// A copy of the module, so the blocks' builds and files land in a
	// temporary directory rather than in the working tree.
	dir := t.TempDir()
	for _, p := range []string{"go.mod", "go.sum", "cmd", "internal"} {
		if out, err := exec.Command("cp", "-r", filepath.Join("../..", p), dir).CombinedOutput(); err != nil {
			t.Fatalf("copy %s: %v\n%s", p, err, out)
		}
	}
	script := "set -euo pipefail\n"
	for i, b := range readmeBlocks(t) {
		b = strings.ReplaceAll(b, "localhost:8080", serveAddr)
		b = strings.ReplaceAll(b, "127.0.0.1:8081", loadAddr)
		script += "echo '--- README block " + string(rune('1'+i)) + "'\n" + b
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SURGE_ADMIN_KEY="+s.AdminKey)
	// Its own process group, so a server a block started in the
	// background dies with the test whatever happens.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.CombinedOutput()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		t.Fatalf("README blocks failed: %v\n%s", err, out)
	}
	for _, want := range []string{`"paid"`, `"passed": true`} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("README blocks' output lacks %s:\n%s", want, out)
		}
	}
	t.Logf("README blocks ran:\n%s", out)
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
