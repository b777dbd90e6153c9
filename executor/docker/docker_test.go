package docker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/executor/docker"
	"github.com/godocker/godocker/executor/executortest"
)

// These tests run against the real Docker engine (DOCKER_HOST or the
// default socket). Without one they are skipped, except in CI (CI=true)
// where a missing engine is a failure.

const image = "godocker/base:latest"

// The uid and groups jobs run as: nobody on this machine, which is the
// point.
const (
	uid   = 12345
	gid   = 12345
	group = 12346
)

var (
	engineOnce sync.Once
	engineEx   *docker.Executor
	engineErr  error
)

// engine returns the executor of the local engine, with the test image
// present, or skips (fails in CI) if there is no engine.
func engine(t testing.TB) *docker.Executor {
	t.Helper()
	engineOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		engineEx, engineErr = docker.New(ctx, "docker", executor.Config{Type: "docker"})
		if engineErr != nil {
			return
		}
		engineErr = ensureImage(ctx, engineEx)
	})
	if engineErr != nil {
		if os.Getenv("CI") == "true" || errors.Is(engineErr, errImage) {
			t.Fatal(engineErr)
		}
		t.Skipf("no Docker engine: %v", engineErr)
	}
	return engineEx
}

var errImage = errors.New("test image")

// ensureImage builds the test image with images/base/build.sh if the
// engine does not have it.
func ensureImage(ctx context.Context, ex *docker.Executor) error {
	_, err := ex.Client().ImageInspect(ctx, image)
	if err == nil {
		return nil
	}
	if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("%w %s: %v", errImage, image, err)
	}
	script, _ := filepath.Abs("../../images/base/build.sh")
	out, err := exec.Command("sh", script, image).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w %s is missing and %s failed (%v): %s; run make image", errImage, image, script, err, out)
	}
	return nil
}

