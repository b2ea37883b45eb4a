// Package layering holds the tests that enforce Surge's package layering:
// every package has a room and imports only from the rooms its own may
// (rooms_test.go), and domain packages never reach a driver or a transport,
// so the rules of the business can be read (and tested) without any of them.
package layering

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// forbidden are imports a business package must not reach, directly or
// through another package (a module path forbids everything under it).
// database/sql/driver stays allowed: value types such as UUIDs implement
// its interfaces without opening anything.
var forbidden = []string{
	"database/sql", "net/http", "github.com/jackc/pgx", "modernc.org/sqlite",
	"github.com/nats-io", "github.com/redis/go-redis",
	"github.com/surge-commerce/surge/internal/store", "github.com/surge-commerce/surge/internal/httpapi",
}

func TestBusinessPackagesImportNoDriver(t *testing.T) {
	t.Parallel()
	for pkg, room := range rooms {
		if room != domain {
			continue
		}
		t.Run(pkg, func(t *testing.T) {
			t.Parallel()
			out, err := exec.Command("go", "list", "-deps", module+pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list: %v\n%s", err, out)
			}
			for _, dep := range strings.Fields(string(out)) {
				for _, f := range forbidden {
					if dep == f || (strings.Contains(f, ".") && strings.HasPrefix(dep, f+"/")) {
						t.Errorf("%s imports %s", pkg, dep)
					}
				}
			}
		})
	}
}

// TestDependencyListIsReviewed keeps docs/adr/0007-dependencies.md true:
// every module go.mod requires directly is listed there at its version.
func TestDependencyListIsReviewed(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{if not .Indirect}}{{if not .Main}}{{.Path}} {{.Version}}{{end}}{{end}}", "all").Output()
	if err != nil {
		t.Fatal(err)
	}
	adr, err := os.ReadFile("../../docs/adr/0007-dependencies.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, version, _ := strings.Cut(line, " ")
		if path == "" {
			continue
		}
		if !strings.Contains(string(adr), "| `"+path+"` | "+version+" |") {
			t.Errorf("go.mod requires %s %s, which docs/adr/0007-dependencies.md does not list at that version", path, version)
		}
	}
}
