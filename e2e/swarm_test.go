package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
	dockerclient "github.com/docker/docker/client"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/client"
	"github.com/godocker/godocker/executor"
	swarmexec "github.com/godocker/godocker/executor/swarm"
	"github.com/godocker/godocker/executor/swarm/swarmtest"
)

// The swarm executor's end-to-end tests: godockerd configured with the
// swarm executor only, on the local engine made a single-node swarm by
// swarmtest for the test's duration.

const swarmConfig = "executors:\n  - name: swarm\n    type: swarm\n"

// startSwarmServer starts godockerd on the swarm executor. When the test
// ends, after the server has stopped, any service of the server's jobs
// that is left is removed.
func startSwarmServer(t *testing.T) (*server, *dockerclient.Client) {
	t.Helper()
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
	s = startServer(t, swarmConfig)
	return s, cli
}

// removeServices removes the services whose jobs' directories are under
// dir, as the swarm executor does (which also stops their tasks).
func removeServices(t *testing.T, cli *dockerclient.Client, dir string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	svcs, err := cli.ServiceList(ctx, swarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("label", executor.LabelJob))})
	if err != nil {
		t.Errorf("cleanup: list services: %v", err)
		return
	}
	var ex *swarmexec.Executor
	for _, svc := range svcs {
		cs := svc.Spec.TaskTemplate.ContainerSpec
		if cs == nil || !slices.ContainsFunc(cs.Mounts, func(m mount.Mount) bool { return strings.HasPrefix(m.Source, dir) }) {
			continue
		}
		if ex == nil {
			if ex, err = swarmexec.New(ctx, "cleanup", executor.Config{Type: "swarm"}); err != nil {
				t.Errorf("cleanup: %v", err)
				return
			}
			defer ex.Close()
		}
		id, _ := strconv.ParseInt(svc.Spec.Labels[executor.LabelJob], 10, 64)
		attempt, _ := strconv.Atoi(svc.Spec.Labels[executor.LabelAttempt])
		if err := ex.Remove(ctx, &api.Job{ID: id, Attempt: attempt, Container: svc.Spec.Name}); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
}

// serviceOf returns the service of a job's attempt, waiting for it to
// exist (the job is marked running before its service is created).
func serviceOf(t *testing.T, cli *dockerclient.Client, j *api.Job) swarm.Service {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		svc, _, err := cli.ServiceInspectWithRaw(context.Background(), j.Container, swarm.ServiceInspectOptions{})
		if err == nil {
			return svc
		}
		if !cerrdefs.IsNotFound(err) || time.Now().After(deadline) {
			t.Fatalf("service of job %d: %v", j.ID, err)
		}
	}
}

// TestSwarmJobRunsAsItsUser: a job on the swarm executor runs as its
// user, with its limits as the service's, and gdel kills it and removes
// its service.
func TestSwarmJobRunsAsItsUser(t *testing.T) {
	s, cli := startSwarmServer(t)
	alice := lookup(t, "gdtest-alice")
	id := s.submit(alice, "id -u >ids; id -g >>ids; id -G >>ids\necho started\nsleep 300\n", "-l", "h_vmem=96M", "-pe", "smp", "1", "-N", "onswarm")
	j := s.waitState(id, api.Running)
	if j.Executor != "swarm" {
		t.Errorf("job runs on executor %q, want swarm", j.Executor)
	}
	svc := serviceOf(t, cli, j)
	s.wait(id, 60*time.Second, "writing its output", func(*api.Job) bool {
		b, _ := os.ReadFile(filepath.Join(j.Dir, "stdout"))
		return string(b) == "started\n"
	})
	want := fmt.Sprintf("%d\n%d\n", alice.uid, alice.gid)
	for i, g := range alice.groups {
		if i > 0 {
			want += " "
		}
		want += strconv.Itoa(int(g))
	}
	if got := readFile(t, filepath.Join(j.Dir, "ids")); got != want+"\n" {
		t.Errorf("id -u; id -g; id -G in the job: %q, want %q", got, want+"\n")
	}
	if uid := ownerOf(t, filepath.Join(j.Dir, "ids")); uid != alice.uid {
		t.Errorf("the job's file is owned by uid %d, want alice's %d", uid, alice.uid)
	}
	r := svc.Spec.TaskTemplate.Resources
	if r == nil || r.Limits == nil || r.Reservations == nil || r.Limits.NanoCPUs != 1e9 || r.Limits.MemoryBytes != 96<<20 ||
		r.Reservations.NanoCPUs != 1e9 || r.Reservations.MemoryBytes != 96<<20 {
		t.Errorf("service resources %+v: want limits and reservations of 1 cpu and 96M", r)
	}
	if cs := svc.Spec.TaskTemplate.ContainerSpec; cs.User != fmt.Sprintf("%d:%d", alice.uid, alice.gid) || svc.Spec.Labels[executor.LabelUser] != "gdtest-alice" {
		t.Errorf("service user %q, labels %v", cs.User, svc.Spec.Labels)
	}

	if r := s.run(alice, "", "gdel", strconv.FormatInt(id, 10)); r.code != 0 {
		t.Errorf("gdel: %d %s%s", r.code, r.stdout, r.stderr)
	}
	k := s.waitState(id, api.Killed)
	if k.ExitCode == nil || *k.ExitCode != 137 {
		t.Errorf("killed job exit code = %v; want 137 (SIGKILL)", k.ExitCode)
	}
	s.wait(id, 30*time.Second, "without its service", func(*api.Job) bool {
		_, _, err := cli.ServiceInspectWithRaw(context.Background(), j.Container, swarm.ServiceInspectOptions{})
		return cerrdefs.IsNotFound(err)
	})
	if out := s.run(alice, "", "gstat").stdout; regexp.MustCompile(`(?m)^\s*` + strconv.FormatInt(id, 10) + `\s`).MatchString(out) {
		t.Errorf("gstat still lists the deleted job:\n%s", out)
	}
}

