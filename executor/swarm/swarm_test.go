package swarm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dswarm "github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/executor/executortest"
	"github.com/godocker/godocker/executor/swarm"
	"github.com/godocker/godocker/executor/swarm/swarmtest"
)

// These tests run against the real Docker engine (DOCKER_HOST or the
// default socket), made a single-node swarm by swarmtest for their
// duration. Without an engine they are skipped, except in CI (CI=true)
// where a missing engine is a failure.

const image = "godocker/base:latest"

// The uid and groups jobs run as: nobody on this machine, which is the
// point.
const (
	uid   = 12345
	gid   = 12345
	group = 12346
)

// open returns a swarm executor of the local engine, a swarm manager
// until the test ends, with the test image present.
func open(t testing.TB, cfg executor.Config) *swarm.Executor {
	t.Helper()
	cli := swarmtest.Ensure(t)
	ensureImage(t, cli)
	cfg.Type = "swarm"
	ex, err := swarm.New(ctx(t), "swarm", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ex.Close() })
	return ex
}

var imageOnce sync.Once

// ensureImage builds the test image with images/base/build.sh if the
// engine does not have it.
func ensureImage(t testing.TB, cli *client.Client) {
	t.Helper()
	var err error
	imageOnce.Do(func() {
		if _, err = cli.ImageInspect(ctx(t), image); !cerrdefs.IsNotFound(err) {
			return
		}
		script, _ := filepath.Abs("../../images/base/build.sh")
		var out []byte
		if out, err = exec.Command("sh", script, image).CombinedOutput(); err != nil {
			err = fmt.Errorf("%s is missing and %s failed (%v): %s; run make image", image, script, err, out)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ctx is a context for one test's calls to the engine.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// newJob returns a job of the test user that runs argv in the test image.
// It reserves no cpu: the tests run many jobs at once on a small machine.
func newJob(argv ...string) *api.Job {
	return &api.Job{
		ID: executortest.NewID(), Attempt: 1, Name: "test", User: "tester", Project: "testing",
		UID: uid, GID: gid, Group: "testers", Groups: []int{group}, Home: "/home/tester",
		Run: &api.Run{
			Image: image, Argv: argv, WorkDir: "/tmp", Env: []string{"GODOCKER_TEST=1"},
			UID: uid, GID: gid, Groups: []int{group}, User: "tester", Group: "testers", Home: "/home/tester",
			Memory: 64 << 20, Pids: 256,
		},
	}
}

// program expresses the suite's programs as shell commands.
func program(_ *testing.T, p executortest.Program) *api.Job {
	if p.Forever {
		return newJob("sleep", "300")
	}
	return newJob("sh", "-c", fmt.Sprintf("exit %d", p.Exit))
}

func TestConformance(t *testing.T) {
	t.Parallel()
	executortest.Run(t, executortest.Harness{Executor: open(t, executor.Config{}), NewJob: program})
}

// start starts j and removes its service when the test ends.
func start(t testing.TB, ex *swarm.Executor, j *api.Job, p executor.Placement) {
	t.Helper()
	t.Cleanup(func() {
		if err := ex.Remove(context.Background(), j); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	if err := ex.Start(ctx(t), j, p); err != nil {
		t.Fatal(err)
	}
}

// run starts j, waits for it to exit and returns what Inspect says.
func run(t *testing.T, ex *swarm.Executor, j *api.Job) executor.Status {
	t.Helper()
	ev := executortest.Watch(t, ex)
	start(t, ex, j, executor.Placement{})
	ev.Expect(t, j, executor.Started, executor.Exited)
	st, err := ex.Inspect(ctx(t), j)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// running starts j and waits for its Started event.
func running(t *testing.T, ex *swarm.Executor, j *api.Job) {
	t.Helper()
	ev := executortest.Watch(t, ex)
	start(t, ex, j, executor.Placement{})
	ev.Expect(t, j, executor.Started)
}

// TestServiceSpec checks the service that Start creates for a job.
func TestServiceSpec(t *testing.T) {
	t.Parallel()
	ex := open(t, executor.Config{NodeSelector: map[string]string{"godocker.pool": "batch"}})
	j := newJob("sleep", "300")
	j.Run.CPUs, j.Run.Memory, j.Run.Pids = 1, 96<<20, 100
	j.Run.Mounts = []api.Mount{{Source: t.TempDir(), Target: "/ro", ReadOnly: true}, {Source: t.TempDir(), Target: "/rw"}}
	// The node has no such labels: the task stays pending, which is all
	// this test needs.
	start(t, ex, j, executor.Placement{Node: nodeName(t, ex), Labels: map[string]string{"godocker.reserved": "alice"}})
	svc, _, err := ex.Client().ServiceInspectWithRaw(ctx(t), executor.ContainerName("", j), dswarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := svc.Spec
	if rj := s.Mode.ReplicatedJob; rj == nil || rj.MaxConcurrent == nil || *rj.MaxConcurrent != 1 || rj.TotalCompletions == nil || *rj.TotalCompletions != 1 {
		t.Errorf("mode %+v, want a replicated job of one task, one completion", s.Mode)
	}
	tt := s.TaskTemplate
	if tt.RestartPolicy == nil || tt.RestartPolicy.Condition != dswarm.RestartPolicyConditionNone {
		t.Errorf("restart policy %+v, want condition none", tt.RestartPolicy)
	}
	if r := tt.Resources; r == nil || r.Limits == nil || r.Reservations == nil ||
		r.Limits.NanoCPUs != 1e9 || r.Limits.MemoryBytes != 96<<20 || r.Limits.Pids != 100 ||
		r.Reservations.NanoCPUs != 1e9 || r.Reservations.MemoryBytes != 96<<20 {
		t.Errorf("resources %+v %+v, want limits and reservations of 1 cpu and 96M, pids 100", r.Limits, r.Reservations)
	}
	wantConstraints := []string{"node.hostname==" + nodeName(t, ex), "node.labels.godocker.pool==batch", "node.labels.godocker.reserved==alice"}
	if tt.Placement == nil || !slices.Equal(tt.Placement.Constraints, wantConstraints) {
		t.Errorf("placement %+v, want constraints %q", tt.Placement, wantConstraints)
	}
	cs := tt.ContainerSpec
	if cs == nil {
		t.Fatal("no container spec")
	}
	if !strings.HasPrefix(cs.Image, "sha256:") || s.Labels[swarm.LabelImage] != image {
		t.Errorf("image %q, label %s=%q: want the image's id, and its name in the label", cs.Image, swarm.LabelImage, s.Labels[swarm.LabelImage])
	}
	if cs.User != fmt.Sprintf("%d:%d", uid, gid) || !slices.Equal(cs.Groups, []string{fmt.Sprint(group)}) || cs.Dir != "/tmp" {
		t.Errorf("user %q groups %q dir %q", cs.User, cs.Groups, cs.Dir)
	}
	if !slices.Equal(cs.Command, j.Run.Argv[:1]) || !slices.Equal(cs.Args, j.Run.Argv[1:]) {
		t.Errorf("command %q args %q, want %q", cs.Command, cs.Args, j.Run.Argv)
	}
	if !slices.Equal(cs.Env, []string{"GODOCKER_TEST=1"}) {
		t.Errorf("env %q", cs.Env)
	}
	if cs.Init == nil || !*cs.Init || !slices.Equal(cs.CapabilityDrop, []string{"ALL"}) || len(cs.CapabilityAdd) != 0 {
		t.Errorf("init %v, capabilities dropped %q added %q: want init and ALL dropped", cs.Init, cs.CapabilityDrop, cs.CapabilityAdd)
	}
	if cs.StopGracePeriod == nil || *cs.StopGracePeriod != swarm.StopGracePeriod {
		t.Errorf("stop grace period %v, want %v", cs.StopGracePeriod, swarm.StopGracePeriod)
	}
	if len(cs.Mounts) != 2 || cs.Mounts[0].Target != "/ro" || !cs.Mounts[0].ReadOnly || cs.Mounts[1].Target != "/rw" || cs.Mounts[1].ReadOnly ||
		cs.Mounts[0].Type != "bind" || cs.Mounts[0].Source != j.Run.Mounts[0].Source {
		t.Errorf("mounts %+v, want /ro read-only and /rw, bind mounts of %+v", cs.Mounts, j.Run.Mounts)
	}
	wantLabels := map[string]string{
		executor.LabelJob: fmt.Sprint(j.ID), executor.LabelAttempt: "1", executor.LabelUser: "tester",
		executor.LabelName: "test", executor.LabelProject: "testing",
	}
	for k, v := range wantLabels {
		if s.Labels[k] != v || cs.Labels[k] != v {
			t.Errorf("label %s: service %q, container %q; want %q on both", k, s.Labels[k], cs.Labels[k], v)
		}
	}
	if len(tt.Networks) != 0 {
		t.Errorf("networks %+v, want none (the nodes' default bridge)", tt.Networks)
	}

	// The task cannot be placed: Inspect says created, with swarm's reason.
	st, err := ex.Inspect(ctx(t), j)
	for deadline := time.Now().Add(10 * time.Second); err == nil && st.Error == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		st, err = ex.Inspect(ctx(t), j)
	}
	if err != nil || st.State != executor.StateCreated || !strings.Contains(st.Error, "no suitable node") {
		t.Errorf("job whose node labels no node has: %+v, %v; want created, no suitable node", st, err)
	}

	// A root job keeps the engine's capabilities; a job placed on a node
	// that does not exist is an error.
	root := newJob("true")
	root.Run.UID, root.Run.GID, root.Run.Groups = 0, 0, nil
	start(t, ex, root, executor.Placement{Labels: map[string]string{"godocker.never": "x"}})
	svc, _, err = ex.Client().ServiceInspectWithRaw(ctx(t), executor.ContainerName("", root), dswarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cs := svc.Spec.TaskTemplate.ContainerSpec; len(cs.CapabilityDrop) != 0 || cs.User != "0:0" {
		t.Errorf("root job: capabilities dropped %q, user %q", cs.CapabilityDrop, cs.User)
	}
	if err := ex.Start(ctx(t), newJob("true"), executor.Placement{Node: "no-such-node"}); err == nil || !strings.Contains(err.Error(), "no-such-node") {
		t.Errorf("Start placed on a node not in the swarm: %v, want an error naming it", err)
	}
}

// nodeName is the host name of the swarm's one node.
func nodeName(t testing.TB, ex *swarm.Executor) string {
	t.Helper()
	nodes, err := ex.Nodes(ctx(t))
	if err != nil || len(nodes) != 1 {
		t.Fatalf("Nodes: %v, %v; want one", nodes, err)
	}
	return nodes[0].Name
}

// sharedDir returns a temporary directory every uid can write to.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRunsAsUser: the job's process has its uid, gid and groups, and
// what it writes in a bind mount is theirs.
func TestRunsAsUser(t *testing.T) {
	t.Parallel()
	ex := open(t, executor.Config{})
	dir := sharedDir(t)
	j := newJob("sh", "-c", "id -u >/out/id; id -g >>/out/id; id -G >>/out/id; pwd >>/out/id; grep -E '^CapEff' /proc/self/status >>/out/id")
	j.Run.Mounts = []api.Mount{{Source: dir, Target: "/out"}}
	if st := run(t, ex, j); st.State != executor.StateExited || st.ExitCode != 0 || st.Error != "" {
		t.Fatalf("job: %+v", st)
	}
	b, err := os.ReadFile(filepath.Join(dir, "id"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), fmt.Sprintf("%d\n%d\n%d %d\n/tmp\nCapEff:\t0000000000000000\n", uid, gid, gid, group); got != want {
		t.Errorf("id -u; id -g; id -G; pwd; CapEff in the job:\n%s\nwant:\n%s", got, want)
	}
	fi, err := os.Stat(filepath.Join(dir, "id"))
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != uid || st.Gid != gid {
		t.Errorf("file written by the job is owned by %d:%d on the host, want %d:%d", st.Uid, st.Gid, uid, gid)
	}
}

func TestExitCodeAndTimes(t *testing.T) {
	t.Parallel()
	ex := open(t, executor.Config{})
	before := time.Now().Add(-time.Second)
	st := run(t, ex, newJob("sh", "-c", "sleep 1; exit 7"))
	if st.State != executor.StateExited || st.ExitCode != 7 || st.Error != "" || st.OOMKilled {
		t.Errorf("exit 7: %+v", st)
	}
	if ran := st.FinishedAt.Sub(st.StartedAt); st.StartedAt.Before(before) || ran < time.Second || ran > 10*time.Second {
		t.Errorf("job of sleep 1: started %v, finished %v: want the container's times", st.StartedAt, st.FinishedAt)
	}
	if st.Node != nodeName(t, ex) {
		t.Errorf("node %q, want %q", st.Node, nodeName(t, ex))
	}
}

// TestMissingImage: a node without the image rejects the task; the job
// ends with an error naming the image, and never started.
func TestMissingImage(t *testing.T) {
	t.Parallel()
	ex := open(t, executor.Config{})
	j := newJob("true")
	j.Run.Image = "godocker/no-such-image:1"
	ev := executortest.Watch(t, ex)
	start(t, ex, j, executor.Placement{})
	ev.Expect(t, j, executor.Exited)
	st, err := ex.Inspect(ctx(t), j)
	if err != nil || st.State != executor.StateExited || !strings.Contains(st.Error, "godocker/no-such-image:1") {
		t.Errorf("job of a missing image: %+v, %v; want exited with an error naming the image", st, err)
	}
}

func TestSuspendUnsupported(t *testing.T) {
	t.Parallel()
	ex := open(t, executor.Config{})
	j := newJob("sleep", "300")
	running(t, ex, j)
	for op, f := range map[string]func(context.Context, *api.Job) error{"Suspend": ex.Suspend, "Resume": ex.Resume} {
		err := f(ctx(t), j)
		if !errors.Is(err, executor.ErrUnsupported) || !strings.Contains(err.Error(), "Docker Swarm cannot pause a service's container") {
			t.Errorf("%s: %v, want ErrUnsupported saying swarm cannot pause", op, err)
		}
	}
	if err := ex.Suspend(ctx(t), newJob("true")); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Suspend of a job never started: %v, want ErrNotFound", err)
	}
	if st, _ := ex.Inspect(ctx(t), j); st.State != executor.StateRunning {
		t.Errorf("after Suspend and Resume: %s, want running", st.State)
	}
}

// execute runs r in j's container and returns its output and exit code.
func execute(t *testing.T, ex *swarm.Executor, j *api.Job, r executor.ExecRequest) (stdout, stderr string, code int) {
	t.Helper()
	s, err := ex.Exec(ctx(t), j, r)
	if err != nil {
		t.Fatalf("Exec %q: %v", r.Cmd, err)
	}
	defer s.Close()
	var out, errb bytes.Buffer
	var wg sync.WaitGroup
	wg.Go(func() { io.Copy(&out, s.Stdout()) })
	wg.Go(func() { io.Copy(&errb, s.Stderr()) })
	if err := s.Stdin().Close(); err != nil {
		t.Errorf("close stdin: %v", err)
	}
	code, err = s.Wait(ctx(t))
	if err != nil {
		t.Fatalf("Wait %q: %v", r.Cmd, err)
	}
	wg.Wait()
	return out.String(), errb.String(), code
}

// TestExec: the gateway's way into a swarm job, through its node's engine.
func TestExec(t *testing.T) {
	t.Parallel()
	ex := open(t, executor.Config{})
	j := newJob("sleep", "300")
	running(t, ex, j)
	out, errs, code := execute(t, ex, j, executor.ExecRequest{Cmd: []string{"sh", "-c", "id -u; id -G; pwd; echo $X; echo err >&2; exit 3"}, Env: []string{"X=42"}})
	if want := fmt.Sprintf("%d\n%d %d\n/tmp\n42\n", uid, gid, group); out != want || errs != "err\n" || code != 3 {
		t.Errorf("exec: stdout %q stderr %q exit %d; want %q, \"err\\n\", exit 3", out, errs, code, want)
	}
	if _, err := ex.Exec(ctx(t), newJob("true"), executor.ExecRequest{Cmd: []string{"true"}}); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Exec in a job never started: %v, want ErrNotFound", err)
	}
	u, err := ex.Usage(ctx(t), j)
	if err != nil || u.Memory <= 0 {
		t.Errorf("Usage: %+v, %v; want memory > 0", u, err)
	}
}

// TestDialJob: port forwarding into a job on the manager's own node.
func TestDialJob(t *testing.T) {
	t.Parallel()
	ex := open(t, executor.Config{})
	j := newJob("sh", "-c", "mkdir -p /tmp/www && echo hello >/tmp/www/index.html && exec httpd -f -p 127.0.0.1:8888 -h /tmp/www")
	running(t, ex, j)
	var conn net.Conn
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var err error
		if conn, err = ex.DialJob(ctx(t), j, 8888); err == nil {
			break
		}
		if !errors.Is(err, syscall.ECONNREFUSED) || time.Now().After(deadline) {
			t.Fatalf("DialJob(8888): %v", err)
		}
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET / HTTP/1.0\r\n\r\n")
	b, _ := io.ReadAll(conn)
	if !strings.HasPrefix(string(b), "HTTP/1.1 200 ") || !strings.HasSuffix(string(b), "\r\n\r\nhello\n") {
		t.Errorf("GET / through DialJob: %q", b)
	}
	if _, err := ex.DialJob(ctx(t), newJob("true"), 8888); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("DialJob in a job never started: %v, want ErrNotFound", err)
	}
}

// containers lists the containers of job j on the engine, running or not.
func containers(t *testing.T, cli *client.Client, j *api.Job) []container.Summary {
	t.Helper()
	list, err := cli.ContainerList(ctx(t), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", fmt.Sprintf("%s=%d", executor.LabelJob, j.ID)))})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// gone waits until job j has no container left on the engine.
func gone(t *testing.T, cli *client.Client, j *api.Job, what string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		list := containers(t, cli, j)
		if len(list) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: containers %+v left", what, list)
		}
	}
}

// TestKillAndRemove: Kill of a running job ends it with 137; Kill of a
// job that cannot start yet removes its service; Remove stops a running
// job and leaves no container (Docker 20.10 would leave the task of a
// removed job service running).
func TestKillAndRemove(t *testing.T) {
	t.Parallel()
	ex := open(t, executor.Config{})
	cli := ex.Client()

	t.Run("running", func(t *testing.T) {
		t.Parallel()
		j := newJob("sleep", "300")
		ev := executortest.Watch(t, ex)
		start(t, ex, j, executor.Placement{})
		ev.Expect(t, j, executor.Started)
		if err := ex.Kill(ctx(t), j); err != nil {
			t.Fatal(err)
		}
		ev.Expect(t, j, executor.Exited)
		if st, err := ex.Inspect(ctx(t), j); err != nil || st.State != executor.StateExited || st.ExitCode != 137 || st.Error != "" {
			t.Errorf("killed: %+v, %v; want exited with 137", st, err)
		}
		if err := ex.Remove(ctx(t), j); err != nil {
			t.Fatal(err)
		}
		gone(t, cli, j, "removed after Kill")
	})
	t.Run("pending", func(t *testing.T) {
		t.Parallel()
		j := newJob("sleep", "300")
		start(t, ex, j, executor.Placement{Labels: map[string]string{"godocker.never": "x"}})
		if err := ex.Kill(ctx(t), j); err != nil {
			t.Fatal(err)
		}
		if st, err := ex.Inspect(ctx(t), j); err != nil || st.State != executor.StateMissing {
			t.Errorf("killed before it started: %+v, %v; want missing", st, err)
		}
		if err := ex.Kill(ctx(t), j); !errors.Is(err, executor.ErrNotFound) {
			t.Errorf("Kill after the service was removed: %v, want ErrNotFound", err)
		}
	})
	t.Run("starting", func(t *testing.T) {
		t.Parallel()
		// Killed while its node starts it (the container may run before
		// the manager knows): killed once it runs.
		j := newJob("sleep", "300")
		start(t, ex, j, executor.Placement{})
		svc := executor.ContainerName("", j)
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			tasks, err := cli.TaskList(ctx(t), dswarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", svc))})
			if err != nil {
				t.Fatal(err)
			}
			if len(tasks) == 1 && tasks[0].NodeID != "" {
				t.Logf("killed in state %s", tasks[0].Status.State)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("task of %s not placed: %+v", svc, tasks)
			}
		}
		if err := ex.Kill(ctx(t), j); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			st, err := ex.Inspect(ctx(t), j)
			if err != nil {
				t.Fatal(err)
			}
			if st.State == executor.StateExited && st.ExitCode == 137 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("killed while starting: %+v, want exited with 137", st)
			}
		}
		running := filters.NewArgs(filters.Arg("label", fmt.Sprintf("%s=%d", executor.LabelJob, j.ID)), filters.Arg("status", "running"))
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			list, err := cli.ContainerList(ctx(t), container.ListOptions{Filters: running})
			if err != nil {
				t.Fatal(err)
			}
			if len(list) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("killed while starting: %+v still running", list)
			}
		}
	})
	t.Run("remove running", func(t *testing.T) {
		t.Parallel()
		j := newJob("sleep", "300")
		running(t, ex, j)
		if err := ex.Remove(ctx(t), j); err != nil {
			t.Fatal(err)
		}
		if st, err := ex.Inspect(ctx(t), j); err != nil || st.State != executor.StateMissing {
			t.Errorf("removed: %+v, %v; want missing", st, err)
		}
		gone(t, cli, j, "removed while running")
	})
	t.Run("remove exited", func(t *testing.T) {
		t.Parallel()
		j := newJob("true")
		run(t, ex, j)
		if len(containers(t, cli, j)) != 1 {
			t.Fatalf("exited job: containers %+v, want its one", containers(t, cli, j))
		}
		if err := ex.Remove(ctx(t), j); err != nil {
			t.Fatal(err)
		}
		gone(t, cli, j, "removed after its exit")
	})
}

func TestNodes(t *testing.T) {
	t.Parallel()
	ex := open(t, executor.Config{})
	info, err := ex.Client().Info(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := ex.Nodes(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 1 || nodes[0].Name != info.Name || nodes[0].CPUs != info.NCPU || nodes[0].Memory <= 0 || nodes[0].Memory > info.MemTotal {
		t.Errorf("Nodes: %+v; want this machine: %s, %d cpus, %d bytes", nodes, info.Name, info.NCPU, info.MemTotal)
	}
	capped := open(t, executor.Config{CPUs: 1, Memory: "1G"})
	nodes, err = capped.Nodes(ctx(t))
	if err != nil || len(nodes) != 1 || nodes[0].CPUs != 1 || nodes[0].Memory != 1<<30 {
		t.Errorf("Nodes with cpus 1, memory 1G: %+v, %v", nodes, err)
	}
}

// TestNewRefuses: New says what is wrong with the configuration.
func TestNewRefuses(t *testing.T) {
	t.Parallel()
	swarmtest.Ensure(t)
	for name, tc := range map[string]struct {
		cfg  executor.Config
		want string
	}{
		"network none":    {executor.Config{Network: "none"}, `network "none" does not exist for swarm services`},
		"missing network": {executor.Config{Network: "godocker-no-such-net"}, "docker network create --driver overlay"},
		"local network":   {executor.Config{Network: "bridge"}, ""},
		"cpus":            {executor.Config{CPUs: -1}, "cpus -1"},
		"unreachable":     {executor.Config{Host: "unix://" + filepath.Join(t.TempDir(), "docker.sock")}, "is dockerd running"},
	} {
		ex, err := swarm.New(ctx(t), "swarm", tc.cfg)
		if ex != nil {
			ex.Close()
		}
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: New: %v; want %q", name, err, tc.want)
		}
	}
}