// newJob returns a job of the test user that runs argv in the test image.
func newJob(argv ...string) *api.Job {
	return &api.Job{
		ID: executortest.NewID(), Attempt: 1, Name: "test", User: "tester", Project: "testing",
		UID: uid, GID: gid, Group: "testers", Groups: []int{group}, Home: "/home/tester",
		Run: &api.Run{
			Image: image, Argv: argv, WorkDir: "/tmp", Env: []string{"GODOCKER_TEST=1"},
			UID: uid, GID: gid, Groups: []int{group}, User: "tester", Group: "testers", Home: "/home/tester",
			CPUs: 1, Memory: 256 << 20, Pids: 256,
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
	executortest.Run(t, executortest.Harness{Executor: engine(t), NewJob: program})
}

// ctx is a context for one test's calls to the engine.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// start starts j and removes its container when the test ends.
func start(t testing.TB, ex *docker.Executor, j *api.Job) {
	t.Helper()
	t.Cleanup(func() {
		if err := ex.Remove(context.Background(), j); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	if err := ex.Start(ctx(t), j, executor.Placement{}); err != nil {
		t.Fatal(err)
	}
}

// run starts j, waits for it to exit and returns what Inspect says.
func run(t *testing.T, ex *docker.Executor, j *api.Job) executor.Status {
	t.Helper()
	ev := executortest.Watch(t, ex)
	start(t, ex, j)
	ev.Expect(t, j, executor.Started, executor.Exited)
	st, err := ex.Inspect(ctx(t), j)
	if err != nil {
		t.Fatal(err)
	}
	return st
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

func TestRunsAsUser(t *testing.T) {
	t.Parallel()
	ex := engine(t)
	dir := sharedDir(t)
	j := newJob("sh", "-c", "id -u >/out/id; id -G >>/out/id; pwd >>/out/id")
	j.Run.Mounts = []api.Mount{{Source: dir, Target: "/out"}}
	if st := run(t, ex, j); st.ExitCode != 0 {
		t.Fatalf("exit code %d (%s)", st.ExitCode, st.Error)
	}
	b, err := os.ReadFile(filepath.Join(dir, "id"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), fmt.Sprintf("%d\n%d %d\n/tmp\n", uid, gid, group); got != want {
		t.Errorf("id -u; id -G; pwd in the job:\n%s\nwant:\n%s", got, want)
	}
	fi, err := os.Stat(filepath.Join(dir, "id"))
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != uid || st.Gid != gid {
		t.Errorf("file written by the job is owned by %d:%d on the host, want %d:%d", st.Uid, st.Gid, uid, gid)
	}
}

// TestHardening checks the configuration the engine holds for a job's
// container, and what the job's process sees of it.
func TestHardening(t *testing.T) {
	t.Parallel()
	ex := engine(t)
	ro, rw := t.TempDir(), sharedDir(t)
	// The job writes aside then renames, so the test never reads a half-written file.
	j := newJob("sh", "-c", "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status >/rw/.status && mv /rw/.status /rw/status && exec sleep 300")
	j.Run.CPUs, j.Run.Memory, j.Run.Pids = 2, 64<<20, 100
	j.Run.Mounts = []api.Mount{{Source: ro, Target: "/ro", ReadOnly: true}, {Source: rw, Target: "/rw"}}
	ev := executortest.Watch(t, ex)
	start(t, ex, j)
	ev.Expect(t, j, executor.Started)

	c, err := ex.Client().ContainerInspect(ctx(t), executor.ContainerName("", j))
	if err != nil {
		t.Fatal(err)
	}
	hc := c.HostConfig
	if hc.NanoCPUs != 2e9 {
		t.Errorf("NanoCPUs %d, want 2e9", hc.NanoCPUs)
	}
	if hc.Memory != 64<<20 || hc.MemorySwap != hc.Memory {
		t.Errorf("Memory %d, MemorySwap %d: want both %d (no swap)", hc.Memory, hc.MemorySwap, 64<<20)
	}
	if hc.PidsLimit == nil || *hc.PidsLimit != 100 {
		t.Errorf("PidsLimit %v, want 100", hc.PidsLimit)
	}
	if !slices.Contains(hc.SecurityOpt, "no-new-privileges") {
		t.Errorf("SecurityOpt %v: no no-new-privileges", hc.SecurityOpt)
	}
	if !slices.Equal(hc.CapDrop, []string{"ALL"}) || len(hc.CapAdd) != 0 {
		t.Errorf("CapDrop %v, CapAdd %v: want ALL dropped, none added for a user job", hc.CapDrop, hc.CapAdd)
	}
	if hc.Init == nil || !*hc.Init {
		t.Error("Init not set")
	}
	if hc.AutoRemove {
		t.Error("AutoRemove set: the watcher could not inspect the exit")
	}
	if !slices.Equal(hc.GroupAdd, []string{fmt.Sprint(group)}) {
		t.Errorf("GroupAdd %v, want [%d]", hc.GroupAdd, group)
	}
	var targets []string
	for _, m := range c.Mounts {
		if want := m.Destination == "/rw"; m.RW != want {
			t.Errorf("mount %s: RW %v, want %v", m.Destination, m.RW, want)
		}
		targets = append(targets, m.Destination)
	}
	slices.Sort(targets)
	if want := []string{"/etc/group", "/etc/passwd", "/ro", "/rw"}; !slices.Equal(targets, want) {
		t.Errorf("mounts %q, want %q (the job's, and the files that name its user)", targets, want)
	}
	cfg := c.Config
	if cfg.User != fmt.Sprintf("%d:%d", uid, gid) || cfg.WorkingDir != "/tmp" {
		t.Errorf("User %q WorkingDir %q", cfg.User, cfg.WorkingDir)
	}
	if !slices.Equal(cfg.Entrypoint, j.Run.Argv[:1]) || !slices.Equal(cfg.Cmd, j.Run.Argv[1:]) {
		t.Errorf("Entrypoint %q Cmd %q, want %q", cfg.Entrypoint, cfg.Cmd, j.Run.Argv)
	}
	if !slices.Contains(cfg.Env, "GODOCKER_TEST=1") {
		t.Errorf("Env %v: no GODOCKER_TEST=1", cfg.Env)
	}
	wantLabels := map[string]string{
		executor.LabelJob: fmt.Sprint(j.ID), executor.LabelAttempt: "1", executor.LabelUser: "tester",
		executor.LabelName: "test", executor.LabelProject: "testing",
	}
	for k, v := range wantLabels {
		if cfg.Labels[k] != v {
			t.Errorf("label %s=%q, want %q", k, cfg.Labels[k], v)
		}
	}

	// What the process sees: no capabilities, no new privileges. Started
	// means the container runs, not that its first command has finished.
	var b []byte
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if b, err = os.ReadFile(filepath.Join(rw, "status")); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CapEff:\t0000000000000000", "NoNewPrivs:\t1"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/proc/self/status in the job: %q: no %q", b, want)
		}
	}
}

// TestRootJob: a root job keeps the engine's default capabilities but not
// new privileges.
func TestRootJob(t *testing.T) {
	t.Parallel()
	ex := engine(t)
	j := newJob("sleep", "300")
	j.Run.UID, j.Run.GID, j.Run.Groups = 0, 0, nil
	start(t, ex, j)
	c, err := ex.Client().ContainerInspect(ctx(t), executor.ContainerName("", j))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.HostConfig.CapDrop) != 0 || !slices.Contains(c.HostConfig.SecurityOpt, "no-new-privileges") || c.Config.User != "0:0" {
		t.Errorf("root job: CapDrop %v SecurityOpt %v User %q", c.HostConfig.CapDrop, c.HostConfig.SecurityOpt, c.Config.User)
	}
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	st := run(t, engine(t), newJob("sh", "-c", "exit 7"))
	if st.State != executor.StateExited || st.ExitCode != 7 || st.OOMKilled {
		t.Errorf("exit 7: %+v", st)
	}
}

func TestOOMKilled(t *testing.T) {
	t.Parallel()
	j := newJob("sh", "-c", "x=a; while true; do x=$x$x; done")
	j.Run.Memory = 16 << 20
	st := run(t, engine(t), j)
	if !st.OOMKilled || st.ExitCode != 137 {
		t.Errorf("job over its memory limit: %+v, want OOMKilled with 137", st)
	}
}

func TestKillSuspended(t *testing.T) {
	t.Parallel()
	ex := engine(t)
	j := newJob("sleep", "300")
	ev := executortest.Watch(t, ex)
	start(t, ex, j)
	ev.Expect(t, j, executor.Started)
	if err := ex.Suspend(ctx(t), j); err != nil {
		t.Fatal(err)
	}
	ev.Expect(t, j, executor.Paused)
	if st, _ := ex.Inspect(ctx(t), j); st.State != executor.StatePaused {
		t.Fatalf("suspended: Inspect says %s", st.State)
	}
	if err := ex.Kill(ctx(t), j); err != nil {
		t.Fatalf("Kill of a suspended job: %v", err)
	}
	// Docker 20.10 thaws a paused container itself to kill it; engines that
	// refuse to are unpaused by Kill first.
	if e := ev.Next(t, j); e.Kind == executor.Resumed {
		ev.Expect(t, j, executor.Exited)
	} else if e.Kind != executor.Exited {
		t.Fatalf("after Kill of a suspended job: %s, want exited", e.Kind)
	}
	if st, _ := ex.Inspect(ctx(t), j); st.State != executor.StateExited || st.ExitCode != 137 {
		t.Errorf("killed while suspended: %+v", st)
	}
}

func TestMissingImage(t *testing.T) {
	t.Parallel()
	ex := engine(t)
	j := newJob("true")
	j.Run.Image = "godocker/no-such-image:1"
	t.Cleanup(func() { ex.Remove(context.Background(), j) })
	err := ex.Start(ctx(t), j, executor.Placement{})
	if err == nil || !strings.Contains(err.Error(), `"godocker/no-such-image:1"`) || !strings.Contains(err.Error(), fmt.Sprintf("job %d", j.ID)) {
		t.Errorf("Start with a missing image: %v, want an error naming the image and the job", err)
	}
	if st, _ := ex.Inspect(ctx(t), j); st.State != executor.StateMissing {
		t.Errorf("after a failed create: %s, want missing", st.State)
	}
}

// TestMissingProgram: docker-init, the container's pid 1, cannot run the
// job's program and exits with 127, as a shell would.
func TestMissingProgram(t *testing.T) {
	t.Parallel()
	st := run(t, engine(t), newJob("/no/such/program"))
	if st.State != executor.StateExited || st.ExitCode != 127 {
		t.Errorf("missing program: %+v, want exited with 127", st)
	}
}

// TestMissingMountSource: a bind mount of a path that does not exist is
// an error of Start that names it, and leaves nothing behind.
func TestMissingMountSource(t *testing.T) {
	t.Parallel()
	ex := engine(t)
	j := newJob("true")
	src := filepath.Join(t.TempDir(), "gone")
	j.Run.Mounts = []api.Mount{{Source: src, Target: "/data"}}
	t.Cleanup(func() { ex.Remove(context.Background(), j) })
	if err := ex.Start(ctx(t), j, executor.Placement{}); err == nil || !strings.Contains(err.Error(), src) {
		t.Errorf("Start with a missing mount source: %v, want an error naming %s", err, src)
	}
	if st, _ := ex.Inspect(ctx(t), j); st.State != executor.StateMissing {
		t.Errorf("after a failed create: %s, want missing", st.State)
	}
}

// TestStartCreated: Start of an attempt whose container was created but
// not started starts it.
func TestStartCreated(t *testing.T) {
	t.Parallel()
	ex := engine(t)
	j := newJob("sleep", "300")
	t.Cleanup(func() { ex.Remove(context.Background(), j) })
	_, err := ex.Client().ContainerCreate(ctx(t), &container.Config{
		Image: image, Cmd: j.Run.Argv,
		Labels: map[string]string{executor.LabelJob: fmt.Sprint(j.ID), executor.LabelAttempt: "1"},
	}, nil, nil, nil, executor.ContainerName("", j))
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Start(ctx(t), j, executor.Placement{}); err != nil {
		t.Fatal(err)
	}
	if st, _ := ex.Inspect(ctx(t), j); st.State != executor.StateRunning {
		t.Errorf("Start of a created container: %s, want running", st.State)
	}

	// A container of that name that is not this attempt's is an error.
	other := newJob("true")
	other.Attempt = 2
	t.Cleanup(func() { ex.Remove(context.Background(), other) })
	_, err = ex.Client().ContainerCreate(ctx(t), &container.Config{Image: image, Cmd: []string{"true"}}, nil, nil, nil, executor.ContainerName("", other))
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Start(ctx(t), other, executor.Placement{}); err == nil {
		t.Error("Start over a foreign container of the same name: no error")
	}
}

func TestPlacement(t *testing.T) {
	t.Parallel()
	ex := engine(t)
	if err := ex.Start(ctx(t), newJob("true"), executor.Placement{Node: "elsewhere"}); err == nil {
		t.Error("Start placed on another node: no error")
	}
}

// execute runs r in j's container and returns its output and exit code.
func execute(t *testing.T, ex *docker.Executor, j *api.Job, r executor.ExecRequest, stdin string) (stdout, stderr string, code int) {
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
	if _, err := io.WriteString(s.Stdin(), stdin); err != nil {
		t.Errorf("write stdin: %v", err)
	}
	if !r.TTY { // closing a terminal's input hangs it up
		if err := s.Stdin().Close(); err != nil {
			t.Errorf("close stdin: %v", err)
		}
	}
	code, err = s.Wait(ctx(t))
	if err != nil {
		t.Fatalf("Wait %q: %v", r.Cmd, err)
	}
	wg.Wait()
	return out.String(), errb.String(), code
}

func TestExec(t *testing.T) {
	t.Parallel()
	ex := engine(t)
	j := newJob("sleep", "300")
	ev := executortest.Watch(t, ex)
	start(t, ex, j)
	ev.Expect(t, j, executor.Started)

	out, _, code := execute(t, ex, j, executor.ExecRequest{Cmd: []string{"sh", "-c", "id -u; id -G; pwd"}}, "")
	if want := fmt.Sprintf("%d\n%d %d\n/tmp\n", uid, gid, group); out != want || code != 0 {
		t.Errorf("exec id -u; id -G; pwd: %q, exit %d; want %q, exit 0", out, code, want)
	}
	// The user has a name in the container (the SSH gateway's shells).
	out, _, code = execute(t, ex, j, executor.ExecRequest{Cmd: []string{"sh", "-c", "whoami; id -gn"}}, "")
	if out != "tester\ntesters\n" || code != 0 {
		t.Errorf("exec whoami; id -gn: %q, exit %d; want \"tester\\ntesters\\n\", exit 0", out, code)
	}
	out, errs, code := execute(t, ex, j, executor.ExecRequest{Cmd: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}}, "")
	if out != "out\n" || errs != "err\n" || code != 3 {
		t.Errorf("exec with stderr and exit 3: stdout %q stderr %q exit %d", out, errs, code)
	}
	out, _, code = execute(t, ex, j, executor.ExecRequest{Cmd: []string{"sh", "-c", "cat; echo $X"}, Env: []string{"X=42"}}, "hello\n")
	if out != "hello\n42\n" || code != 0 {
		t.Errorf("exec cat with stdin and env: %q, exit %d", out, code)
	}
	out, _, code = execute(t, ex, j, executor.ExecRequest{Cmd: []string{"sh", "-c", "read x; stty size; exit 2"}, TTY: true, Rows: 33, Cols: 101}, "go\n")
	if !strings.HasSuffix(out, "33 101\r\n") || code != 2 {
		t.Errorf("exec with a TTY of 33x101: %q, exit %d; want the input's echo, then \"33 101\\r\\n\", exit 2", out, code)
	}

	missing := newJob("true")
	if _, err := ex.Exec(ctx(t), missing, executor.ExecRequest{Cmd: []string{"true"}}); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Exec in a missing container: %v, want ErrNotFound", err)
	}
}

