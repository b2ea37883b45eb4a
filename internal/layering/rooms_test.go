package layering

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Every package of the module lives in one room, and a room may import
// only from the rooms listed for it. A new package fails this test until
// it declares its room here: the table is the architecture, read in one
// place.
const (
	support = "support" // small, driverless building blocks
	domain  = "domain"  // the rules of the business (no driver, no transport)
	adapter = "adapter" // persistence, broker, cache and provider clients, consumers
	edge    = "edge"    // the HTTP interface and its gateway protection
	runtime = "runtime" // wiring, configuration and the commands
	tool    = "tool"    // simulators, load and fault tools, test rigs, benchmarks
)

// mayImport lists, per room, the rooms its packages may import.
var mayImport = map[string][]string{
	support: {support},
	domain:  {support, domain},
	adapter: {support, domain, adapter},
	edge:    {support, domain, edge},
	runtime: {support, domain, adapter, edge, runtime, tool},
	tool:    {support, domain, adapter, edge, runtime, tool},
}

// rooms classifies every package by its path in the module.
var rooms = map[string]string{
	"internal/apikey": support, "internal/worker/batch": support, "internal/cache": support,
	"internal/errcode": support, "internal/payment/simulator/fifo": support, "internal/tracing/tracectx": support,
	"internal/tracing": support, "internal/precondition": support, "internal/payment/wire": support,
	"internal/procgroup": support,

	"internal/analytics": domain, "internal/audit": domain, "internal/cart": domain,
	"internal/catalog": domain, "internal/checkout": domain, "internal/customer": domain,
	"internal/event": domain, "internal/flashsale": domain, "internal/inventory": domain,
	"internal/invoice": domain, "internal/notify": domain, "internal/order": domain,
	"internal/platform": domain, "internal/recommend": domain, "internal/shop": domain,

	"internal/backup": adapter, "internal/broker": adapter, "internal/mailer": adapter, "internal/payment/client": adapter,
	"internal/cache/redis": adapter, "internal/relay": adapter, "internal/store": adapter,
	"internal/store/postgres": adapter, "internal/store/sqlite": adapter, "internal/worker": adapter,

	"internal/gateway/connlimit": edge, "internal/httpapi": edge, "internal/gateway/loadshed": edge, "internal/web": edge,
	"internal/gateway/ratelimit": edge,

	"cmd/surge": runtime, "internal/app": runtime, "internal/config": runtime, "internal/datadir": runtime,
	"internal/demo": runtime,

	"internal/payment/simulator": tool, "internal/loadtest": tool, "internal/explore": tool,
	"internal/explore/e2e": tool, "internal/testrig": tool, "internal/store/storetest": tool,
	"internal/layering": tool, "deploy": tool, "internal/cluster": tool, "internal/drill": tool,
	"bench/catalog": tool, "bench/checkout": tool, "bench/console": tool, "bench/pow": tool, "bench/envelope": tool, "bench/events": tool,
	"bench/flashsale": tool, "bench/topology": tool, "bench/flush": tool, "bench/loadgen": tool, "bench/overload": tool, "bench/rules": tool,
}

// exceptions are imports across rooms the table does not allow, each with
// what it is waiting for. The list only shrinks.
var exceptions = map[string]string{}

const module = "github.com/surge-commerce/surge/"

func TestEveryPackageHasARoom(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}:{{join .Imports \" \"}}", module+"...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	seen := map[string]bool{}
	used := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		pkg = strings.TrimPrefix(pkg, module)
		seen[pkg] = true
		room, ok := rooms[pkg]
		if !ok {
			t.Errorf("%s has no room: add it to rooms in internal/layering/rooms_test.go", pkg)
			continue
		}
		for _, imp := range strings.Fields(imports) {
			dep, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue
			}
			depRoom := rooms[dep]
			if slices.Contains(mayImport[room], depRoom) {
				continue
			}
			if _, ok := exceptions[pkg+" -> "+dep]; ok {
				used[pkg+" -> "+dep] = true
				continue
			}
			t.Errorf("%s (%s) imports %s (%s): a %s package may import only %v", pkg, room, dep, depRoom, room, mayImport[room])
		}
	}
	for pkg := range rooms {
		if !seen[pkg] {
			t.Errorf("rooms lists %s, which no longer exists", pkg)
		}
	}
	for e := range exceptions {
		if !used[e] {
			t.Errorf("exception %q is no longer needed: remove it", e)
		}
	}
}
