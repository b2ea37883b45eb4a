package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"

	"github.com/surge-commerce/surge/internal/procgroup"
)

// Options configure Up. The zero value needs only SurgeBin.
type Options struct {
	// SurgeBin is the surge binary the replicas and the simulator run.
	SurgeBin string
	// Dir holds every component's data and log; empty makes a new
	// temporary directory, which Down leaves for the logs' sake.
	Dir string
	// AsyncStandby makes replication asynchronous; by default a commit
	// waits for the standby, so a primary crash loses no acknowledged
	// write (docs/INVARIANTS.md, I3).
	AsyncStandby bool
	// APIReplicas is the number of `--roles api` replicas; 0 means 3.
	APIReplicas int
	// Env is added to the environment of every surge process.
	Env []string
}

// Cluster is a running topology. Every component can be failed and
// restarted on its own; Down stops whatever is left.
type Cluster struct {
	Dir      string
	FrontURL string // HAProxy, in front of the API replicas
	AdminKey string // SURGE_ADMIN_KEY of every replica

	// DatabaseURL is the primary's own URL, not the proxy: for audits and
	// checks that must not be disturbed by injected faults.
	DatabaseURL string

	Primary, Standby *PGNode
	Redis            *Component
	NATS             []*Component
	PSP              *Component
	API              []*Component
	Relay            *Component
	Worker           *Component
	Sweeper          *Component
	HAProxy          *Component

	// Proxies stand between the replicas and each dependency.
	PGProxy    *Proxy
	RedisProxy *Proxy
	NATSProxy  []*Proxy
	PSPProxy   *Proxy
	// PGStandbyProxy is the standby's. The replicas list both PostgreSQL
	// proxies and want a writable server (target_session_attrs=read-write),
	// so they follow a promoted standby without a restart.
	PGStandbyProxy *Proxy

	// pspURL and pspKey reach the simulator itself, past its proxy, for
	// its fault knobs (SetPSPFaults).
	pspURL, pspKey string

	// direct is the replicas' settings with every URL pointing at the
	// dependency itself; see Env.
	direct  []string
	toxi    *toxiproxy.ApiServer
	started []*Component // in start order, for Down
}

// Up starts the whole topology and returns when the front answers /readyz.
// On error it stops what it had started.
func Up(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if opts.SurgeBin == "" {
		return nil, errors.New("cluster: Options.SurgeBin is required")
	}
	if opts.APIReplicas == 0 {
		opts.APIReplicas = 3
	}
	if err := CheckPrograms(); err != nil {
		return nil, err
	}
	c := &Cluster{Dir: opts.Dir, toxi: newToxiServer()}
	if c.Dir == "" {
		if c.Dir, err = os.MkdirTemp("", "surge-cluster-*"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return nil, err
	}
	if c.Dir, err = filepath.Abs(c.Dir); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.Down())
		}
	}()
	if err := c.startDependencies(ctx, opts); err != nil {
		return nil, err
	}
	if err := c.startSurge(ctx, opts); err != nil {
		return nil, err
	}
	return c, nil
}

