// Package swarmtest makes the local Docker engine a single-node swarm for
// the tests that need one (executor/swarm's, the end-to-end tests of the
// swarm executor), and leaves the swarm once the last of them has ended,
// if the tests created it.
//
// Several test processes may use the engine at once (go test runs
// packages in parallel), so they coordinate through a lock file in
// os.TempDir(): each process holds a shared lock while it uses the swarm;
// it creates the swarm, if there is none, under an exclusive lock, and
// writes a marker file that says the tests created it. When the last test
// of a process is done, the process releases its shared lock and tries
// for an exclusive one without waiting: if it gets it, nobody else uses
// the swarm, and it leaves the swarm if the marker says tests created it.
// A swarm that existed before the tests is never left.
package swarmtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"golang.org/x/sys/unix"
)

// Files in os.TempDir() that the test processes share.
const (
	lockName   = "godocker-swarmtest.lock"
	markerName = "godocker-swarmtest.json"
)

// gwbridge is the network the engine creates for swarm tasks on overlay
// networks, and keeps after it left the swarm.
const gwbridge = "docker_gwbridge"

// lockWait bounds the wait for another process's swarm init or leave.
const lockWait = 2 * time.Minute

// marker is what the process that created the swarm wrote.
type marker struct {
	Node     string `json:"node"`     // the node id of the swarm it created
	Gwbridge bool   `json:"gwbridge"` // docker_gwbridge existed before
}

var (
	mu    sync.Mutex
	users int            // tests of this process using the swarm
	lock  *os.File       // the lock file, shared-locked while users > 0
	cli   *client.Client // the local engine, while users > 0
)

// errNoEngine: no Docker engine answers.
var errNoEngine = errors.New("no Docker engine")

// Ensure returns a client of the local Docker engine (DOCKER_HOST, or the
// default socket), which is the manager of a swarm until the test ends:
// if the engine is in no swarm, Ensure creates a single-node one (listen
// and advertise address 127.0.0.1). The client is shared by the tests of
// the process: do not close it. Without an engine the test is skipped,
// except under CI (CI=true) where that is a failure; an engine that is a
// swarm worker, or in a swarm it cannot use, skips the test too.
func Ensure(t testing.TB) *client.Client {
	t.Helper()
	c, err := acquire()
	if err != nil {
		if os.Getenv("CI") != "true" && errors.Is(err, errNoEngine) {
			t.Skipf("swarmtest: %v", err)
		}
		t.Fatalf("swarmtest: %v", err)
	}
	t.Cleanup(func() {
		if err := release(); err != nil {
			t.Errorf("swarmtest: %v", err)
		}
	})
	return c
}

// acquire makes this process a user of the swarm.
func acquire() (*client.Client, error) {
	mu.Lock()
	defer mu.Unlock()
	if users > 0 {
		users++
		return cli, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), lockWait)
	defer cancel()
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	if _, err := c.Ping(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("%w answers at %s (make deps starts one): %v", errNoEngine, c.DaemonHost(), err)
	}
	f, err := os.OpenFile(filepath.Join(os.TempDir(), lockName), os.O_RDONLY|os.O_CREATE, 0o666) // flock needs no write access
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("open the lock file: %w", err)
	}
	if err := join(ctx, c, f); err != nil {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
		c.Close()
		return nil, err
	}
	users, lock, cli = 1, f, c
	return c, nil
}

// join takes the shared lock on f and makes sure the engine is a swarm
// manager, creating the swarm under the exclusive lock if need be.
func join(ctx context.Context, c *client.Client, f *os.File) error {
	if err := flock(ctx, f, unix.LOCK_SH); err != nil {
		return err
	}
	for {
		info, err := c.Info(ctx)
		if err != nil {
			return fmt.Errorf("docker info: %w", err)
		}
		switch s := info.Swarm; {
		case s.LocalNodeState == swarm.LocalNodeStateActive && s.ControlAvailable:
			return nil
		case s.LocalNodeState == swarm.LocalNodeStateActive:
			return fmt.Errorf("%w that can run swarm tests: the engine is a worker of a swarm, not a manager", errNoEngine)
		case s.LocalNodeState != swarm.LocalNodeStateInactive:
			return fmt.Errorf("%w that can run swarm tests: the engine's swarm is %s (docker info)", errNoEngine, s.LocalNodeState)
		}
		// No swarm: create one, alone. Converting a lock is not atomic:
		// another process may create it in between, so look again.
		if err := unix.Flock(int(f.Fd()), unix.LOCK_UN); err != nil {
			return fmt.Errorf("unlock %s: %w", f.Name(), err)
		}
		if err := flock(ctx, f, unix.LOCK_EX); err != nil {
			return err
		}
		err = create(ctx, c)
		if uerr := unix.Flock(int(f.Fd()), unix.LOCK_UN); err == nil && uerr != nil {
			err = fmt.Errorf("unlock %s: %w", f.Name(), uerr)
		}
		if err != nil {
			return err
		}
		if err := flock(ctx, f, unix.LOCK_SH); err != nil {
			return err
		}
	}
}