// TestSwarmArrayTaskLimit: an array of 6 tasks with -tc 2 never runs more
// than 2 at once, and every task sees its own id.
func TestSwarmArrayTaskLimit(t *testing.T) {
	s, cli := startSwarmServer(t)
	alice := lookup(t, "gdtest-alice")

	// Count alice's running containers while the array runs.
	most := 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			list, err := cli.ContainerList(context.Background(), container.ListOptions{Filters: filters.NewArgs(
				filters.Arg("label", executor.LabelUser+"=gdtest-alice"), filters.Arg("status", "running"))})
			if err == nil {
				most = max(most, len(list))
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
	r := s.run(alice, "echo $SGE_TASK_ID $GODOCKER_TASK_ID\nsleep 1\n", "gsub", "-N", "arr", "-t", "1-6", "-tc", "2")
	if r.code != 0 || !strings.Contains(r.stdout, `.1-6:1 ("arr") has been submitted`) {
		close(stop)
		wg.Wait()
		t.Fatalf("gsub -t: %d %q %q", r.code, r.stdout, r.stderr)
	}
	id, err := strconv.ParseInt(strings.TrimSuffix(strings.Fields(r.stdout)[2], ".1-6:1"), 10, 64)
	if err != nil {
		t.Fatalf("job id in %q: %v", r.stdout, err)
	}
	arr := s.wait(id, 3*time.Minute, "finished", func(j *api.Job) bool { return j.State.Finished() })
	close(stop)
	wg.Wait()
	if arr.State != api.Done || arr.Tasks.Done != 6 {
		t.Fatalf("array: %s %+v %s", arr.State, arr.Tasks, arr.Reason.Message)
	}
	if most > 2 {
		t.Errorf("%d of the array's containers ran at once; -tc 2", most)
	}
	jobs, err := s.api.Jobs(context.Background(), client.Query{Users: []string{"gdtest-alice"}})
	if err != nil {
		t.Fatal(err)
	}
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	seen := map[int64]bool{}
	for _, j := range jobs {
		if j.ArrayID != id {
			continue
		}
		seen[j.TaskID] = true
		task := strconv.FormatInt(j.TaskID, 10)
		if got := readFile(t, filepath.Join(arr.Dir, task, "stdout")); got != task+" "+task+"\n" {
			t.Errorf("task %d wrote %q", j.TaskID, got)
		}
		edges = append(edges, edge{j.Started, 1}, edge{j.Ended, -1})
	}
	if len(seen) != 6 {
		t.Errorf("%d tasks ran; want 6", len(seen))
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta
	})
	now, peak := 0, 0
	for _, e := range edges {
		now += e.delta
		peak = max(peak, now)
	}
	if peak > 2 {
		t.Errorf("%d tasks ran at once by their recorded times; -tc 2", peak)
	}
}

// TestSwarmRestart: godockerd killed -9 while a swarm job runs; the job
// ends while no server runs; the restarted server records its exit code.
func TestSwarmRestart(t *testing.T) {
	s, cli := startSwarmServer(t)
	alice := lookup(t, "gdtest-alice")
	id := s.submit(alice, "sleep 2\necho finished-while-down\nexit 5\n")
	j := s.waitState(id, api.Running)
	svc := serviceOf(t, cli, j)
	s.stop(syscall.SIGKILL)

	// The job's task ends while no server runs.
	ended := func() bool {
		tasks, err := cli.TaskList(context.Background(), swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", svc.ID))})
		return err == nil && len(tasks) == 1 && (tasks[0].Status.State == swarm.TaskStateFailed || tasks[0].Status.State == swarm.TaskStateComplete)
	}
	for deadline := time.Now().Add(60 * time.Second); !ended(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the job's task did not end")
		}
	}
	s.start()

	j = s.waitState(id, api.Failed)
	if j.ExitCode == nil || *j.ExitCode != 5 {
		t.Errorf("exit code recorded after restart = %v; want 5", j.ExitCode)
	}
	if out := readFile(t, filepath.Join(j.Dir, "stdout")); out != "finished-while-down\n" {
		t.Errorf("stdout = %q", out)
	}
	s.wait(id, 30*time.Second, "without its service", func(*api.Job) bool {
		_, _, err := cli.ServiceInspectWithRaw(context.Background(), svc.ID, swarm.ServiceInspectOptions{})
		return cerrdefs.IsNotFound(err)
	})
}
