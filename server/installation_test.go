package server

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/config"
	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/executor/sim"
	"github.com/godocker/godocker/store"
)

// recorded are the installations the executors of type "sim-recorder"
// were opened with, by executor name.
var recorded struct {
	sync.Mutex
	installations map[string]string
}

func init() {
	recorded.installations = map[string]string{}
	executor.Register("sim-recorder", func(_ context.Context, name string, cfg executor.Config) (executor.Executor, error) {
		recorded.Lock()
		recorded.installations[name] = cfg.Installation
		recorded.Unlock()
		return sim.Open(name, cfg)
	})
}

// openServer opens a server as godockerd does (Open), on a sqlite store
// in stateDir, with two executors of type sim-recorder named with prefix;
// it is closed when the test ends.
func openServer(t *testing.T, stateDir, prefix string) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.StateDir = stateDir
	cfg.SharedDir = filepath.Join(t.TempDir(), "jobs")
	cfg.Store = config.Store{Driver: "sqlite", DSN: filepath.Join(stateDir, "godocker.db")}
	cfg.Executors = []executor.Config{{Name: prefix + "-a", Type: "sim-recorder"}, {Name: prefix + "-b", Type: "sim-recorder"}}
	srv, closeAll, err := Open(t.Context(), cfg, slog.New(slog.NewTextHandler(testLog(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeAll)
	return srv
}

// TestOpenGivesTheInstallation: Open reads the store's installation id,
// keeps it and gives it to every executor; two servers on one store have
// the same, a server on another store another.
func TestOpenGivesTheInstallation(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	one := openServer(t, filepath.Join(dir, "one"), "one")
	again := openServer(t, filepath.Join(dir, "one"), "again")
	other := openServer(t, filepath.Join(dir, "other"), "other")

	id, err := one.store.Setting(t.Context(), store.SettingInstallation)
	if err != nil || id == "" {
		t.Fatalf("installation of the store = %q, %v", id, err)
	}
	if one.installation != id || again.installation != id {
		t.Errorf("servers of one store have installations %q and %q, want the store's %q", one.installation, again.installation, id)
	}
	if other.installation == "" || other.installation == id {
		t.Errorf("server of another store has installation %q, want one of its own (not %q)", other.installation, id)
	}
	recorded.Lock()
	defer recorded.Unlock()
	for name, want := range map[string]string{
		"one-a": id, "one-b": id, "again-a": id, "again-b": id,
		"other-a": other.installation, "other-b": other.installation,
	} {
		if got, ok := recorded.installations[name]; !ok || got != want {
			t.Errorf("executor %s opened with installation %q (opened: %v), want %q", name, got, ok, want)
		}
	}
}

// TestContainerOfTheInstallation: the server records the container of an
// attempt it marks running, a job's or an array task's, under the name
// its executors give it (executor.ContainerName with its installation).
func TestContainerOfTheInstallation(t *testing.T) {
	const inst = "0123456789ab"
	h := newHarness(t, nil, func(s *Server) { s.installation = inst })
	j := h.waitState(h.submit(h.alice, script("sleep")).ID, api.Running)
	if want := fmt.Sprintf("godocker-%s-%d-1", inst, j.ID); j.Container != want {
		t.Errorf("running job's container %q, want %q", j.Container, want)
	}
	a := h.submit(h.alice, arraySpec(1, 1, 1, 0))
	task := h.waitTask(a.ID, 1, api.Running)
	if want := fmt.Sprintf("godocker-%s-%d-1", inst, task.ID); task.Container != want {
		t.Errorf("running task's container %q, want %q", task.Container, want)
	}
}
