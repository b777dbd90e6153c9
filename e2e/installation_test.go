package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
)

// TestTwoInstallations: two godockerd on one engine, each with a store
// of its own (two test servers, or these tests beside bench/sysbench),
// both run their job 1. Each runs in a container of its own, as its own
// user, with its own script; deleting one kills its container only, and
// the other ends as its script says.
func TestTwoInstallations(t *testing.T) {
	a, b := startServer(t, ""), startServer(t, "")
	alice, bob := lookup(t, "gdtest-alice"), lookup(t, "gdtest-bob")
	ida := a.submit(alice, "echo alice-ran\nsleep 300\n")
	idb := b.submit(bob, "echo bob-ran\nsleep 6\nexit 4\n")
	if ida != idb {
		t.Fatalf("job ids %d and %d: two fresh stores should both hand out the same first id", ida, idb)
	}
	ja, jb := a.waitState(ida, api.Running), b.waitState(idb, api.Running)
	for _, c := range []struct {
		s    *server
		j    *api.Job
		want string
	}{{a, ja, "alice-ran\n"}, {b, jb, "bob-ran\n"}} {
		c.s.wait(c.j.ID, 30*time.Second, "writing its output", func(*api.Job) bool {
			out, _ := os.ReadFile(filepath.Join(c.j.Dir, "stdout"))
			return string(out) == c.want
		})
	}
	if ja.Container == jb.Container {
		t.Errorf("both installations' job %d run in container %s", ida, ja.Container)
	}

	if r := a.run(alice, "", "gdel", strconv.FormatInt(ida, 10)); r.code != 0 {
		t.Fatalf("gdel: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if k := a.waitState(ida, api.Killed); k.ExitCode == nil || *k.ExitCode != 137 {
		t.Errorf("alice's killed job: exit code %v, want 137", k.ExitCode)
	}
	if j, err := b.api.Job(t.Context(), api.JobRef{ID: idb}); err != nil {
		t.Error(err)
	} else if j.State != api.Running {
		t.Errorf("bob's job once alice's was killed: %s (%s), want still running", j.State, j.Reason.Message)
	}
	f := b.waitState(idb, api.Failed)
	if f.ExitCode == nil || *f.ExitCode != 4 {
		t.Errorf("bob's job: exit code %v, want its script's 4", f.ExitCode)
	}
}
