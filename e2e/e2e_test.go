// Package e2e tests GoDocker as its users meet it: the real godockerd,
// gsub, gstat and gdel binaries, real Unix users created for the test, and
// the real Docker engine. It needs root (to create users and run the
// server); under CI a missing engine or root is a failure, not a skip.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/client"
)

const image = "godocker/base:latest"

var (
	bin     string // the built binaries
	skipAll string // why the suite cannot run here (outside CI)
)

func TestMain(m *testing.M) {
	code, err := setup()
	if err != nil {
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			os.Exit(1)
		}
		skipAll = err.Error()
	}
	if code == 0 {
		code = m.Run()
	}
	if bin != "" {
		os.RemoveAll(filepath.Dir(bin))
	}
	os.Exit(code)
}

func setup() (int, error) {
	if os.Geteuid() != 0 {
		return 0, fmt.Errorf("needs root: it creates users and runs godockerd")
	}
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		return 0, fmt.Errorf("no Docker engine answers (run make deps): %v: %s", err, firstLine(out))
	}
	if err := exec.Command("docker", "image", "inspect", image).Run(); err != nil {
		return 0, fmt.Errorf("image %s is missing: run make image", image)
	}
	dir, err := os.MkdirTemp("", "godocker-e2e-bin-")
	if err != nil {
		return 0, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return 0, err
	}
	bin = filepath.Join(dir, "bin")
	build := exec.Command("go", "build", "-tags", "urfave_cli_no_docs", "-o", bin+"/", "../cmd/godockerd", "../cmd/gsub", "../cmd/gstat", "../cmd/gdel", "../cmd/gctl", "../cmd/gtop")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return 1, fmt.Errorf("build the commands: %w", err)
	}
	// The Grid Engine names, as make install links them.
	for g, q := range map[string]string{"gsub": "qsub", "gstat": "qstat", "gdel": "qdel"} {
		if err := os.Symlink(g, filepath.Join(bin, q)); err != nil {
			return 1, err
		}
	}
	for _, name := range []string{"gdtest-alice", "gdtest-bob"} {
		if _, err := user.Lookup(name); err == nil {
			continue
		}
		if out, err := exec.Command("useradd", "--create-home", "--shell", "/bin/sh", name).CombinedOutput(); err != nil {
			return 1, fmt.Errorf("useradd %s: %v: %s", name, err, out)
		}
	}
	return 0, nil
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s
}

// account is a Unix user of the test.
type account struct {
	name     string
	uid, gid int
	groups   []uint32
	home     string
}

func lookup(t testing.TB, name string) account {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	a := account{name: name, uid: uid, gid: gid, home: u.HomeDir}
	ids, _ := u.GroupIds()
	for _, g := range ids {
		n, _ := strconv.Atoi(g)
		a.groups = append(a.groups, uint32(n))
	}
	return a
}

// logBuffer collects a godockerd's output; tests may read it while the
// process writes.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// server is a godockerd process on a temporary state and shared directory.
type server struct {
	t      testing.TB
	dir    string
	config string
	socket string
	cmd    *exec.Cmd
	log    *logBuffer
	api    *client.Client // as root, an admin
}

