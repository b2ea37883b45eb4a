package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/surge-commerce/surge/internal/procgroup"
)

// natsBinEnv names a prebuilt nats-server, as the tests' servers use.
const natsBinEnv = "SURGE_TEST_NATS_SERVER_BIN"

// newNATSCluster prepares three JetStream nodes routed to each other.
func newNATSCluster(dir string) ([]*Component, []string, error) {
	bin, err := natsServerBin()
	if err != nil {
		return nil, nil, err
	}
	const n = 3
	client := make([]string, n)
	route := make([]string, n)
	monitor := make([]string, n)
	for i := range n {
		for _, a := range []*string{&client[i], &route[i], &monitor[i]} {
			if *a, err = procgroup.FreeAddr(); err != nil {
				return nil, nil, err
			}
		}
	}
	var routes []string
	for _, r := range route {
		routes = append(routes, "nats://"+r)
	}
	var nodes []*Component
	var urls []string
	for i := range n {
		name := fmt.Sprintf("nats-%d", i+1)
		store := filepath.Join(dir, name)
		if err := os.MkdirAll(store, 0o755); err != nil {
			return nil, nil, err
		}
		nodes = append(nodes, &Component{
			Name: name,
			spec: spec{name: bin, log: filepath.Join(dir, name+".log"), args: []string{
				"--server_name", name, "-a", "127.0.0.1", "-p", portOf(client[i]),
				"-m", portOf(monitor[i]), "-js", "-sd", store,
				"--cluster_name", "surge", "--cluster", "nats://" + route[i],
				"--routes", strings.Join(routes, ","),
				// Clients must keep to the addresses they were given, the
				// proxies, or faults injected there would miss them.
				"--no_advertise",
			}},
			// healthz answers ok once JetStream has joined the cluster.
			ready: httpOK("http://" + monitor[i] + "/healthz"),
		})
		urls = append(urls, client[i])
	}
	return nodes, urls, nil
}

var natsBuild struct {
	once sync.Once
	path string
	err  error
}

// natsServerBin returns the nats-server named by SURGE_TEST_NATS_SERVER_BIN,
// or builds one from the module go.mod requires, once per process.
func natsServerBin() (string, error) {
	if bin := os.Getenv(natsBinEnv); bin != "" {
		return bin, nil
	}
	if bin, err := exec.LookPath("nats-server"); err == nil {
		return bin, nil
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("nats-server not found: set %s, put nats-server on PATH, or install Go to build it from the module github.com/nats-io/nats-server/v2", natsBinEnv)
	}
	natsBuild.once.Do(func() {
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("surge-cluster-%d", os.Getuid()))
		if natsBuild.err = os.MkdirAll(dir, 0o700); natsBuild.err != nil {
			return
		}
		natsBuild.path = filepath.Join(dir, "nats-server")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, goTool, "build", "-o", natsBuild.path, "github.com/nats-io/nats-server/v2").CombinedOutput()
		if err != nil {
			natsBuild.err = fmt.Errorf("build nats-server: %v\n%s", err, out)
		}
	})
	return natsBuild.path, natsBuild.err
}

// newRedis prepares one redis-server without persistence: it is a cache and
// a limiter, never the record (docs/INVARIANTS.md, I8).
func newRedis(dir string) (*Component, string, error) {
	bin, err := lookPath("redis-server", "redis-server")
	if err != nil {
		return nil, "", err
	}
	addr, err := procgroup.FreeAddr()
	if err != nil {
		return nil, "", err
	}
	return &Component{
		Name: "redis",
		spec: spec{name: bin, log: filepath.Join(dir, "redis.log"), dir: dir, args: []string{
			"--bind", "127.0.0.1", "--port", portOf(addr), "--save", "", "--appendonly", "no",
		}},
		ready: tcpOpen(addr),
	}, addr, nil
}

// haproxyConfig balances the API replicas round-robin, checks /readyz and
// adds X-Forwarded-For, which the replicas trust from loopback only.
func haproxyConfig(front string, backends []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global
  maxconn 4096

defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  retries 2
  option redispatch

frontend front
  bind %s
  option forwardfor
  default_backend api

backend api
  balance roundrobin
  option httpchk GET /readyz
  default-server inter 500ms fall 2 rise 2
`, front)
	for i, addr := range backends {
		fmt.Fprintf(&b, "  server api-%d %s check\n", i+1, addr)
	}
	return b.String()
}

func newHAProxy(dir, front string, backends []string) (*Component, error) {
	bin, err := lookPath("haproxy", "haproxy")
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(haproxyConfig(front, backends)), 0o644); err != nil {
		return nil, err
	}
	return &Component{
		Name:  "haproxy",
		spec:  spec{name: bin, log: filepath.Join(dir, "haproxy.log"), args: []string{"-db", "-f", cfg}},
		ready: httpOK("http://" + front + "/readyz"),
	}, nil
}
