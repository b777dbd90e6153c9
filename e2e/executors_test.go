package e2e

import (
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor/swarm/swarmtest"
)

// TestSeveralExecutors: one godockerd with the local engine and a swarm
// on it. A job runs on the first executor unless it names another (gsub
// -q); the swarm takes only one project's jobs; gstat says where each job
// runs and -q lists one executor's.
func TestSeveralExecutors(t *testing.T) {
	if skipAll != "" {
		t.Skip(skipAll)
	}
	cli := swarmtest.Ensure(t)
	var s *server
	t.Cleanup(func() {
		if s != nil {
			removeServices(t, cli, s.dir)
		}
	})
	s = startServer(t, "executors:\n  - name: local\n    type: docker\n  - name: swarm\n    type: swarm\n    projects: [bio]\n")
	alice, bob := lookup(t, "gdtest-alice"), lookup(t, "gdtest-bob")
	root := account{name: "root", uid: 0, gid: 0, home: "/root"}
	if r := s.run(root, "", "gctl", "project", "add", "bio", "--members", "gdtest-alice"); r.code != 0 {
		t.Fatalf("gctl project add: %d %s%s", r.code, r.stdout, r.stderr)
	}

	// Refusals, before anything runs.
	for _, tc := range []struct {
		who  account
		args []string
		says string
	}{
		{alice, []string{"-q", "nope"}, `executor "nope" is not configured; executors: local, swarm`},
		{alice, []string{"-q", "swarm"}, "executor swarm runs only jobs of the projects bio"},
		{bob, []string{"-q", "swarm", "-P", "bio"}, "not a member of project bio"},
		{alice, []string{"-q", "swarm@node1", "-P", "bio"}, "GoDocker's scheduler chooses the node"},
	} {
		if r := s.run(tc.who, "true\n", "gsub", tc.args...); r.code == 0 || !strings.Contains(r.stderr, tc.says) {
			t.Errorf("%s: gsub %q: exit %d %q; want refused saying %q", tc.who.name, tc.args, r.code, r.stderr, tc.says)
		}
	}
	if r := s.run(root, "", "gstat", "-u", "*", "-s", "a", "--json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("refused submissions left jobs:\n%s", r.stdout)
	}

	onSwarm := s.submit(alice, "id -u\nsleep 300\n", "-q", "swarm", "-P", "bio", "-N", "onswarm")
	local := s.submit(alice, "sleep 300\n", "-P", "bio", "-N", "onlocal")
	sj, lj := s.waitState(onSwarm, api.Running), s.waitState(local, api.Running)
	if sj.Executor != "swarm" || lj.Executor != "local" {
		t.Fatalf("jobs run on %q and %q, want swarm and local", sj.Executor, lj.Executor)
	}
	// Each on its own platform: a service for one, a plain container for
	// the other.
	serviceOf(t, cli, sj)
	if _, _, err := cli.ServiceInspectWithRaw(context.Background(), lj.Container, swarm.ServiceInspectOptions{}); err == nil {
		t.Errorf("the local job %d has a swarm service", local)
	}
	// (The job is marked running just before its container is created.)
	s.wait(local, 30*time.Second, "in its container", func(*api.Job) bool {
		c, err := cli.ContainerInspect(context.Background(), lj.Container)
		return err == nil && c.State != nil && c.State.Running
	})
	s.wait(onSwarm, time.Minute, "writing its uid", func(*api.Job) bool {
		b, _ := os.ReadFile(sj.Stdout)
		return string(b) == strconv.Itoa(alice.uid)+"\n"
	})

	// gstat's queue column: executor@node.
	r := s.run(alice, "", "gstat")
	for id, queue := range map[int64]string{onSwarm: "swarm@" + sj.Node, local: "local@" + lj.Node} {
		if !regexp.MustCompile(`(?m)^ *` + strconv.FormatInt(id, 10) + ` .* r +\S+ \S+ +` + regexp.QuoteMeta(queue) + ` `).MatchString(r.stdout) {
			t.Errorf("gstat: no row of job %d in queue %s:\n%s", id, queue, r.stdout)
		}
	}
	r = s.run(alice, "", "gstat", "-q", "swarm")
	if !strings.Contains(r.stdout, "onswarm") || strings.Contains(r.stdout, "onlocal") {
		t.Errorf("gstat -q swarm:\n%s", r.stdout)
	}
	if r := s.run(alice, "", "gstat", "-j", strconv.FormatInt(onSwarm, 10)); !regexp.MustCompile(`(?m)^executor: +swarm$`).MatchString(r.stdout) {
		t.Errorf("gstat -j does not say the job runs on swarm:\n%s", r.stdout)
	}
	// Suspending is not something a swarm can do: the user is told.
	if r := s.run(alice, "", "gctl", "suspend", strconv.FormatInt(onSwarm, 10)); r.code == 0 || !strings.Contains(r.stderr, "executor swarm cannot suspend jobs") {
		t.Errorf("gctl suspend of a swarm job: %d %q", r.code, r.stderr)
	}
	for _, id := range []int64{onSwarm, local} {
		s.run(alice, "", "gdel", strconv.FormatInt(id, 10))
	}
	s.waitState(onSwarm, api.Killed)
	s.waitState(local, api.Killed)
}