// create makes the engine the manager of a new single-node swarm, unless
// it is in a swarm already, and writes the marker. The caller holds the
// exclusive lock.
func create(ctx context.Context, c *client.Client) error {
	info, err := c.Info(ctx)
	if err != nil {
		return fmt.Errorf("docker info: %w", err)
	}
	if info.Swarm.LocalNodeState != swarm.LocalNodeStateInactive {
		return nil // created by another process meanwhile; join looks at it
	}
	_, gwErr := c.NetworkInspect(ctx, gwbridge, network.InspectOptions{})
	node, err := c.SwarmInit(ctx, swarm.InitRequest{ListenAddr: "127.0.0.1:2377", AdvertiseAddr: "127.0.0.1"})
	if err != nil {
		return fmt.Errorf("docker swarm init: %w", err)
	}
	b, _ := json.Marshal(marker{Node: node, Gwbridge: gwErr == nil})
	if err := os.WriteFile(filepath.Join(os.TempDir(), markerName), b, 0o644); err != nil {
		c.SwarmLeave(ctx, true)
		return fmt.Errorf("write the marker of the swarm the tests created: %w", err)
	}
	// Tasks are placed once the node is ready.
	for {
		n, _, err := c.NodeInspectWithRaw(ctx, node)
		if err == nil && n.Status.State == swarm.NodeStateReady {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the swarm's node is not ready: %w (%v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// release ends a test's use of the swarm; the process's last one leaves
// the swarm if nobody else uses it and tests created it.
func release() error {
	mu.Lock()
	defer mu.Unlock()
	users--
	if users > 0 {
		return nil
	}
	f, c := lock, cli
	lock, cli = nil, nil
	defer c.Close()
	defer f.Close()
	fd := int(f.Fd())
	if err := unix.Flock(fd, unix.LOCK_UN); err != nil {
		return fmt.Errorf("unlock %s: %w", f.Name(), err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return nil // another process uses the swarm: the last one leaves it
	}
	defer unix.Flock(fd, unix.LOCK_UN)
	ctx, cancel := context.WithTimeout(context.Background(), lockWait)
	defer cancel()
	return leave(ctx, c)
}

// leave leaves the swarm if the marker says tests created it, and removes
// what the engine keeps of it. The caller holds the exclusive lock.
func leave(ctx context.Context, c *client.Client) error {
	path := filepath.Join(os.TempDir(), markerName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // not ours
	}
	if err != nil {
		return fmt.Errorf("read the swarm marker: %w", err)
	}
	var m marker
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("read the swarm marker %s: %w", path, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return fmt.Errorf("docker info: %w", err)
	}
	if info.Swarm.NodeID == m.Node && info.Swarm.LocalNodeState != swarm.LocalNodeStateInactive {
		if err := c.SwarmLeave(ctx, true); err != nil {
			return fmt.Errorf("docker swarm leave --force: %w", err)
		}
		if !m.Gwbridge {
			if err := removeNetwork(ctx, c, gwbridge); err != nil {
				return err
			}
		}
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove the swarm marker: %w", err)
	}
	return nil
}

// removeNetwork removes the network name the swarm created, once the
// engine has detached what the swarm left on it.
func removeNetwork(ctx context.Context, c *client.Client, name string) error {
	for deadline := time.Now().Add(10 * time.Second); ; {
		err := c.NetworkRemove(ctx, name)
		if err == nil || cerrdefs.IsNotFound(err) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("remove network %s the swarm created: %w", name, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("remove network %s the swarm created: %w (%v)", name, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// flock takes the lock how on f, waiting until ctx ends.
func flock(ctx context.Context, f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("lock %s: another test process holds it: %w", f.Name(), ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
