package deploy_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// files returns the paths below dir whose names end in one of exts.
func files(t *testing.T, dir string, exts ...string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		for _, ext := range exts {
			if !d.IsDir() && strings.HasSuffix(path, ext) {
				out = append(out, path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// source is the text of Surge's non-test Go files.
func source(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, dir := range []string{"../cmd", "../internal"} {
		for _, p := range files(t, dir, ".go") {
			if !strings.HasSuffix(p, "_test.go") {
				b.WriteString(read(t, p))
			}
		}
	}
	return b.String()
}

func TestManifestsParse(t *testing.T) {
	for _, p := range files(t, ".", ".yaml", ".yml") {
		dec := yaml.NewDecoder(strings.NewReader(read(t, p)))
		docs := 0
		for {
			var doc map[string]any
			err := dec.Decode(&doc)
			if err != nil {
				if err.Error() != "EOF" {
					t.Errorf("%s: document %d: %v", p, docs+1, err)
				}
				break
			}
			docs++
		}
		if docs == 0 {
			t.Errorf("%s: no document", p)
		}
	}
	for _, p := range files(t, ".", ".json") {
		var v map[string]any
		if err := json.Unmarshal([]byte(read(t, p)), &v); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

// Alert rules and dashboards that name a metric Surge does not export
// would stay silent or empty exactly when they are needed.
func TestTheMetricsTheyUseExist(t *testing.T) {
	src := source(t)
	name := regexp.MustCompile(`\bsurge_[a-z0-9_]+`)
	used := 0
	for _, p := range append(files(t, "prometheus", ".yaml"), files(t, "grafana", ".json")...) {
		for _, m := range name.FindAllString(read(t, p), -1) {
			used++
			base := m
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				base = strings.TrimSuffix(base, suffix)
			}
			if !strings.Contains(src, `"`+base+`"`) {
				t.Errorf("%s uses %s, which Surge does not export", p, m)
			}
		}
	}
	if used < 10 {
		t.Fatalf("found only %d metric references; the files moved?", used)
	}
}

// Settings that Surge does not read would be silently ignored.
func TestTheSettingsTheyUseExist(t *testing.T) {
	src := source(t)
	setting := regexp.MustCompile(`\b(SURGE_[A-Z0-9_]+|OTEL_[A-Z0-9_]+)\b`)
	used := 0
	for _, p := range append(files(t, "kubernetes", ".yaml"), "compose.yaml", "Dockerfile") {
		for _, m := range setting.FindAllString(read(t, p), -1) {
			used++
			if !strings.Contains(src, `"`+m+`"`) {
				t.Errorf("%s sets %s, which Surge does not read", p, m)
			}
		}
	}
	if used < 10 {
		t.Fatalf("found only %d settings; the files moved?", used)
	}
}

func TestEveryAlertSaysHowBadAndWhatToDo(t *testing.T) {
	var rules struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert, Record, Expr, For string
				Labels                   map[string]string
				Annotations              map[string]string
			}
		}
	}
	if err := yaml.Unmarshal([]byte(read(t, "prometheus/alerts.yaml")), &rules); err != nil {
		t.Fatal(err)
	}
	alerts := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Expr == "" {
				t.Errorf("group %s: a rule without expr", g.Name)
			}
			if r.Alert == "" {
				continue
			}
			alerts++
			if r.For == "" || (r.Labels["severity"] != "page" && r.Labels["severity"] != "ticket") ||
				r.Annotations["summary"] == "" || r.Annotations["runbook"] == "" {
				t.Errorf("alert %s: want for, severity page or ticket, a summary and a runbook", r.Alert)
			}
		}
	}
	if alerts == 0 {
		t.Fatal("no alerts")
	}
}

// TestImagesArePinned holds every image to a version: :latest (or no tag)
// changes what runs without a change here.
func TestImagesArePinned(t *testing.T) {
	image := regexp.MustCompile(`(?m)^\s*image:\s*"?([^"\s#]+)`)
	for _, p := range files(t, ".", ".yaml", ".yml") {
		for _, m := range image.FindAllStringSubmatch(read(t, p), -1) {
			name := m[1]
			if i := strings.LastIndex(name, ":"); i < 0 || strings.Contains(name[i:], "/") || name[i+1:] == "latest" {
				t.Errorf("%s: image %s is not pinned to a version", p, name)
			}
		}
	}
}

// TestComposeWaitsForHealthyDependencies holds compose to start a service
// only once what it depends on answers: every depends_on names a
// condition, and a service_healthy one a service with a healthcheck.
func TestComposeWaitsForHealthyDependencies(t *testing.T) {
	var c struct {
		Services map[string]struct {
			DependsOn   map[string]struct{ Condition string } `yaml:"depends_on"`
			Healthcheck map[string]any                        `yaml:"healthcheck"`
		}
	}
	if err := yaml.Unmarshal([]byte(read(t, "compose.yaml")), &c); err != nil {
		t.Fatalf("compose.yaml: depends_on must be a map with conditions: %v", err)
	}
	for name, svc := range c.Services {
		for dep, d := range svc.DependsOn {
			switch {
			case d.Condition == "":
				t.Errorf("%s depends on %s with no condition", name, dep)
			case d.Condition == "service_healthy" && c.Services[dep].Healthcheck == nil:
				t.Errorf("%s waits for %s to be healthy, which has no healthcheck", name, dep)
			}
		}
	}
	for _, dep := range []string{"postgres", "redis", "nats", "psp", "api", "worker"} {
		if c.Services[dep].Healthcheck == nil {
			t.Errorf("%s has no healthcheck", dep)
		}
	}
}

// TestEveryAlertLinksItsRunbookSection holds each alert's runbook_url to a
// section of docs/RUNBOOK.md that exists.
func TestEveryAlertLinksItsRunbookSection(t *testing.T) {
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert       string
				Annotations map[string]string
			}
		}
	}
	if err := yaml.Unmarshal([]byte(read(t, "prometheus/alerts.yaml")), &rules); err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^## (\S+)$`).FindAllStringSubmatch(read(t, "../docs/RUNBOOK.md"), -1) {
		anchors[strings.ToLower(m[1])] = true
	}
	const prefix = "https://github.com/surge-commerce/surge/blob/main/docs/RUNBOOK.md#"
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			url := r.Annotations["runbook_url"]
			if !strings.HasPrefix(url, prefix) || !anchors[strings.TrimPrefix(url, prefix)] {
				t.Errorf("alert %s: runbook_url %q is not a section of docs/RUNBOOK.md", r.Alert, url)
			}
		}
	}
}
