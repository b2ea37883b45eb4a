package cluster

import (
	"context"
	"fmt"
	"io"
	"strings"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"

	"github.com/surge-commerce/surge/internal/procgroup"
)

// Proxy is a Toxiproxy proxy between the Surge replicas and one dependency.
// It runs inside this process, so drills need no toxiproxy-server.
type Proxy struct {
	Name     string
	Listen   string // what the replicas dial
	Upstream string // the dependency itself
	p        *toxiproxy.Proxy
}

// newProxy starts a proxy on a free loopback port in front of upstream.
func newProxy(server *toxiproxy.ApiServer, name, upstream string) (*Proxy, error) {
	listen, err := procgroup.FreeAddr()
	if err != nil {
		return nil, err
	}
	p := toxiproxy.NewProxy(server, name, listen, upstream)
	if err := server.Collection.Add(p, true); err != nil {
		return nil, fmt.Errorf("proxy %s: %w", name, err)
	}
	return &Proxy{Name: name, Listen: p.Listen, Upstream: upstream, p: p}, nil
}

// newToxiServer returns a proxy collection that logs nothing: the drill's
// own output is what the operator reads.
func newToxiServer() *toxiproxy.ApiServer {
	return toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.New(io.Discard))
}

// AddLatency delays data towards the replicas by latencyMS ± jitterMS.
func (p *Proxy) AddLatency(name string, latencyMS, jitterMS int) error {
	return p.addToxic(fmt.Sprintf(`{"name":%q,"type":"latency","stream":"downstream","toxicity":1,"attributes":{"latency":%d,"jitter":%d}}`, name, latencyMS, jitterMS))
}

// ResetPeers closes new and open connections with a TCP RST after
// timeoutMS (0: at once), as a crashed or partitioned peer would.
func (p *Proxy) ResetPeers(name string, timeoutMS int) error {
	return p.addToxic(fmt.Sprintf(`{"name":%q,"type":"reset_peer","stream":"downstream","toxicity":1,"attributes":{"timeout":%d}}`, name, timeoutMS))
}

// RemoveToxic removes one toxic by name.
func (p *Proxy) RemoveToxic(name string) error {
	return p.p.Toxics.RemoveToxic(context.Background(), name)
}

// ResetToxics removes every toxic.
func (p *Proxy) ResetToxics() { p.p.Toxics.ResetToxics(context.Background()) }

// Disable closes the listener and every connection: the dependency is
// unreachable until Enable.
func (p *Proxy) Disable() { p.p.Stop() }

// Enable listens again on the same address.
func (p *Proxy) Enable() error { return p.p.Start() }

func (p *Proxy) addToxic(js string) error {
	if _, err := p.p.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
		return fmt.Errorf("proxy %s: %w", p.Name, err)
	}
	return nil
}
