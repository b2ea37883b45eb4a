package cluster

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/testrig"
)

// A missing program is named with the Debian package and the line that
// installs it.
func TestMissingProgramNamesPackage(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := lookPath("haproxy", "haproxy")
	var missing *MissingError
	if !errors.As(err, &missing) || !strings.Contains(err.Error(), "apt-get install -y haproxy") {
		t.Fatalf("lookPath on an empty PATH: %v", err)
	}
}

// A proxy carries bytes, refuses connections while disabled, and carries
// them again on the same address once enabled: what drills rely on.
func TestProxyDisableEnable(t *testing.T) {
	upstream, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer upstream.Close()
	go func() {
		for {
			c, err := upstream.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	server := newToxiServer()
	p, err := newProxy(server, "echo", upstream.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer server.Collection.Clear()
	echoes := func() bool {
		c, err := net.DialTimeout("tcp", p.Listen, 5*time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("ping")); err != nil {
			return false
		}
		b := make([]byte, 4)
		_, err = io.ReadFull(c, b)
		return err == nil && string(b) == "ping"
	}
	if err := p.AddLatency("slow", 1, 0); err != nil {
		t.Fatal(err)
	}
	testrig.Eventually(t, "the proxy to echo", echoes)
	p.Disable()
	if c, err := net.DialTimeout("tcp", p.Listen, 5*time.Second); err == nil {
		c.Close()
		t.Fatal("a disabled proxy accepted a connection")
	}
	if err := p.Enable(); err != nil {
		t.Fatal(err)
	}
	testrig.Eventually(t, "the proxy to echo again", echoes)
	if err := p.RemoveToxic("slow"); err != nil {
		t.Fatal(err)
	}
}