func TestExecResize(t *testing.T) {
	t.Parallel()
	ex := engine(t)
	j := newJob("sleep", "300")
	ev := executortest.Watch(t, ex)
	start(t, ex, j)
	ev.Expect(t, j, executor.Started)
	// The shell reports its size once resized and told by a line of input.
	s, err := ex.Exec(ctx(t), j, executor.ExecRequest{Cmd: []string{"sh", "-c", "read x; stty size"}, TTY: true, Rows: 10, Cols: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Resize(ctx(t), 50, 120); err != nil {
		t.Fatal(err)
	}
	io.WriteString(s.Stdin(), "go\n")
	out, _ := io.ReadAll(s.Stdout())
	code, err := s.Wait(ctx(t))
	if err != nil || code != 0 || !strings.HasSuffix(string(out), "50 120\r\n") {
		t.Errorf("after Resize(50, 120): %q, exit %d, %v", out, code, err)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	ex := engine(t)
	j := newJob("sleep", "300")
	ev := executortest.Watch(t, ex)
	start(t, ex, j)
	ev.Expect(t, j, executor.Started)
	u, err := ex.Usage(ctx(t), j)
	if err != nil {
		t.Fatal(err)
	}
	if u.Memory <= 0 || u.CPUSeconds < 0 {
		t.Errorf("Usage of a running job: %+v, want memory > 0", u)
	}
	if _, err := ex.Usage(ctx(t), newJob("true")); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Usage of a missing container: %v, want ErrNotFound", err)
	}
}

func TestNodesOverride(t *testing.T) {
	t.Parallel()
	engine(t)
	ex, err := executor.Open(ctx(t), "big", executor.Config{Type: "docker", CPUs: 3, Memory: "2G"})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.(*docker.Executor).Close()
	nodes, err := ex.Nodes(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 1 || nodes[0].CPUs != 3 || nodes[0].Memory != 2<<30 || nodes[0].Name == "" {
		t.Errorf("Nodes with cpus 3, memory 2G: %+v", nodes)
	}
}

// TestUnreachable needs no engine: New fails fast and says what to check.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	_, err := docker.New(ctx(t), "docker", executor.Config{Host: "unix://" + sock})
	if err == nil || !strings.Contains(err.Error(), "cannot reach the Docker engine at unix://"+sock) || !strings.Contains(err.Error(), "is dockerd running") {
		t.Errorf("New with no engine: %v", err)
	}
}

// BenchmarkStartToExit measures a job's round trip through the executor:
// Start of a `true` job until its Exited event. The die event comes some
// 40 ms before the engine has torn the container down (when
// ContainerWait returns), so the next iteration's Start overlaps that
// teardown: on a small machine this loop is slower per job than
// BenchmarkDockerRunRaw's, although each step is not.
func BenchmarkStartToExit(b *testing.B) {
	ex := engine(b)
	ev := executortest.Watch(b, ex)
	var jobs []*api.Job
	b.Cleanup(func() {
		for _, j := range jobs {
			ex.Remove(context.Background(), j)
		}
	})
	for b.Loop() {
		j := newJob("true")
		jobs = append(jobs, j)
		if err := ex.Start(ctx(b), j, executor.Placement{}); err != nil {
			b.Fatal(err)
		}
		ev.Expect(b, j, executor.Started, executor.Exited)
	}
}

// BenchmarkDockerRunRaw is the baseline: what the Docker client costs for
// the same image and command (create, start, wait), with none of the
// executor's settings.
func BenchmarkDockerRunRaw(b *testing.B) {
	ex := engine(b)
	cli := ex.Client()
	var ids []string
	b.Cleanup(func() {
		for _, id := range ids {
			cli.ContainerRemove(context.Background(), id, container.RemoveOptions{Force: true})
		}
	})
	for b.Loop() {
		c, err := cli.ContainerCreate(ctx(b), &container.Config{Image: image, Cmd: []string{"true"}}, nil, nil, nil, "")
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, c.ID)
		wait, errs := cli.ContainerWait(ctx(b), c.ID, container.WaitConditionNextExit)
		if err := cli.ContainerStart(ctx(b), c.ID, container.StartOptions{}); err != nil {
			b.Fatal(err)
		}
		select {
		case <-wait:
		case err := <-errs:
			b.Fatal(err)
		}
	}
}
