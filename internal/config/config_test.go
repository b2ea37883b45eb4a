package config

import (
	"flag"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

// parse registers every flag with env as the environment and parses args,
// as `surge serve` does.
func parse(t *testing.T, env map[string]string, args ...string) *Config {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	getenv := func(k string) string { return env[k] }
	c := Register(fs, getenv)
	c.RegisterServe(fs, getenv)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return c
}

func TestDefaults(t *testing.T) {
	c := parse(t, nil)
	if err := c.ValidateServe(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	checks := map[string][2]any{
		"addr":             {c.Addr, "127.0.0.1:8080"},
		"data":             {c.DataDir, "./surge-data"},
		"database url":     {c.DatabaseURL, ""},
		"db max conns":     {c.DBMaxConns, 16},
		"worker db conns":  {c.WorkerDBConns, 16},
		"max body":         {c.MaxBodyBytes, int64(1 << 20)},
		"request timeout":  {c.RequestTimeout, 5 * time.Second},
		"cache ttl":        {c.CacheTTL, 5 * time.Second},
		"cache max stale":  {c.CacheMaxStale, 5 * time.Minute},
		"roles":            {c.Roles, "api,relay,worker,sweeper"},
		"rate limits":      {c.RateLimits, true},
		"shedding":         {c.Shedding, true},
		"access log":       {c.AccessLog, true},
		"demo":             {c.Demo, false},
		"tier limits":      {c.TierLimits, "free=20,standard=1000,enterprise=10000"},
		"log level":        {c.LogLevel, "info"},
		"reservation ttl":  {c.ReservationTTL, 15 * time.Minute},
		"idempotency ttl":  {c.IdempotencyTTL, 24 * time.Hour},
		"outbox retention": {c.OutboxRetention, 24 * time.Hour},
		"clock offset":     {c.ClockOffset, time.Duration(0)},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s: %v, want %v", name, c[0], c[1])
		}
	}
	for _, r := range []string{"api", "relay", "worker", "sweeper"} {
		if !c.HasRole(r) {
			t.Errorf("default roles lack %s", r)
		}
	}
}

func TestEnvAndFlagsWin(t *testing.T) {
	env := map[string]string{
		"SURGE_ADDR": "127.0.0.1:9000", "SURGE_DB_MAX_CONNS": "8", "SURGE_CACHE_TTL": "2s",
		"SURGE_DATA": "/env", "SURGE_DEMO": "true", "SURGE_RATE_LIMITS": "off", "SURGE_ADMIN_KEY": "ak_env",
		"SURGE_ROLES": "api",
	}
	c := parse(t, env)
	if c.Addr != "127.0.0.1:9000" || c.DBMaxConns != 8 || c.CacheTTL != 2*time.Second || c.DataDir != "/env" ||
		!c.Demo || c.RateLimits || c.AdminKey != "ak_env" || c.HasRole("relay") || !c.HasRole("api") {
		t.Fatalf("environment not applied: %+v", c)
	}
	c = parse(t, env, "--addr", "127.0.0.1:9001", "--db-max-conns", "4", "--cache-ttl", "3s", "--data", "/flag",
		"--demo=false", "--rate-limits=true", "--roles", "relay,worker")
	if c.Addr != "127.0.0.1:9001" || c.DBMaxConns != 4 || c.CacheTTL != 3*time.Second || c.DataDir != "/flag" ||
		c.Demo || !c.RateLimits || c.HasRole("api") || !c.HasRole("worker") {
		t.Fatalf("flags did not win over the environment: %+v", c)
	}
	if err := c.ValidateServe(); err != nil {
		t.Fatal(err)
	}
}

// A bad variable is an error naming it, even when a flag would override
// it: silently running on the default would hide the typo.
func TestBadEnvironment(t *testing.T) {
	c := parse(t, map[string]string{"SURGE_DB_MAX_CONNS": "many", "SURGE_CACHE_TTL": "5"})
	err := c.ValidateServe()
	if err == nil || !strings.Contains(err.Error(), `SURGE_DB_MAX_CONNS="many" is not an integer`) ||
		!strings.Contains(err.Error(), `SURGE_CACHE_TTL="5" is not a duration`) {
		t.Fatalf("Validate: %v; want both variables named", err)
	}
	c = parse(t, map[string]string{"SURGE_DB_MAX_CONNS": "many"}, "--db-max-conns", "4")
	if err := c.ValidateServe(); err == nil || c.DBMaxConns != 4 {
		t.Fatalf("bad variable overridden by a flag: ValidateServe() = %v, pool %d", err, c.DBMaxConns)
	}
}

func TestValidateRejects(t *testing.T) {
	cases := map[string]struct {
		args []string
		want string
	}{
		"unknown role":      {[]string{"--roles", "api,web"}, `unknown role "web"`},
		"zero pool":         {[]string{"--db-max-conns", "0"}, "--db-max-conns"},
		"zero worker pool":  {[]string{"--worker-db-conns", "0"}, "--worker-db-conns"},
		"no replicas":       {[]string{"--stream-replicas", "0"}, "--stream-replicas"},
		"negative ttl":      {[]string{"--cache-ttl", "-1s"}, "--cache-ttl"},
		"negative limit":    {[]string{"--rate-limit-ip", "-1"}, "rate limits"},
		"no connections":    {[]string{"--max-conns-per-client", "0"}, "--max-conns-per-client"},
		"tiny body cap":     {[]string{"--max-body-bytes", "100"}, "--max-body-bytes"},
		"zero timeout":      {[]string{"--request-timeout", "0s"}, "--request-timeout"},
		"short retention":   {[]string{"--outbox-retention", "1m", "--republish-window", "2m"}, "--outbox-retention"},
		"negative timeout":  {[]string{"--request-timeout", "-1s"}, "--request-timeout"},
		"role with a space": {[]string{"--roles", "api, worker ,x"}, `unknown role "x"`},
	}
	for name, c := range cases {
		err := parse(t, nil, c.args...).ValidateServe()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: ValidateServe() = %v, want an error mentioning %q", name, err, c.want)
		}
	}
	if err := parse(t, nil, "--roles", " api , worker").ValidateServe(); err != nil {
		t.Errorf("spaces around roles: %v", err)
	}
}