func startServer(t testing.TB, extraConfig string) *server {
	t.Helper()
	if skipAll != "" {
		t.Skip(skipAll)
	}
	dir, err := os.MkdirTemp("", "godocker-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	// Users reach their job directories and the socket through it.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, dir: dir, socket: filepath.Join(dir, "godockerd.sock"), config: filepath.Join(dir, "godocker.yaml")}
	if !strings.Contains(extraConfig, "ssh_gateway:") {
		extraConfig += "ssh_gateway:\n  listen: \"\"\n" // only the gateway's tests need it, on ports of their own
	}
	cfg := fmt.Sprintf("state_dir: %s/state\nshared_dir: %s/jobs\nsocket: %s\nlog_level: debug\nscheduler:\n  interval: 2s\n  reconcile: 2s\n%s",
		dir, dir, s.socket, extraConfig)
	if err := os.WriteFile(s.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	s.api = client.New(s.socket)
	s.start()
	t.Cleanup(func() {
		s.stop(syscall.SIGTERM)
		if t.Failed() {
			t.Logf("godockerd log:\n%s", s.log)
		}
		// Leave no container behind.
		out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=godocker.job").Output()
		for _, id := range strings.Fields(string(out)) {
			if c, err := exec.Command("docker", "inspect", "-f", `{{index .Config.Labels "godocker.user"}} {{range .Mounts}}{{.Source}} {{end}}`, id).Output(); err == nil && strings.Contains(string(c), dir) {
				_ = exec.Command("docker", "rm", "-f", id).Run()
			}
		}
		os.RemoveAll(dir)
	})
	return s
}

func (s *server) start() {
	s.t.Helper()
	s.log = &logBuffer{}
	s.cmd = exec.Command(filepath.Join(bin, "godockerd"), "--config", s.config)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := s.api.Whoami(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("godockerd did not answer: %v\n%s", err, s.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) stop(sig syscall.Signal) {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	_ = s.cmd.Wait()
	s.cmd = nil
}

// result is what a command printed and how it exited.
type result struct {
	stdout, stderr string
	code           int
}

// run runs one of the commands as a, in a's home, with stdin.
func (s *server) run(a account, stdin string, name string, args ...string) result {
	s.t.Helper()
	cmd := exec.Command(filepath.Join(bin, name), args...)
	cmd.Dir = a.home
	cmd.Env = []string{"GODOCKER_SOCKET=" + s.socket, "HOME=" + a.home, "USER=" + a.name, "LOGNAME=" + a.name, "PATH=/usr/bin:/bin", "TZ=UTC"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid), Groups: a.groups}}
	return runCmd(s.t, cmd, stdin)
}

// runCmd runs cmd with stdin and returns what it printed and its exit
// status; a command that cannot run at all fails the test.
func runCmd(t testing.TB, cmd *exec.Cmd, stdin string) result {
	t.Helper()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", strings.Join(cmd.Args, " "), err)
	}
	return r
}

// submit runs gsub -terse as a and returns the job id.
func (s *server) submit(a account, script string, args ...string) int64 {
	s.t.Helper()
	r := s.run(a, script, "gsub", append([]string{"-terse"}, args...)...)
	id, err := strconv.ParseInt(strings.TrimSpace(r.stdout), 10, 64)
	if r.code != 0 || err != nil {
		s.t.Fatalf("gsub %v: exit %d: %s%s", args, r.code, r.stdout, r.stderr)
	}
	return id
}

// wait polls the job (as an admin) until cond holds, for at most limit.
func (s *server) wait(id int64, limit time.Duration, what string, cond func(*api.Job) bool) *api.Job {
	s.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		j, err := s.api.Job(context.Background(), api.JobRef{ID: id})
		if err == nil && cond(j) {
			return j
		}
		if time.Now().After(deadline) {
			if j != nil {
				s.t.Fatalf("job %d: waited %v for it to be %s; it is %s (%s)", id, limit, what, j.State, j.Reason.Message)
			}
			s.t.Fatalf("job %d: %v", id, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) waitState(id int64, want api.State) *api.Job {
	s.t.Helper()
	return s.wait(id, 60*time.Second, string(want), func(j *api.Job) bool { return j.State == want })
}

func ownerOf(t *testing.T, path string) int {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Uid)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestJobRunsAsItsUser is the heart of GoDocker: a user's script runs in a
// container as that user, and its output is theirs.
func TestJobRunsAsItsUser(t *testing.T) {
	s := startServer(t, "")
	alice := lookup(t, "gdtest-alice")
	script := "#!/bin/bash\n#$ -N whoami\necho uid=$(id -u) gid=$(id -g) groups=$(id -G)\necho home=$HOME pwd=$(pwd) job=$JOB_ID sge=$SGE_TASK_ID slurm=$SLURM_JOB_ID\necho to-stderr >&2\nexit 3\n"
	r := s.run(alice, script, "gsub")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "Your job ") || !strings.Contains(r.stdout, `("whoami") has been submitted`) {
		t.Fatalf("gsub: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	id, err := strconv.ParseInt(strings.Fields(r.stdout)[2], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	j := s.waitState(id, api.Failed)
	if j.ExitCode == nil || *j.ExitCode != 3 {
		t.Fatalf("exit code = %v; want 3", j.ExitCode)
	}
	out := readFile(t, filepath.Join(j.Dir, "stdout"))
	want := fmt.Sprintf("uid=%d gid=%d", alice.uid, alice.gid)
	if !strings.Contains(out, want) {
		t.Errorf("stdout = %q; want it to contain %q", out, want)
	}
	for _, w := range []string{"home=" + alice.home, "pwd=" + j.Dir, fmt.Sprintf("job=%d", id), "sge=undefined", fmt.Sprintf("slurm=%d", id)} {
		if !strings.Contains(out, w) {
			t.Errorf("stdout = %q; want %q", out, w)
		}
	}
	if e := readFile(t, filepath.Join(j.Dir, "stderr")); e != "to-stderr\n" {
		t.Errorf("stderr = %q", e)
	}
	for _, f := range []string{j.Dir, filepath.Join(j.Dir, "stdout"), filepath.Join(j.Dir, "stderr"), filepath.Join(j.Dir, "job.sh")} {
		if uid := ownerOf(t, f); uid != alice.uid {
			t.Errorf("%s is owned by uid %d; want alice's %d", f, uid, alice.uid)
		}
	}
	// gstat -j reports the end, as the user sees it.
	r = s.run(alice, "", "gstat", "-j", strconv.FormatInt(id, 10))
	if r.code != 0 || !strings.Contains(r.stdout, "exit_status:") || !strings.Contains(r.stdout, "3") {
		t.Errorf("gstat -j: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Its container is gone once the exit is recorded.
	if out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=godocker.job="+strconv.FormatInt(id, 10)).Output(); strings.TrimSpace(string(out)) != "" {
		// Another test server may use the same id; only ours matter.
		if c, _ := exec.Command("docker", "inspect", "-f", "{{range .Mounts}}{{.Source}} {{end}}", strings.Fields(string(out))[0]).Output(); strings.Contains(string(c), s.dir) {
			t.Errorf("container of finished job %d still exists", id)
		}
	}
}

// TestLimitsInContainer: what the engine was told to enforce.
func TestLimitsInContainer(t *testing.T) {
	s := startServer(t, "limits:\n  pids: 512\n")
	alice := lookup(t, "gdtest-alice")
	id := s.submit(alice, "sleep 300\n", "-l", "h_vmem=96M", "-pe", "smp", "1", "-N", "limits")
	j := s.waitState(id, api.Running)
	// The job is marked running just before its container is created.
	s.wait(id, 30*time.Second, "in its container", func(*api.Job) bool {
		return exec.Command("docker", "inspect", j.Container).Run() == nil
	})
	out, err := exec.Command("docker", "inspect", "-f",
		`{{.Config.User}}|{{.HostConfig.NanoCpus}}|{{.HostConfig.Memory}}|{{.HostConfig.MemorySwap}}|{{.HostConfig.PidsLimit}}|{{.HostConfig.SecurityOpt}}|{{.HostConfig.CapDrop}}|{{.Config.Labels}}`,
		j.Container).Output()
	if err != nil {
		t.Fatalf("docker inspect %s: %v", j.Container, err)
	}
	f := strings.Split(strings.TrimSpace(string(out)), "|")
	mem := strconv.FormatInt(96<<20, 10)
	want := []string{fmt.Sprintf("%d:%d", alice.uid, alice.gid), "1000000000", mem, mem, "512", "[no-new-privileges]", "[ALL]"}
	for i, w := range want {
		if f[i] != w {
			t.Errorf("container field %d = %q; want %q (all: %q)", i, f[i], w, f)
		}
	}
	if !strings.Contains(f[7], "godocker.job:"+strconv.FormatInt(id, 10)) || !strings.Contains(f[7], "godocker.user:gdtest-alice") {
		t.Errorf("labels = %s", f[7])
	}
	mounts, _ := exec.Command("docker", "inspect", "-f", `{{range .Mounts}}{{.Destination}}:{{.RW}} {{end}}`, j.Container).Output()
	for _, w := range []string{alice.home + ":true", j.Dir + ":true"} {
		if !strings.Contains(string(mounts), w) {
			t.Errorf("mounts = %s; want %s", mounts, w)
		}
	}
	if r := s.run(alice, "", "gdel", strconv.FormatInt(id, 10)); r.code != 0 {
		t.Errorf("gdel: %d %s", r.code, r.stdout)
	}
	s.waitState(id, api.Killed)
}

// TestDeleteAndPrivacy: gdel of a pending and a running job; another user
// can neither delete the job nor read its output or script.
func TestDeleteAndPrivacy(t *testing.T) {
	s := startServer(t, "executors:\n  - type: docker\n    cpus: 1\n")
	alice, bob := lookup(t, "gdtest-alice"), lookup(t, "gdtest-bob")
	run := s.submit(alice, "echo SECRET-OUTPUT\necho SECRET-SCRIPT >/dev/null\nsleep 300\n", "-N", "private")
	j := s.waitState(run, api.Running)
	wait := s.submit(alice, "echo later\n")
	s.wait(wait, 30*time.Second, "waiting for cpus", func(j *api.Job) bool {
		return j.State == api.Pending && strings.Contains(j.Reason.Message, "needs 1 cpu")
	})

	// gstat shows both, as Grid Engine would.
	r := s.run(alice, "", "gstat")
	if !strings.Contains(r.stdout, "job-ID") || !strings.Contains(r.stdout, " r ") || !strings.Contains(r.stdout, " qw ") {
		t.Errorf("gstat:\n%s%s", r.stdout, r.stderr)
	}

	// bob tries.
	r = s.run(bob, "", "gdel", strconv.FormatInt(run, 10))
	if r.code == 0 || !strings.Contains(r.stdout, "do not have the necessary privileges") {
		t.Errorf("bob's gdel: exit %d %q", r.code, r.stdout)
	}
	s.wait(run, 5*time.Second, "still running", func(j *api.Job) bool { return j.State == api.Running && !j.Deleting })
	s.wait(run, 30*time.Second, "writing output", func(*api.Job) bool {
		b, _ := os.ReadFile(filepath.Join(j.Dir, "stdout"))
		return strings.Contains(string(b), "SECRET-OUTPUT")
	})
	catCmd := exec.Command("/bin/cat", filepath.Join(j.Dir, "stdout"), filepath.Join(j.Dir, "job.sh"))
	catCmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(bob.uid), Gid: uint32(bob.gid)}}
	if out, err := catCmd.CombinedOutput(); err == nil || strings.Contains(string(out), "SECRET") {
		t.Errorf("bob read alice's job files: %v %q", err, out)
	}
	r = s.run(bob, "", "gstat", "-j", strconv.FormatInt(run, 10))
	if strings.Contains(r.stdout, "SECRET") {
		t.Errorf("bob's gstat -j shows alice's script:\n%s", r.stdout)
	}

	// alice deletes both.
	r = s.run(alice, "", "gdel", strconv.FormatInt(wait, 10)+","+strconv.FormatInt(run, 10))
	if r.code != 0 ||
		!strings.Contains(r.stdout, fmt.Sprintf("gdtest-alice has deleted job %d", wait)) ||
		!strings.Contains(r.stdout, fmt.Sprintf("gdtest-alice has registered the job %d for deletion", run)) {
		t.Errorf("gdel: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	s.waitState(wait, api.Cancelled)
	k := s.waitState(run, api.Killed)
	if k.ExitCode == nil || *k.ExitCode != 137 {
		t.Errorf("killed job exit code = %v; want 137 (SIGKILL)", k.ExitCode)
	}
	if r := s.run(alice, "", "gdel", "999999"); r.code != 1 || !strings.Contains(r.stdout, `denied: job "999999" does not exist`) {
		t.Errorf("gdel of a missing job: %d %q", r.code, r.stdout)
	}
}

// TestRestartLosesNothing: godockerd killed -9 while jobs run and wait;
// one job ends while it is down. After the restart every job is accounted
// for, with its exit code.
func TestRestartLosesNothing(t *testing.T) {
	s := startServer(t, "executors:\n  - type: docker\n    cpus: 1\n")
	alice := lookup(t, "gdtest-alice")
	ends := s.submit(alice, "sleep 2\necho finished-while-down\nexit 5\n")
	s.waitState(ends, api.Running)
	queued := s.submit(alice, "echo ran-after-restart\n")
	s.waitState(queued, api.Pending)

	s.stop(syscall.SIGKILL)
	// The first job ends while no server runs.
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _ := exec.Command("docker", "ps", "-q", "--filter", "label=godocker.job="+strconv.FormatInt(ends, 10), "--filter", "status=running").Output()
		if strings.TrimSpace(string(out)) == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the job's container did not end")
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.start()

	j := s.waitState(ends, api.Failed)
	if j.ExitCode == nil || *j.ExitCode != 5 {
		t.Errorf("exit code recorded after restart = %v; want 5", j.ExitCode)
	}
	if out := readFile(t, filepath.Join(j.Dir, "stdout")); out != "finished-while-down\n" {
		t.Errorf("stdout = %q", out)
	}
	q := s.waitState(queued, api.Done)
	if out := readFile(t, filepath.Join(q.Dir, "stdout")); out != "ran-after-restart\n" {
		t.Errorf("stdout of the queued job = %q", out)
	}
}

// TestRefusals: bad input gets a clear error, a non-zero exit, and no job.
func TestRefusals(t *testing.T) {
	s := startServer(t, "volumes:\n  - name: bobs\n    path: /srv\n    users: [gdtest-bob]\n")
	alice := lookup(t, "gdtest-alice")
	for name, tc := range map[string]struct {
		stdin string
		args  []string
		want  string
	}{
		"image":     {"true\n", []string{"--image", "evil/miner:latest"}, `image "evil/miner:latest" is not allowed`},
		"volume":    {"true\n", []string{"--volume", "bobs"}, `may not mount volume "bobs"`},
		"cpus":      {"true\n", []string{"-pe", "smp", "4096"}, "cpus"},
		"memory":    {"true\n", []string{"-l", "h_vmem=900T"}, "memory"},
		"cwd":       {"true\n", []string{"-wd", "/root"}, "/root"},
		"directive": {"#$ -l h_rt=soon\ntrue\n", nil, "h_rt"},
		"empty":     {"", nil, "empty"},
	} {
		t.Run(name, func(t *testing.T) {
			r := s.run(alice, tc.stdin, "gsub", tc.args...)
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("gsub %v: exit %d, stderr %q; want non-zero and %q", tc.args, r.code, r.stderr, tc.want)
			}
		})
	}
	jobs, err := s.api.Jobs(context.Background(), client.Query{Users: []string{"*"}})
	if err != nil || len(jobs) != 0 {
		t.Errorf("refused submissions stored %d jobs (%v)", len(jobs), err)
	}
	// A uid the machine does not know.
	stranger := account{name: "nobody-known", uid: 48213, gid: 48213, home: "/"}
	if r := s.run(stranger, "true\n", "gsub"); r.code == 0 || !strings.Contains(r.stderr, "not a known user") {
		t.Errorf("unknown uid: exit %d, %q", r.code, r.stderr)
	}
}

// TestSync: gsub -sync y waits and exits with the job's code.
func TestSync(t *testing.T) {
	s := startServer(t, "")
	alice := lookup(t, "gdtest-alice")
	r := s.run(alice, "exit 4\n", "gsub", "-sync", "y", "-N", "syncjob")
	if r.code != 4 || !strings.Contains(r.stdout, "exited with exit code 4") {
		t.Errorf("gsub -sync y: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	r = s.run(alice, "", "gsub", "-sync", "y", "-b", "y", "sh", "-c", "echo $0 > out.txt", "hello")
	if r.code != 0 {
		t.Fatalf("gsub -b y -sync y: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	id, _ := strconv.ParseInt(strings.Fields(r.stdout)[2], 10, 64)
	j, err := s.api.Job(context.Background(), api.JobRef{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	if out := readFile(t, filepath.Join(j.Dir, "out.txt")); out != "hello\n" {
		t.Errorf("the -b y command wrote %q; want its arguments passed as is", out)
	}
}

// TestAdminAndGridEngineNames: a user listed in admins may delete others'
// jobs, and the qsub/qstat/qdel names behave as the g* ones.
func TestAdminAndGridEngineNames(t *testing.T) {
	s := startServer(t, "admins: [gdtest-bob]\n")
	alice, bob := lookup(t, "gdtest-alice"), lookup(t, "gdtest-bob")
	r := s.run(alice, "sleep 300\n", "qsub", "-N", "viaqsub")
	if r.code != 0 || !strings.Contains(r.stdout, `("viaqsub") has been submitted`) {
		t.Fatalf("qsub: %d %q %q", r.code, r.stdout, r.stderr)
	}
	id := strings.Fields(r.stdout)[2]
	n, _ := strconv.ParseInt(id, 10, 64)
	s.waitState(n, api.Running)
	r = s.run(bob, "", "qstat", "-u", "*")
	if !strings.Contains(r.stdout, "viaqsub") || !strings.Contains(r.stdout, "gdtest-alice") {
		t.Errorf("qstat -u '*' as bob:\n%s%s", r.stdout, r.stderr)
	}
	r = s.run(bob, "", "qdel", id)
	if r.code != 0 || !strings.Contains(r.stdout, "gdtest-bob has registered the job "+id+" for deletion") {
		t.Errorf("admin qdel: %d %q", r.code, r.stdout)
	}
	k := s.waitState(n, api.Killed)
	if !strings.Contains(k.Reason.Message, "deleted by gdtest-bob") {
		t.Errorf("reason = %q", k.Reason.Message)
	}
}

// TestFairShareOnOneNode: two users compete for a one-cpu node. alice got
// there first and keeps submitting; once her first job ends, bob's job goes
// before her queued ones, because she has used the node and he has not.
func TestFairShareOnOneNode(t *testing.T) {
	// The executor's own policy overrides scheduler.policy (fifo).
	s := startServer(t, "executors:\n  - type: docker\n    cpus: 1\n    policy: fairshare\n")
	alice, bob := lookup(t, "gdtest-alice"), lookup(t, "gdtest-bob")
	first := s.submit(alice, "sleep 2\n", "-N", "a1")
	s.waitState(first, api.Running)
	a2 := s.submit(alice, "sleep 1\n", "-N", "a2")
	a3 := s.submit(alice, "sleep 1\n", "-N", "a3")
	b1 := s.submit(bob, "sleep 1\n", "-N", "b1")

	// While they wait, gstat -j explains their priority.
	s.wait(a2, 30*time.Second, "given a priority", func(j *api.Job) bool { return len(j.Priority.Parts) > 0 })
	r := s.run(alice, "", "gstat", "-j", strconv.FormatInt(a2, 10))
	if !strings.Contains(r.stdout, "priority:") || !strings.Contains(r.stdout, "user_time") {
		t.Errorf("gstat -j of a waiting job shows no fair-share priority:\n%s%s", r.stdout, r.stderr)
	}
	var started []time.Time
	for _, id := range []int64{b1, a2, a3} {
		started = append(started, s.waitState(id, api.Done).Started)
	}
	if !started[0].Before(started[1]) || !started[0].Before(started[2]) {
		t.Errorf("bob's job started at %v, alice's queued ones at %v and %v; fair share should have put bob's first",
			started[0].Format(time.StampMilli), started[1].Format(time.StampMilli), started[2].Format(time.StampMilli))
	}
}

// TestMaintenanceMode: root turns it on with gctl; alice's gsub is refused
// with exit 25 and the reason; gstat still answers; a restart keeps it.
func TestMaintenanceMode(t *testing.T) {
	s := startServer(t, "")
	alice := lookup(t, "gdtest-alice")
	root := account{name: "root", uid: 0, gid: 0, home: "/root"}
	if r := s.run(alice, "", "gctl", "maintenance", "on"); r.code != 1 || !strings.Contains(r.stderr, "only admins") {
		t.Errorf("alice's gctl maintenance on: %d %q", r.code, r.stderr)
	}
	if r := s.run(root, "", "gctl", "maintenance", "on", "disk", "swap"); r.code != 0 || r.stdout != "maintenance: on (disk swap)\n" {
		t.Fatalf("root's gctl maintenance on: %d %q %q", r.code, r.stdout, r.stderr)
	}
	s.stop(syscall.SIGTERM)
	s.start()
	r := s.run(alice, "true\n", "gsub")
	if r.code != 25 || !strings.Contains(r.stderr, "Unable to run job: GoDocker is in maintenance (disk swap)") {
		t.Errorf("gsub in maintenance: exit %d %q; want 25 and the reason", r.code, r.stderr)
	}
	if r := s.run(alice, "", "gstat", "-u", "*"); r.code != 0 {
		t.Errorf("gstat in maintenance: %d %q", r.code, r.stderr)
	}
	if r := s.run(alice, "", "gctl", "maintenance"); r.stdout != "maintenance: on (disk swap)\n" {
		t.Errorf("gctl maintenance as alice: %q", r.stdout)
	}
	s.run(root, "", "gctl", "maintenance", "off")
	if r := s.run(alice, "true\n", "gsub", "-terse"); r.code != 0 {
		t.Errorf("gsub after maintenance: %d %q", r.code, r.stderr)
	}
}

// TestCheckConfig: godockerd check-config prints the effective
// configuration (file, environment, defaults) and refuses a bad one.
func TestCheckConfig(t *testing.T) {
	if skipAll != "" {
		t.Skip(skipAll)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("shared_dir: /srv/jobs\nadmins: [alice]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "godockerd"), "--config", good, "check-config")
	cmd.Env = append(os.Environ(), "GODOCKER_SCHEDULER_POLICY=fairshare")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("check-config of a good file: %v", err)
	}
	for _, want := range []string{"shared_dir: /srv/jobs", "policy: fairshare", "- alice", "dsn: /var/lib/godocker/godocker.db"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("check-config output lacks %q:\n%s", want, out)
		}
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("scheduler:\n  policy: lottery\nvolumes: [{name: d, path: rel, acl: rw}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(filepath.Join(bin, "godockerd"), "--config", bad, "check-config").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "lottery") || !strings.Contains(string(out), "volumes[d]") {
		t.Errorf("check-config of a bad file: %v\n%s; want exit 1 naming every problem", err, out)
	}
}
