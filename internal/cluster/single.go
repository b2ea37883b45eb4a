package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/surge-commerce/surge/internal/procgroup"
)

// Single is one `surge serve` on SQLite with its embedded broker and
// payment simulator: Surge as a small shop runs it, without the topology.
// The SQLite drills break its disk and its database file.
type Single struct {
	*Component
	AdminKey string
	// Data is the process's data directory (surge.db, the broker's store).
	Data string
}

// StartSingle starts `surge serve` with its data in data and its log in
// dir, and returns when it answers /readyz. env is added to its settings.
func StartSingle(ctx context.Context, bin, dir, data string, env []string) (*Single, error) {
	secrets, err := newSecrets()
	if err != nil {
		return nil, err
	}
	addr, err := procgroup.FreeAddr()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	s := &Single{AdminKey: secrets.admin, Data: data, Component: &Component{
		Name: "surge",
		URL:  "http://" + addr,
		spec: spec{name: bin, log: filepath.Join(dir, "surge.log"), args: []string{"serve"},
			env: append(append([]string{}, env...), "SURGE_ADDR="+addr, "SURGE_DATA="+data, "SURGE_ADMIN_KEY="+secrets.admin)},
		ready: httpOK("http://" + addr + "/readyz"),
	}}
	if err := s.Start(ctx); err != nil {
		return nil, fmt.Errorf("surge serve on SQLite: %w", err)
	}
	return s, nil
}

// Front is where the load goes and the key it sets its shop up with.
func (s *Single) Front() (url, adminKey string) { return s.URL, s.AdminKey }