func TestValidateCharge(t *testing.T) {
	for _, c := range []struct {
		args []string
		ok   bool
	}{
		{nil, true},
		{[]string{"--reservation-ttl", "16s", "--charge-budget", "10s"}, true},
		{[]string{"--reservation-ttl", "15s", "--charge-budget", "10s"}, false},
		{[]string{"--reservation-ttl", "5s", "--charge-budget", "10s"}, false},
	} {
		err := parse(t, nil, c.args...).ValidateCharge()
		if (err == nil) != c.ok {
			t.Errorf("%v: ValidateCharge() = %v, want ok=%v", c.args, err, c.ok)
		}
	}
}

func TestParseTokenSecrets(t *testing.T) {
	s32 := strings.Repeat("s", 32)
	got, err := ParseTokenSecrets(" k1:" + s32 + " ,k2:" + s32 + "x,")
	if err != nil || len(got) != 2 || got[0] != [2]string{"k1", s32} || got[1] != [2]string{"k2", s32 + "x"} {
		t.Fatalf("ParseTokenSecrets: %v, %v", got, err)
	}
	if got, err := ParseTokenSecrets(""); err != nil || len(got) != 0 {
		t.Fatalf("empty: %v, %v", got, err)
	}
	for _, bad := range []string{"k1", ":" + s32, "k1:short", "k1:" + s32 + ",k2"} {
		if _, err := ParseTokenSecrets(bad); err == nil {
			t.Errorf("ParseTokenSecrets(%q) accepted", bad)
		}
	}
}

func TestParseTierLimits(t *testing.T) {
	got, err := ParseTierLimits("free=20, standard=1000,enterprise=0")
	if err != nil || len(got) != 3 || got["free"] != 20 || got["standard"] != 1000 || got["enterprise"] != 0 {
		t.Fatalf("ParseTierLimits: %v, %v", got, err)
	}
	for _, bad := range []string{"", "free", "free=", "free=-1", "free=x", "free=1,"} {
		if _, err := ParseTierLimits(bad); err == nil || !strings.Contains(err.Error(), "--tier-limits") {
			t.Errorf("ParseTierLimits(%q): %v", bad, err)
		}
	}
}

func TestParseCIDRs(t *testing.T) {
	got, err := ParseCIDRs("10.0.0.0/8, ::1/128,")
	if err != nil || len(got) != 2 || got[0] != netip.MustParsePrefix("10.0.0.0/8") {
		t.Fatalf("ParseCIDRs: %v, %v", got, err)
	}
	for _, bad := range []string{"10.0.0.1", "10.0.0.0/33", "x"} {
		if _, err := ParseCIDRs(bad); err == nil || !strings.Contains(err.Error(), "--trusted-proxies") {
			t.Errorf("ParseCIDRs(%q): %v", bad, err)
		}
	}
}

// FuzzEnvValues sets a numeric and a duration variable to arbitrary text:
// no panic, and either the value is used exactly as parsed or Validate
// names the variable.
func FuzzEnvValues(f *testing.F) {
	f.Add("8", "2s")
	f.Add("", "")
	f.Add("x", "5")
	f.Add("99999999999999999999", "1h1h")
	f.Add("-1", "-1s")
	f.Fuzz(func(t *testing.T, conns, ttl string) {
		c := parse(t, map[string]string{"SURGE_WORKER_DB_CONNS": conns, "SURGE_CACHE_TTL": ttl})
		err := c.ValidateServe()
		if n, perr := strconv.Atoi(conns); conns != "" && perr != nil {
			if err == nil || !strings.Contains(err.Error(), "SURGE_WORKER_DB_CONNS") {
				t.Fatalf("SURGE_WORKER_DB_CONNS=%q: ValidateServe() = %v", conns, err)
			}
		} else if conns != "" && c.WorkerDBConns != n {
			t.Fatalf("SURGE_WORKER_DB_CONNS=%q gave %d", conns, c.WorkerDBConns)
		}
		if d, perr := time.ParseDuration(ttl); ttl != "" && perr != nil {
			if err == nil || !strings.Contains(err.Error(), "SURGE_CACHE_TTL") {
				t.Fatalf("SURGE_CACHE_TTL=%q: ValidateServe() = %v", ttl, err)
			}
		} else if ttl != "" && c.CacheTTL != d {
			t.Fatalf("SURGE_CACHE_TTL=%q gave %v", ttl, c.CacheTTL)
		}
	})
}

