// Package layering holds the test that enforces Surge's package layering:
// business packages never import a driver or a transport, so the rules of
// the business can be read (and tested) without any of them.
package layering

import (
	"os/exec"
	"strings"
	"testing"
)

// business are the packages that hold Surge's rules.
var business = []string{
	"analytics", "apikey", "audit", "cart", "catalog", "checkout", "customer", "errcode", "event",
	"flashsale", "inventory", "invoice", "notify", "order", "platform", "recommend", "shop",
}

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
	for _, pkg := range business {
		t.Run(pkg, func(t *testing.T) {
			t.Parallel()
			out, err := exec.Command("go", "list", "-deps", "github.com/surge-commerce/surge/internal/"+pkg).CombinedOutput()
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
