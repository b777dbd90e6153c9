package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/client"
	"github.com/godocker/godocker/cluster/redis/redistest"
)

// masterTimeout is the leader lease of the cluster tests: short, so that
// a take-over is quick to see.
const masterTimeout = 2 * time.Second

// startPeer starts a second godockerd on the first one's store (the same
// sqlite file: the only store two processes can share here) and shared
// directory, with a socket of its own.
func startPeer(t *testing.T, first *server, extraConfig string) *server {
	t.Helper()
	s := &server{t: t, dir: first.dir, socket: filepath.Join(first.dir, "peer.sock"), config: filepath.Join(first.dir, "peer.yaml")}
	cfg := fmt.Sprintf("state_dir: %s/state\nshared_dir: %s/jobs\nsocket: %s\nlog_level: debug\nscheduler:\n  interval: 2s\n  reconcile: 2s\nssh_gateway:\n  listen: \"\"\n%s",
		first.dir, first.dir, s.socket, extraConfig)
	if err := os.WriteFile(s.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	s.api = client.New(s.socket)
	s.start()
	t.Cleanup(func() {
		s.stop(syscall.SIGTERM)
		if t.Failed() {
			t.Logf("peer godockerd log:\n%s", s.log)
		}
	})
	return s
}

// leads reports whether s's log says it won the scheduler's lead.
func leads(s *server) bool { return strings.Contains(s.log.String(), "this process leads") }

// TestClusterTwoServers: two godockerd on one store and one Redis. Only
// one schedules; jobs submitted to either run exactly once; events of one
// reach the clients of the other; gctl status lists both; the leader
// killed -9 is replaced within its lease; Redis stopped for a while loses
// no job, and scheduling resumes when it is back.
func TestClusterTwoServers(t *testing.T) {
	if skipAll != "" {
		t.Skip(skipAll)
	}
	rd := redistest.Start(t)
	extra := fmt.Sprintf("redis:\n  addr: %s\nmaster_timeout: %s\n", rd.Addr, masterTimeout)
	a := startServer(t, extra)
	b := startPeer(t, a, extra)
	alice := lookup(t, "gdtest-alice")

	// One leader, two processes.
	deadline := time.Now().Add(3 * masterTimeout)
	for !leads(a) && !leads(b) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if leads(a) == leads(b) {
		t.Fatalf("leaders: first %v, second %v; want exactly one", leads(a), leads(b))
	}
	r := a.run(alice, "", "gctl", "status")
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); r.code != 0 || len(lines) != 3 || strings.Count(r.stdout, " *\n") != 1 {
		t.Errorf("gctl status: want a header, two processes and one leader:\n%s%s", r.stdout, r.stderr)
	}

	// Events of one server reach a client of the other.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	events, err := b.api.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Jobs submitted to either run once each: each appends a line to a
	// file of its own.
	script := "echo ran >>\"$GODOCKER_JOB_DIR/runs\"\n"
	var ids []int64
	for i := range 6 {
		s := a
		if i%2 == 1 {
			s = b
		}
		ids = append(ids, s.submit(alice, script))
	}
	sawOnB := false
	for !sawOnB {
		select {
		case ev := <-events:
			sawOnB = ev.Job != nil && ev.Job.ID == ids[0]
		case <-ctx.Done():
			t.Fatalf("a client of the second server saw no event of job %d, submitted to the first", ids[0])
		}
	}
	for _, id := range ids {
		j := a.waitState(id, api.Done)
		if runs := readFile(t, filepath.Join(j.Dir, "runs")); runs != "ran\n" || j.Attempt != 1 {
			t.Errorf("job %d ran %d times (attempt %d), want once", id, strings.Count(runs, "ran"), j.Attempt)
		}
	}

	// kill -9 the leader: the other takes over within the lease.
	leader, other := a, b
	if leads(b) {
		leader, other = b, a
	}
	leader.stop(syscall.SIGKILL)
	killed := time.Now()
	for !leads(other) {
		if time.Since(killed) > masterTimeout+3*time.Second {
			t.Fatalf("the survivor did not take the lead within %v of the leader's death:\n%s", masterTimeout, other.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("take-over %v after kill -9 (lease %v)", time.Since(killed).Round(10*time.Millisecond), masterTimeout)
	other.waitState(other.submit(alice, script), api.Done)

	// Redis away for longer than the lease: no job is lost; the lead is
	// given up, won again when Redis is back, and the job runs.
	rd.Stop()
	id := other.submit(alice, script)
	time.Sleep(masterTimeout + time.Second)
	if !regexp.MustCompile(`lost the scheduler's lead`).MatchString(other.log.String()) {
		t.Errorf("the leader kept the lead with Redis gone for %v", masterTimeout+time.Second)
	}
	rd.Restart()
	j := other.waitState(id, api.Done)
	if runs := readFile(t, filepath.Join(j.Dir, "runs")); runs != "ran\n" {
		t.Errorf("job %d submitted while Redis was down ran %d times", id, strings.Count(runs, "ran"))
	}
	if r := other.run(alice, "", "gstat", "-s", "z", "--json"); strings.Count(r.stdout, `"state": "done"`) != len(ids)+2 {
		t.Errorf("gstat -s z lists %d done jobs, want %d:\n%s", strings.Count(r.stdout, `"state": "done"`), len(ids)+2, r.stdout)
	}
}