// FuzzParseLists feeds arbitrary text to the three list parsers (all set
// from the environment): no panic, and what they accept is well formed.
func FuzzParseLists(f *testing.F) {
	f.Add("k1:" + strings.Repeat("s", 32))
	f.Add("free=20,standard=1000")
	f.Add("10.0.0.0/8,::1/128")
	f.Add(",,=:")
	f.Fuzz(func(t *testing.T, raw string) {
		if secrets, err := ParseTokenSecrets(raw); err == nil {
			for _, s := range secrets {
				if s[0] == "" || len(s[1]) < 32 {
					t.Fatalf("ParseTokenSecrets(%q) accepted %q", raw, s)
				}
			}
		}
		if tiers, err := ParseTierLimits(raw); err == nil {
			for name, n := range tiers {
				if n < 0 {
					t.Fatalf("ParseTierLimits(%q) accepted %s=%d", raw, name, n)
				}
			}
		}
		if cidrs, err := ParseCIDRs(raw); err == nil {
			for _, p := range cidrs {
				if !p.IsValid() {
					t.Fatalf("ParseCIDRs(%q) accepted %v", raw, p)
				}
			}
		}
	})
}

func TestBooleanEnvironment(t *testing.T) {
	for raw, want := range map[string]bool{"1": true, "true": true, "TRUE": true, "0": false, "false": false} {
		if c := parse(t, map[string]string{"SURGE_DEMO": raw}); c.Demo != want || c.ValidateServe() != nil {
			t.Errorf("SURGE_DEMO=%s: demo %v, %v", raw, c.Demo, c.ValidateServe())
		}
	}
	if err := parse(t, map[string]string{"SURGE_ACCESS_LOG": "nope"}).ValidateServe(); err == nil || !strings.Contains(err.Error(), "SURGE_ACCESS_LOG") {
		t.Fatalf("SURGE_ACCESS_LOG=nope: %v", err)
	}
}

func TestValidateAdminKey(t *testing.T) {
	for key, ok := range map[string]bool{
		"":                                 true, // generated at start
		"3f9a1c0d7e2b4a6f8c1d3e5f7a9b0c2d": true, // openssl rand -hex 16
		"test-admin-key-0123456789abcdef":  true,
		"test-admin-key":                   false, // short
		"admin":                            false,
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": false, // long but one character
		"abababababababababababababababab": false, // long, two characters
	} {
		c := Config{AdminKey: key}
		if err := c.ValidateAdminKey(); (err == nil) != ok {
			t.Errorf("admin key %q: %v, want accepted %v", key, err, ok)
		}
	}
}

func TestValidatePprof(t *testing.T) {
	for _, c := range []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"", false, true},
		{"127.0.0.1:6060", false, true},
		{"[::1]:6060", false, true},
		{"localhost:6060", false, true},
		{"0.0.0.0:6060", false, false},
		{":6060", false, false},
		{"10.0.0.5:6060", false, false},
		{"0.0.0.0:6060", true, true},
	} {
		cfg := Config{PprofAddr: c.addr, PprofAllowRemote: c.remote}
		if err := cfg.ValidatePprof(); (err == nil) != c.ok {
			t.Errorf("pprof %q remote %v: %v, want accepted %v", c.addr, c.remote, err, c.ok)
		}
	}
}

// TestValidateSharedOnly: a command that registers only the shared flags
// (audit, migrate, events) validates them alone; serve-only settings it
// never parsed, left at zero, must not fail it.
func TestValidateSharedOnly(t *testing.T) {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c := Register(fs, func(string) string { return "" })
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("shared flags at their defaults: Validate() = %v", err)
	}
	if err := parse(t, nil, "--db-max-conns", "0").Validate(); err == nil {
		t.Fatal("a zero pool passed the shared validation")
	}
}

func TestParseOrigins(t *testing.T) {
	got, err := ParseOrigins(" https://Shop.example, http://127.0.0.1:3000 ,")
	if err != nil || len(got) != 2 || got[0] != "https://shop.example" || got[1] != "http://127.0.0.1:3000" {
		t.Fatalf("ParseOrigins = %q, %v", got, err)
	}
	for _, bad := range []string{"*", "shop.example", "https://shop.example/", "https://*.example", "ftp://shop.example", "https://u@shop.example"} {
		if _, err := ParseOrigins(bad); err == nil {
			t.Errorf("ParseOrigins(%q) accepted", bad)
		}
	}
}