// CheckPrograms reports every missing program at once, each a
// *MissingError naming its Debian package.
func CheckPrograms() error {
	var errs []error
	if _, err := postgresBinDir(); err != nil {
		errs = append(errs, err)
	}
	for _, p := range [][2]string{{"redis-server", "redis-server"}, {"haproxy", "haproxy"}} {
		if _, err := lookPath(p[0], p[1]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (c *Cluster) startDependencies(ctx context.Context, opts Options) error {
	var err error
	c.Primary, c.Standby, err = startPostgres(ctx, c.Dir, !opts.AsyncStandby)
	if err != nil {
		return err
	}
	c.DatabaseURL = c.Primary.URL()
	if c.PGProxy, err = newProxy(c.toxi, "postgres", c.Primary.Addr); err != nil {
		return err
	}
	if c.PGStandbyProxy, err = newProxy(c.toxi, "postgres-standby", c.Standby.Addr); err != nil {
		return err
	}

	var redisAddr string
	if c.Redis, redisAddr, err = newRedis(c.Dir); err != nil {
		return err
	}
	if err := c.start(ctx, c.Redis); err != nil {
		return err
	}
	if c.RedisProxy, err = newProxy(c.toxi, "redis", redisAddr); err != nil {
		return err
	}

	var natsAddrs []string
	if c.NATS, natsAddrs, err = newNATSCluster(c.Dir); err != nil {
		return err
	}
	// Each node waits for the others' routes before JetStream is healthy,
	// so start all three first, then wait.
	for _, n := range c.NATS {
		ready := n.ready
		n.ready = nil
		if err := c.start(ctx, n); err != nil {
			return err
		}
		n.ready = ready
	}
	for i, n := range c.NATS {
		if err := waitReady(ctx, n.proc.Done(), n.ready); err != nil {
			return fmt.Errorf("%s: %w\n%s", n.Name, err, procgroup.LogTail(n.Log()))
		}
		p, err := newProxy(c.toxi, n.Name, natsAddrs[i])
		if err != nil {
			return err
		}
		c.NATSProxy = append(c.NATSProxy, p)
	}
	return nil
}

func (c *Cluster) startSurge(ctx context.Context, opts Options) error {
	secrets, err := newSecrets()
	if err != nil {
		return err
	}
	c.AdminKey = secrets.admin
	front, err := procgroup.FreeAddr()
	if err != nil {
		return err
	}
	c.FrontURL = "http://" + front

	pspAddr, err := procgroup.FreeAddr()
	if err != nil {
		return err
	}
	c.PSP = &Component{
		Name: "psp",
		spec: spec{name: opts.SurgeBin, log: filepath.Join(c.Dir, "psp.log"),
			args: []string{"psp", "--addr", pspAddr, "--data", filepath.Join(c.Dir, "psp"),
				"--webhook-url", c.FrontURL + "/v1/payments/webhook"},
			env: append([]string{"SURGE_PSP_API_KEY=" + secrets.pspKey, "SURGE_PSP_WEBHOOK_SECRET=" + secrets.webhook}, opts.Env...)},
		ready: tcpOpen(pspAddr),
	}
	if err := c.start(ctx, c.PSP); err != nil {
		return err
	}
	c.pspURL, c.pspKey = "http://"+pspAddr, secrets.pspKey
	if c.PSPProxy, err = newProxy(c.toxi, "psp", pspAddr); err != nil {
		return err
	}

	var natsURLs []string
	for _, p := range c.NATSProxy {
		natsURLs = append(natsURLs, "nats://"+p.Listen)
	}
	env := append(append([]string{}, opts.Env...),
		"SURGE_DATABASE_URL=postgres://postgres@"+c.PGProxy.Listen+","+c.PGStandbyProxy.Listen+"/postgres?sslmode=disable&target_session_attrs=read-write",
		"SURGE_NATS_URL="+strings.Join(natsURLs, ","),
		"SURGE_STREAM_REPLICAS=3",
		"SURGE_REDIS_URL=redis://"+c.RedisProxy.Listen,
		"SURGE_PSP_URL=http://"+c.PSPProxy.Listen,
		"SURGE_ADMIN_KEY="+secrets.admin,
		"SURGE_TOKEN_SECRETS="+secrets.tokens,
		"SURGE_PSP_API_KEY="+secrets.pspKey,
		"SURGE_PSP_WEBHOOK_SECRET="+secrets.webhook,
		// HAProxy adds X-Forwarded-For from loopback; rate limits then
		// see the real client (docs/INVARIANTS.md, I11).
		"SURGE_TRUSTED_PROXIES=127.0.0.1/32",
	)
	var natsDirect []string
	for _, p := range c.NATSProxy {
		natsDirect = append(natsDirect, "nats://"+p.Upstream)
	}
	c.direct = append(append([]string{}, env...),
		"SURGE_DATABASE_URL="+c.DatabaseURL,
		"SURGE_NATS_URL="+strings.Join(natsDirect, ","),
		"SURGE_REDIS_URL=redis://"+c.RedisProxy.Upstream,
		"SURGE_PSP_URL=http://"+c.PSPProxy.Upstream,
	)
	if err := c.migrate(ctx, opts.SurgeBin, env); err != nil {
		return err
	}

	var apiAddrs []string
	for i := range opts.APIReplicas {
		s, addr, err := c.newReplica(opts.SurgeBin, fmt.Sprintf("api-%d", i+1), "api", env)
		if err != nil {
			return err
		}
		c.API = append(c.API, s)
		apiAddrs = append(apiAddrs, addr)
	}
	for _, s := range c.API {
		if err := c.start(ctx, s); err != nil {
			return err
		}
	}
	for _, r := range []struct {
		dst  **Component
		role string
	}{{&c.Relay, "relay"}, {&c.Worker, "worker"}, {&c.Sweeper, "sweeper"}} {
		s, _, err := c.newReplica(opts.SurgeBin, r.role, r.role, env)
		if err != nil {
			return err
		}
		*r.dst = s
		if err := c.start(ctx, s); err != nil {
			return err
		}
	}
	if c.HAProxy, err = newHAProxy(c.Dir, front, apiAddrs); err != nil {
		return err
	}
	return c.start(ctx, c.HAProxy)
}

// migrate runs `surge migrate up` once, so the replicas do not race to.
func (c *Cluster) migrate(ctx context.Context, bin string, env []string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "migrate", "up")
	cmd.Env = append(append(os.Environ(), env...), "SURGE_DATA="+filepath.Join(c.Dir, "migrate"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("surge migrate up: %v\n%s", err, out)
	}
	return nil
}

func (c *Cluster) newReplica(bin, name, role string, env []string) (*Component, string, error) {
	addr, err := procgroup.FreeAddr()
	if err != nil {
		return nil, "", err
	}
	data := filepath.Join(c.Dir, name)
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, "", err
	}
	return &Component{
		Name: name,
		URL:  "http://" + addr,
		spec: spec{name: bin, log: filepath.Join(c.Dir, name+".log"),
			args: []string{"serve", "--roles", role},
			env:  append(append([]string{}, env...), "SURGE_ADDR="+addr, "SURGE_DATA="+data)},
		ready: httpOK("http://" + addr + "/readyz"),
	}, addr, nil
}

func (c *Cluster) start(ctx context.Context, comp *Component) error {
	c.started = append(c.started, comp)
	return comp.Start(ctx)
}

// Env returns the replicas' settings (KEY=value) with every URL pointing at
// the dependency itself rather than its proxy, for commands such as
// `surge audit` that must see the system as it is, not as a drill disturbs
// it. Later entries win.
func (c *Cluster) Env() []string { return append([]string{}, c.direct...) }

// Surge returns every Surge replica (API, relay, worker, sweeper).
func (c *Cluster) Surge() []*Component {
	return append(append([]*Component{}, c.API...), c.Relay, c.Worker, c.Sweeper)
}

// Pids returns the pids of every running process the cluster started, by
// component name, so callers can check that Down left none behind.
func (c *Cluster) Pids() map[string]int {
	pids := map[string]int{}
	for _, comp := range c.started {
		if pid := comp.Pid(); pid != 0 {
			pids[comp.Name] = pid
		}
	}
	for _, n := range []*PGNode{c.Primary, c.Standby} {
		if n != nil {
			if pid := n.Pid(); pid != 0 {
				pids[n.Name] = pid
			}
		}
	}
	return pids
}

// Down stops every component, the front first and PostgreSQL last, and
// closes the proxies. It keeps Dir: its logs tell what happened.
func (c *Cluster) Down() error {
	errs := []error{stopAll(c.started)}
	if c.toxi != nil {
		errs = append(errs, c.toxi.Collection.Clear())
	}
	for _, n := range []*PGNode{c.Standby, c.Primary} {
		if n != nil {
			errs = append(errs, n.Stop())
		}
	}
	return errors.Join(errs...)
}

type secrets struct{ admin, tokens, pspKey, webhook string }

func newSecrets() (secrets, error) {
	var s secrets
	for _, dst := range []*string{&s.admin, &s.tokens, &s.pspKey, &s.webhook} {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return s, err
		}
		*dst = hex.EncodeToString(b)
	}
	s.tokens = "k1:" + s.tokens
	return s, nil
}

// SetPSPFaults replaces the payment simulator's fault knobs (PUT
// /v1/faults; see psp.Faults), e.g. `{"error_rate":0.5,"latency_ms":2000}`;
// `{}` clears them.
func (c *Cluster) SetPSPFaults(ctx context.Context, faults string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "PUT", c.pspURL+"/v1/faults", strings.NewReader(faults))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.pspKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<10))
		return fmt.Errorf("psp faults: %d %s", res.StatusCode, b)
	}
	return nil
}

// Front is where the load goes (the balancer) and the key it sets its
// shop up with.
func (c *Cluster) Front() (url, adminKey string) { return c.FrontURL, c.AdminKey }
