package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/cluster"
	"github.com/godocker/godocker/config"
	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/executor/sim"
	"github.com/godocker/godocker/store"
	"github.com/godocker/godocker/store/sqlite"
)

// These tests drive the server in process, with the sim executor (their
// subject is the server, not a container platform) and a real sqlite
// store. Callers are made up: the kernel's side of identity (SO_PEERCRED)
// is tested end to end in e2e/ with real users.

const gib = int64(1) << 30

type harness struct {
	t     testing.TB
	srv   *Server
	sim   *sim.Sim
	sims  map[string]*sim.Sim // by executor name, sim included
	st    store.Store
	bus   *cluster.Local
	cfg   *config.Config
	alice *caller
	bob   *caller
	admin *caller
}

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("these tests create job directories owned by other users and need root; CI runs as root")
		}
		t.Skip("needs root (job directories are chowned to their users)")
	}
}

func newHarness(t testing.TB, tweak func(*config.Config), setup ...func(*Server)) *harness {
	t.Helper()
	requireRoot(t)
	dir := t.TempDir()
	cfg := config.Default()
	cfg.StateDir = filepath.Join(dir, "state")
	cfg.SharedDir = filepath.Join(dir, "jobs")
	cfg.Socket = filepath.Join(dir, "godockerd.sock")
	cfg.Executors = []executor.Config{{Name: "sim", Type: "sim"}}
	cfg.Scheduler.Interval = config.Duration(time.Hour) // passes run when woken
	cfg.Scheduler.Reconcile = config.Duration(time.Hour)
	cfg.SSHGateway.Listen = "" // the gateway has tests of its own
	if tweak != nil {
		tweak(cfg)
	}
	for _, d := range []string{cfg.StateDir, cfg.SharedDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(cfg.StateDir, "godocker.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// The first executor is the simulator "sim" with one node n1; more
	// configured by tweak are simulators too (sim.Open).
	ex := sim.New(executor.Node{Name: "n1", CPUs: 2, Memory: 4 * gib})
	execs, sims := []executor.Executor{ex}, map[string]*sim.Sim{"sim": ex}
	for _, ec := range cfg.Executors[1:] {
		more, err := sim.Open(ec.Name, ec)
		if err != nil {
			t.Fatal(err)
		}
		execs, sims[ec.Name] = append(execs, more), more
	}
	bus := cluster.NewLocal()
	h := &harness{t: t, sim: ex, sims: sims, st: st, bus: bus, cfg: cfg,
		srv: New(cfg, st, execs, bus, slog.New(slog.NewTextHandler(testLog(), nil)))}
	for _, f := range setup {
		f(h.srv)
	}
	h.alice = h.user("alice", 5001)
	h.bob = h.user("bob", 5002)
	h.admin = &caller{Identity: api.Identity{User: "root", UID: 0, GID: 0, Admin: true}, Home: "/root"}

	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("unix", cfg.Socket)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return h
}

// user makes a caller with a home directory of its own.
func (h *harness) user(name string, uid int) *caller {
	base := h.t.TempDir()
	// Test temp dirs are root's with mode 0700; a home must be reachable.
	for _, d := range []string{base, filepath.Dir(base)} {
		if err := os.Chmod(d, 0o755); err != nil {
			h.t.Fatal(err)
		}
	}
	home := filepath.Join(base, name)
	if err := os.Mkdir(home, 0o700); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Chown(home, uid, uid); err != nil {
		h.t.Fatal(err)
	}
	return &caller{Identity: api.Identity{User: name, UID: uid, GID: uid}, Group: name, Home: home}
}

func script(s string) api.Spec {
	return api.Spec{Name: "job", Script: s, CPUs: 1, Memory: gib}
}

func (h *harness) submit(c *caller, spec api.Spec) *api.Job {
	h.t.Helper()
	j, err := h.srv.submit(context.Background(), c, spec)
	if err != nil {
		h.t.Fatalf("submit: %v", err)
	}
	h.srv.publish(api.EventSubmitted, j)
	h.srv.poke()
	return j
}

// fillNode runs a job of c's that takes the whole node (2 cpus) until the
// test finishes it, and returns it.
func (h *harness) fillNode(c *caller) *api.Job {
	h.t.Helper()
	spec := script("sleep")
	spec.CPUs = 2
	j := h.submit(c, spec)
	return h.waitState(j.ID, api.Running)
}

// finish makes the container of job id exit with code, once it exists:
// a job is marked running before its container is started in the
// background (launchLater), and the simulator cannot end a container it
// has not started yet.
func (h *harness) finish(id int64, code int) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := h.sim.Finish(id, code)
		if err == nil {
			return
		}
		if !errors.Is(err, executor.ErrNotFound) || time.Now().After(deadline) {
			h.t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// launched waits for job id's container to exist, and returns the job:
// its directory is made then, just before the container.
func (h *harness) launched(id int64) *api.Job {
	h.t.Helper()
	return h.wait(id, func(j *api.Job) bool {
		st, err := h.sim.Inspect(context.Background(), j)
		return err == nil && st.State != executor.StateMissing
	})
}

// waitState waits (bounded) for the job to reach state, watching the bus.
func (h *harness) waitState(id int64, want api.State) *api.Job {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	events := h.bus.Subscribe(ctx)
	for {
		j, err := h.st.Job(ctx, id)
		if err != nil {
			h.t.Fatal(err)
		}
		if j.State == want {
			return j
		}
		select {
		case <-events:
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			h.t.Fatalf("job %d is %s (%s), not %s", id, j.State, j.Reason.Message, want)
		}
	}
}

func TestFIFOWithinCapacity(t *testing.T) {
	h := newHarness(t, nil)
	a := h.submit(h.alice, script("echo a"))
	b := h.submit(h.alice, script("echo b"))
	c := h.submit(h.bob, script("echo c"))
	h.waitState(a.ID, api.Running)
	h.waitState(b.ID, api.Running)
	waiting := h.waitState(c.ID, api.Pending)
	// The node has 2 cpus: the third job waits, and says why.
	for !strings.Contains(waiting.Reason.Message, "needs 1 cpu") {
		time.Sleep(20 * time.Millisecond)
		waiting, _ = h.st.Job(context.Background(), c.ID)
	}
	if waiting.Reason.Code != api.ReasonResources {
		t.Errorf("reason code = %q", waiting.Reason.Code)
	}
	h.finish(a.ID, 0)
	done := h.waitState(a.ID, api.Done)
	if done.ExitCode == nil || *done.ExitCode != 0 || done.Ended.IsZero() {
		t.Errorf("finished job: exit %v ended %v", done.ExitCode, done.Ended)
	}
	h.waitState(c.ID, api.Running)
	h.finish(b.ID, 3)
	failed := h.waitState(b.ID, api.Failed)
	if *failed.ExitCode != 3 || failed.Reason.Message != "exited with code 3" {
		t.Errorf("failed job: exit %d reason %q", *failed.ExitCode, failed.Reason.Message)
	}
}

func TestHeldJobDoesNotStart(t *testing.T) {
	h := newHarness(t, nil)
	spec := script("echo held")
	spec.Hold = true
	held := h.submit(h.alice, spec)
	after := h.submit(h.alice, script("echo next"))
	h.waitState(after.ID, api.Running)
	if j, _ := h.st.Job(context.Background(), held.ID); j.State != api.Held {
		t.Errorf("held job is %s", j.State)
	}
}

func TestDelete(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {})
	ctx := context.Background()
	run := h.submit(h.alice, script("sleep 100"))
	h.waitState(run.ID, api.Running)
	spec := script("echo later")
	spec.CPUs = 2
	wait := h.submit(h.alice, spec)
	h.waitState(wait.ID, api.Pending)

	// Another user may not delete it, and nothing changes.
	if _, err := h.srv.delete(ctx, h.bob, run.ID); !errors.Is(err, api.ErrDenied) {
		t.Fatalf("bob deleting alice's job: %v; want denied", err)
	}
	if j, _ := h.st.Job(ctx, run.ID); j.State != api.Running || j.Deleting {
		t.Fatalf("after a refused delete the job is %s (deleting %v)", j.State, j.Deleting)
	}

	res, err := h.srv.delete(ctx, h.alice, wait.ID)
	if err != nil || res.Action != api.ActionDeleted {
		t.Fatalf("delete pending: %+v, %v", res, err)
	}
	h.waitState(wait.ID, api.Cancelled)

	res, err = h.srv.delete(ctx, h.alice, run.ID)
	if err != nil || res.Action != api.ActionRegistered {
		t.Fatalf("delete running: %+v, %v", res, err)
	}
	killed := h.waitState(run.ID, api.Killed)
	if killed.Reason.Code != api.ReasonDeleted || !strings.Contains(killed.Reason.Message, "alice") {
		t.Errorf("killed reason = %+v", killed.Reason)
	}
	if _, err := h.srv.delete(ctx, h.alice, run.ID); !errors.Is(err, api.ErrConflict) {
		t.Errorf("deleting a finished job: %v; want conflict", err)
	}
	if _, err := h.srv.delete(ctx, h.alice, 9999); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("deleting a missing job: %v; want not found", err)
	}
	// Admins may delete anybody's job.
	other := h.submit(h.bob, script("sleep 100"))
	h.waitState(other.ID, api.Running)
	if _, err := h.srv.delete(ctx, h.admin, other.ID); err != nil {
		t.Errorf("admin delete: %v", err)
	}
	h.waitState(other.ID, api.Killed)
}

// TestJobDirectory: a job's directory is made when it starts, the user's,
// with the script in it; a job that never started has none.
func TestJobDirectory(t *testing.T) {
	h := newHarness(t, nil)
	held := script("true\n")
	held.Hold = true
	if j := h.submit(h.alice, held); dirExists(j.Dir) {
		t.Errorf("held job %d has a directory already", j.ID)
	}
	j := h.launched(h.submit(h.alice, script("#!/bin/sh\necho hi\n")).ID)
	fi, err := os.Stat(j.Dir)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != 5001 || fi.Mode().Perm() != 0o700 {
		t.Errorf("job dir %s: uid %d mode %v; want alice's, 0700", j.Dir, st.Uid, fi.Mode().Perm())
	}
	b, err := os.ReadFile(filepath.Join(j.Dir, ScriptName))
	if err != nil || string(b) != "#!/bin/sh\necho hi\n" {
		t.Errorf("script = %q, %v", b, err)
	}
	if j.Dir != filepath.Join(h.cfg.SharedDir, "alice", "2") || j.Stdout != filepath.Join(j.Dir, "stdout") {
		t.Errorf("dir %s stdout %s", j.Dir, j.Stdout)
	}
	// The user's directory is root's: alice cannot swap it for a link.
	ud, _ := os.Lstat(filepath.Dir(j.Dir))
	if ud.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Error("SharedDir/alice is not owned by root")
	}
	// The server sets SharedDir/alice up once; an admin who removes it
	// does not stop alice's next submission, which sets it up again.
	if err := os.RemoveAll(filepath.Dir(j.Dir)); err != nil {
		t.Fatal(err)
	}
	again := h.launched(h.submit(h.alice, script("true\n")).ID)
	ud, err = os.Lstat(filepath.Dir(again.Dir))
	if err != nil || !ud.IsDir() || ud.Sys().(*syscall.Stat_t).Uid != 0 || ud.Mode().Perm() != 0o750 {
		t.Errorf("SharedDir/alice after its removal: %v, %v", ud, err)
	}
	if _, err := os.Stat(filepath.Join(again.Dir, ScriptName)); err != nil {
		t.Errorf("the next job's script: %v", err)
	}
}

func TestRun(t *testing.T) {
	h := newHarness(t, nil)
	spec := script("#!/usr/bin/env python3\nprint(1)\n")
	spec.Args = []string{"x y"}
	spec.Env = map[string]string{"FOO": "bar", "JOB_ID": "forged"}
	spec.CPUs = 2
	j := h.waitState(h.submit(h.alice, spec).ID, api.Running)
	r := j.Run
	if r.UID != 5001 || r.GID != 5001 || r.CPUs != 2 || r.Memory != gib || r.Pids != 4096 {
		t.Errorf("run identity/limits: %+v", r)
	}
	wantArgv := []string{"exec", "/usr/bin/env", "python3", filepath.Join(j.Dir, "job.sh"), "x y"}
	if got := r.Argv[6:]; strings.Join(got, "|") != strings.Join(wantArgv, "|") {
		t.Errorf("argv tail = %q; want %q", got, wantArgv)
	}
	if r.Argv[4] != j.Stdout || r.Argv[5] != j.Stderr {
		t.Errorf("wrapper output args = %q %q", r.Argv[4], r.Argv[5])
	}
	env := strings.Join(r.Env, "\n")
	for _, want := range []string{"FOO=bar", "JOB_ID=1", "GODOCKER_JID=1", "SGE_TASK_ID=undefined", "NSLOTS=2", "SLURM_JOB_ID=1", "HOME=" + h.alice.Home, "GODOCKER_PWD=" + j.Dir} {
		if !strings.Contains(env+"\n", want+"\n") {
			t.Errorf("environment lacks %s", want)
		}
	}
	mounts := map[string]api.Mount{}
	for _, m := range r.Mounts {
		mounts[m.Target] = m
	}
	if m, ok := mounts[h.alice.Home]; !ok || m.ReadOnly {
		t.Errorf("home mount = %+v, %v; want read-write", m, ok)
	}
	if _, ok := mounts[j.Dir]; !ok || len(mounts) != 2 {
		t.Errorf("mounts = %+v; want home and job dir only", r.Mounts)
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Volumes = []config.Volume{
			{Name: "ref", Path: "/usr/share", Mount: "/ref", ACL: "ro"},
			{Name: "private", Path: "/srv", Mount: "/srv", ACL: "rw", Users: []string{"bob"}},
		}
	})
	forbidden := t.TempDir() // root's, mode 0700
	if err := os.Chmod(forbidden, 0o700); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		spec api.Spec
		want string
		code error
	}{
		"image":           {api.Spec{Name: "j", Script: "x", Image: "evil:latest"}, `image "evil:latest" is not allowed`, api.ErrInvalid},
		"volume unknown":  {api.Spec{Name: "j", Script: "x", Volumes: []string{"nope"}}, `volume "nope" does not exist`, api.ErrInvalid},
		"volume denied":   {api.Spec{Name: "j", Script: "x", Volumes: []string{"private"}}, `may not mount volume "private"`, api.ErrDenied},
		"volume rw on ro": {api.Spec{Name: "j", Script: "x", Volumes: []string{"ref:rw"}}, "read-only", api.ErrDenied},
		"too many cpus":   {api.Spec{Name: "j", Script: "x", CPUs: 64}, "asks for 64 cpus; at most 2", api.ErrInvalid},
		"negative cpus":   {api.Spec{Name: "j", Script: "x", CPUs: -1}, "must be 1 or more", api.ErrInvalid},
		"absurd memory":   {api.Spec{Name: "j", Script: "x", Memory: 1 << 50}, "at most 4G", api.ErrInvalid},
		"negative memory": {api.Spec{Name: "j", Script: "x", Memory: -5}, "must not be negative", api.ErrInvalid},
		"tiny memory":     {api.Spec{Name: "j", Script: "x", Memory: 1000}, "too small", api.ErrInvalid},
		"empty script":    {api.Spec{Name: "j", Script: "  \n"}, "the script is empty", api.ErrInvalid},
		"script and cmd":  {api.Spec{Name: "j", Script: "x", Command: []string{"true"}}, "not both", api.ErrInvalid},
		"name digit":      {api.Spec{Name: "1job", Script: "x"}, "starts with a digit", api.ErrInvalid},
		"name slash":      {api.Spec{Name: "a/b", Script: "x"}, "choose another with -N", api.ErrInvalid},
		"cwd forbidden":   {api.Spec{Name: "j", Script: "x", Cwd: forbidden}, "may not use directory", api.ErrDenied},
		"cwd missing":     {api.Spec{Name: "j", Script: "x", Cwd: "/nonexistent/dir"}, "does not exist", api.ErrInvalid},
		"cwd invisible":   {api.Spec{Name: "j", Script: "x", Cwd: "/tmp"}, "not visible in the job's container", api.ErrInvalid},
		"stdout invisble": {api.Spec{Name: "j", Script: "x", Stdout: "/tmp/out"}, "not visible", api.ErrInvalid},
		"root":            {api.Spec{Name: "j", Script: "x", Root: true}, "may not run jobs as root", api.ErrDenied},
		"priority up":     {api.Spec{Name: "j", Script: "x", Priority: 10}, "only admins", api.ErrDenied},
		"bad env":         {api.Spec{Name: "j", Script: "x", Env: map[string]string{"A-B": "1"}}, "not valid", api.ErrInvalid},
		"project":         {api.Spec{Name: "j", Script: "x", Project: "bio"}, `project "bio" does not exist`, api.ErrInvalid},
		"shell relative":  {api.Spec{Name: "j", Script: "x", Shell: "bash"}, "absolute path", api.ErrInvalid},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := h.srv.submit(context.Background(), h.alice, tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.code) {
				t.Errorf("submit: %v; want a %v error containing %q", err, tc.code, tc.want)
			}
		})
	}
	jobs, err := h.st.Jobs(context.Background(), store.Query{})
	if err != nil || len(jobs) != 0 {
		t.Errorf("after refused submissions the store holds %d jobs (%v)", len(jobs), err)
	}
	if entries, _ := os.ReadDir(h.cfg.SharedDir); len(entries) != 0 {
		t.Errorf("refused submissions left %d entries in the shared dir", len(entries))
	}
	// The working directory and a read-only volume, used properly, work.
	ok := api.Spec{Name: "j", Script: "x", Cwd: h.alice.Home, Volumes: []string{"ref"}, Stdout: "out.txt"}
	submitted, err := h.srv.submit(context.Background(), h.alice, ok)
	if err != nil {
		t.Fatalf("valid submission refused: %v", err)
	}
	h.srv.poke()
	j := h.waitState(submitted.ID, api.Running)
	if j.Run.WorkDir != h.alice.Home || j.Stdout != filepath.Join(h.alice.Home, "out.txt") {
		t.Errorf("workdir %s stdout %s", j.Run.WorkDir, j.Stdout)
	}
}

func TestRootJobsWhereAllowed(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.RootUsers = []string{"alice"} })
	spec := script("id")
	spec.Root = true
	j := h.waitState(h.submit(h.alice, spec).ID, api.Running)
	if j.Run.UID != 0 {
		t.Errorf("root job runs as uid %d", j.Run.UID)
	}
	for _, m := range j.Run.Mounts {
		if m.Target == h.alice.Home && !m.ReadOnly {
			t.Error("a root job's home must be mounted read-only")
		}
	}
	// root itself is not a user that submits jobs, unless configured.
	if _, err := h.srv.submit(context.Background(), h.admin, script("id")); !errors.Is(err, api.ErrDenied) {
		t.Errorf("root submitting: %v; want denied", err)
	}
}

// TestAPI goes through HTTP: status codes, visibility, listing filters.
func TestAPI(t *testing.T) {
	h := newHarness(t, nil)
	spec := script("echo SECRET-MARKER")
	spec.Env = map[string]string{"TOKEN": "SECRET-ENV"}
	j := h.submit(h.alice, spec)

	do := func(c *caller, method, path string, body string) (*http.Response, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req = req.WithContext(context.WithValue(req.Context(), callerKey, c))
		rec := httptest.NewRecorder()
		h.srv.Handler().ServeHTTP(rec, req)
		return rec.Result(), rec.Body.String()
	}
	resp, body := do(h.bob, "GET", "/api/v1/jobs/1", "")
	if resp.StatusCode != 200 || strings.Contains(body, "SECRET") {
		t.Errorf("bob reading alice's job: %d %s; want 200 without script or environment", resp.StatusCode, body)
	}
	resp, body = do(h.alice, "GET", "/api/v1/jobs/1", "")
	if resp.StatusCode != 200 || !strings.Contains(body, "SECRET-MARKER") {
		t.Errorf("alice reading her job: %d", resp.StatusCode)
	}
	resp, _ = do(h.alice, "GET", "/api/v1/jobs/77", "")
	if resp.StatusCode != 404 {
		t.Errorf("missing job: %d; want 404", resp.StatusCode)
	}
	resp, _ = do(h.alice, "GET", "/api/v1/jobs/x", "")
	if resp.StatusCode != 400 {
		t.Errorf("bad id: %d; want 400", resp.StatusCode)
	}
	list := func(c *caller, query string) []*api.Job {
		resp, body := do(c, "GET", "/api/v1/jobs"+query, "")
		if resp.StatusCode != 200 {
			t.Fatalf("list %s: %d %s", query, resp.StatusCode, body)
		}
		var jobs []*api.Job
		if err := json.Unmarshal([]byte(body), &jobs); err != nil {
			t.Fatal(err)
		}
		return jobs
	}
	if n := len(list(h.bob, "")); n != 0 {
		t.Errorf("bob's default listing shows %d jobs; want only his own (0)", n)
	}
	if jobs := list(h.bob, "?user=*"); len(jobs) != 1 || jobs[0].ID != j.ID || jobs[0].Spec.Script != "" {
		t.Errorf("bob listing everybody's: %+v", jobs)
	}
	if n := len(list(h.alice, "?state=done")); n != 0 {
		t.Errorf("state filter: %d done jobs", n)
	}
	resp, _ = do(h.alice, "GET", "/api/v1/jobs?state=bogus", "")
	if resp.StatusCode != 400 {
		t.Errorf("bad state: %d", resp.StatusCode)
	}
	// The brief view (gstat's table) is the same for everybody: the job's
	// state and request, never what it runs, even for its owner.
	for _, c := range []*caller{h.alice, h.bob} {
		resp, body := do(c, "GET", "/api/v1/jobs?user=*&view=brief", "")
		jobs := list(c, "?user=*&view=brief")
		if strings.Contains(body, "SECRET") || len(jobs) != 1 || jobs[0].ID != j.ID || jobs[0].User != "alice" ||
			jobs[0].State == "" || jobs[0].Run != nil || jobs[0].Spec.CPUs != j.Spec.CPUs {
			t.Errorf("brief listing as %s: %d %s", c.User, resp.StatusCode, body)
		}
	}
	resp, body = do(h.alice, "GET", "/api/v1/jobs?view=everything", "")
	if resp.StatusCode != 400 || !strings.Contains(body, "views: brief") {
		t.Errorf("unknown view: %d %s; want 400 naming the views", resp.StatusCode, body)
	}
	resp, body = do(h.alice, "POST", "/api/v1/jobs", `{"spec":{"name":"j","script":"x","image":"evil"}}`)
	if resp.StatusCode != 400 || !strings.Contains(body, `"code":"invalid"`) {
		t.Errorf("bad submission: %d %s", resp.StatusCode, body)
	}
	resp, _ = do(h.alice, "POST", "/api/v1/jobs", `{"spec":{"name":"j","script":"x"},"user":"bob"}`)
	if resp.StatusCode != 400 {
		t.Errorf("a request naming a user must be refused, got %d", resp.StatusCode)
	}
	// A body is one JSON value with each member once; names match
	// whatever their case, as they always have.
	count := func() int {
		n, err := h.st.Count(context.Background(), store.Query{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, bad := range []string{
		`{"spec":{"name":"j","script":"x","image":"godocker/base:latest","image":"evil"}}`,
		`{"spec":{"name":"j","script":"x"}} {"spec":{"name":"k","script":"y"}}`,
		"{\"spec\":{\"name\":\"j\xff\",\"script\":\"x\"}}",
	} {
		before := count()
		resp, body := do(h.alice, "POST", "/api/v1/jobs", bad)
		if resp.StatusCode != 400 || !strings.Contains(body, "malformed request") || count() != before {
			t.Errorf("submission %q: %d %s; want 400 malformed request, nothing stored", bad, resp.StatusCode, body)
		}
	}
	resp, body = do(h.alice, "POST", "/api/v1/jobs", `{"Spec":{"Name":"cased","SCRIPT":"x"}}`)
	if resp.StatusCode != 201 || !strings.Contains(body, `"name":"cased"`) {
		t.Errorf("submission with names in another case: %d %s; want it accepted", resp.StatusCode, body)
	}
	// A submission answers with the job, whole or brief, and where it is.
	for view, whole := range map[string]bool{"": true, "?view=brief": false} {
		resp, body = do(h.alice, "POST", "/api/v1/jobs"+view, `{"spec":{"name":"sub","script":"echo SECRET-2","cpus":1}}`)
		var got api.Job
		if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != 201 {
			t.Fatalf("submission%s: %d %s", view, resp.StatusCode, body)
		}
		if loc := resp.Header.Get("Location"); got.ID == 0 || got.Name != "sub" || got.State != api.Pending || loc != fmt.Sprintf("/api/v1/jobs/%d", got.ID) {
			t.Errorf("submission%s: id %d, name %q, state %s, Location %q", view, got.ID, got.Name, got.State, loc)
		}
		if hasScript := strings.Contains(body, "SECRET-2"); hasScript != whole {
			t.Errorf("submission%s answered with the script: %v, want %v: %s", view, hasScript, whole, body)
		}
	}
	before, _ := h.st.Count(context.Background(), store.Query{})
	resp, body = do(h.alice, "POST", "/api/v1/jobs?view=all", `{"spec":{"name":"sub","script":"x"}}`)
	if after, _ := h.st.Count(context.Background(), store.Query{}); resp.StatusCode != 400 || !strings.Contains(body, "views: brief") || after != before {
		t.Errorf("submission with an unknown view: %d %s, %d jobs stored; want 400 naming the views, none stored", resp.StatusCode, body, after-before)
	}
	resp, body = do(h.bob, "DELETE", "/api/v1/jobs/1", "")
	if resp.StatusCode != 403 {
		t.Errorf("bob deleting: %d %s", resp.StatusCode, body)
	}
}

func TestWalltime(t *testing.T) {
	h := newHarness(t, nil)
	spec := script("sleep 100")
	spec.Walltime = 1
	j := h.submit(h.alice, spec)
	h.waitState(j.ID, api.Running)
	k := h.waitState(j.ID, api.Killed)
	if k.Reason.Code != api.ReasonWalltime || !strings.Contains(k.Reason.Message, "walltime of 0:00:01") {
		t.Errorf("reason = %+v", k.Reason)
	}
	if d := k.Ended.Sub(k.Started); d < time.Second || d > 5*time.Second {
		t.Errorf("killed %v after it started; want just after its 1 s walltime", d)
	}
}

// TestRestartFindsRunningJobs: a server that stops while a job runs picks
// it up when it starts again, and records an exit that happened meanwhile.
func TestRestartFindsRunningJobs(t *testing.T) {
	h := newHarness(t, nil)
	j := h.submit(h.alice, script("sleep 100"))
	h.waitState(j.ID, api.Running)

	// A second server over the same store and platform, as after a
	// restart; the job ends before it starts.
	h.finish(j.ID, 4)
	srv2 := New(h.cfg, h.st, []executor.Executor{h.sim}, h.bus, h.srv.log)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv2.reconcile(ctx, h.sim)
	got := h.waitState(j.ID, api.Failed)
	if got.ExitCode == nil || *got.ExitCode != 4 {
		t.Errorf("exit code after restart: %v", got.ExitCode)
	}
}

// TestMarkedRunningWithoutContainer: the server stopped between marking a
// job running and starting its container; reconciliation starts it.
func TestMarkedRunningWithoutContainer(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {})
	ctx := context.Background()
	spec := script("x")
	spec.Hold = true
	j := h.submit(h.alice, spec)
	resolved := j.Clone()
	if err := h.srv.resolveExecution(ctx, resolved); err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.UpdateJob(ctx, j.ID, func(j *api.Job) error {
		j.State, j.Node, j.Started, j.Run = api.Running, "n1", time.Now(), resolved.Run
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The leader's own start-up reconciliation may be at it too: either
	// starts it, once.
	h.srv.reconcile(ctx, h.sim)
	if st, err := h.sim.Inspect(ctx, h.launched(j.ID)); err != nil || st.State != executor.StateRunning {
		t.Fatalf("after reconcile the container is %v (%v); want running", st.State, err)
	}
}

// TestSharedDirReachable: with shared_dir inside state_dir (the embedded
// default), users can reach their job directories.
func TestSharedDirReachable(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {})
	base := t.TempDir()
	// The test's own temp dirs (root's, 0700) stand for /var/lib.
	for _, d := range []string{base, filepath.Dir(base)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	state := filepath.Join(base, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	h.srv.cfg.StateDir, h.srv.cfg.SharedDir = state, filepath.Join(state, "jobs")
	if err := h.srv.prepareSharedDir(); err != nil {
		t.Fatal(err)
	}
	j := h.launched(h.submit(h.alice, script("echo")).ID)
	if !mayAccess(j.Dir, h.alice.UID, []int{h.alice.GID}, permRead|permWrite|permExec) {
		t.Errorf("alice cannot reach her job directory %s", j.Dir)
	}
	if mayAccess(j.Dir, h.bob.UID, []int{h.bob.GID}, permRead) {
		t.Errorf("bob can read alice's job directory %s", j.Dir)
	}
	if fi, _ := os.Stat(state); fi.Mode().Perm()&0o004 != 0 {
		t.Errorf("state_dir is listable by others: %v", fi.Mode())
	}
}

// TestFairShareOrdersByRecentUse: with the fairshare policy, a user who
// used the cluster heavily waits behind one who did not, even when she
// submitted first; both waiting jobs carry their priority and its parts.
func TestFairShareOrdersByRecentUse(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Scheduler.Policy = "fairshare" })
	ctx := context.Background()
	now := time.Now()
	// alice ran 2 cpus for 10 hours yesterday.
	h.srv.ledger.add(&api.Job{ID: 1099511627781, User: "alice", Group: "alice", Spec: api.Spec{CPUs: 2, Memory: gib}, Run: &api.Run{CPUs: 2, Memory: gib},
		Started: now.Add(-20 * time.Hour), Ended: now.Add(-10 * time.Hour)}, now)

	b := h.fillNode(h.bob)
	heavy := h.submit(h.alice, api.Spec{Name: "heavy", Script: "x", CPUs: 2, Memory: gib})
	light := h.submit(h.bob, api.Spec{Name: "light", Script: "x", CPUs: 2, Memory: gib})
	for _, id := range []int64{heavy.ID, light.ID} {
		h.waitState(id, api.Pending)
	}
	h.finish(b.ID, 0)
	h.waitState(light.ID, api.Running)
	waiting, err := h.st.Job(ctx, heavy.ID)
	if err != nil {
		t.Fatal(err)
	}
	if waiting.State != api.Pending {
		t.Fatalf("alice's job is %s; the light user's job should have gone first", waiting.State)
	}
	names := map[string]bool{}
	for _, p := range waiting.Priority.Parts {
		names[p.Name] = true
	}
	if len(waiting.Priority.Parts) == 0 || !names["user_time"] {
		t.Errorf("pending job's priority = %+v; want its fair-share parts", waiting.Priority)
	}
}

// TestPendingCaps: a user with too many waiting jobs, or a full queue, is
// told to come back later, and nothing is stored.
func TestPendingCaps(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Limits.MaxPendingPerUser = 2
		c.Limits.MaxPending = 3
	})
	ctx := context.Background()
	held := func(c *caller) (*api.Job, error) {
		spec := script("x")
		spec.Hold = true
		return h.srv.submit(ctx, c, spec)
	}
	for range 2 {
		if _, err := held(h.alice); err != nil {
			t.Fatal(err)
		}
	}
	_, err := held(h.alice)
	if !errors.Is(err, api.ErrUnavailable) || !strings.Contains(err.Error(), "you have 2 jobs waiting") {
		t.Fatalf("alice's third waiting job: %v; want unavailable, per-user cap", err)
	}
	if _, err := held(h.bob); err != nil {
		t.Fatalf("bob's first job: %v", err)
	}
	_, err = held(h.bob)
	if !errors.Is(err, api.ErrUnavailable) || !strings.Contains(err.Error(), "the queue holds 3 waiting jobs") {
		t.Fatalf("a fourth waiting job: %v; want unavailable, global cap", err)
	}
	if n, _ := h.st.Count(ctx, store.Query{}); n != 3 {
		t.Errorf("the store holds %d jobs; refused ones must not be stored", n)
	}
	// Once one leaves the queue there is room again.
	jobs, _ := h.st.Jobs(ctx, store.Query{Users: []string{"alice"}})
	if _, err := h.srv.delete(ctx, h.alice, jobs[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := held(h.alice); err != nil {
		t.Errorf("after a deletion: %v", err)
	}
}

// TestMaintenance: admins turn it on; submissions are refused with the
// reason, running jobs go on, reads still work; users cannot toggle it.
func TestMaintenance(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	run := h.submit(h.alice, script("sleep"))
	h.waitState(run.ID, api.Running)
	do := func(c *caller, method, body string) (int, string) {
		req := httptest.NewRequest(method, "/api/v1/maintenance", strings.NewReader(body))
		req = req.WithContext(context.WithValue(req.Context(), callerKey, c))
		rec := httptest.NewRecorder()
		h.srv.Handler().ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	if code, body := do(h.alice, "PUT", `{"on":true}`); code != 403 || !strings.Contains(body, "only admins") {
		t.Errorf("alice turning maintenance on: %d %s", code, body)
	}
	if code, body := do(h.admin, "PUT", `{"on":true,"message":"disk upgrade until 14:00"}`); code != 200 {
		t.Fatalf("admin: %d %s", code, body)
	}
	_, err := h.srv.submit(ctx, h.bob, script("x"))
	if !errors.Is(err, api.ErrUnavailable) || !strings.Contains(err.Error(), "maintenance (disk upgrade until 14:00)") {
		t.Errorf("submission in maintenance: %v", err)
	}
	if code, body := do(h.bob, "GET", ""); code != 200 || !strings.Contains(body, `"on":true`) {
		t.Errorf("reading maintenance mode: %d %s", code, body)
	}
	if j, err := h.st.Job(ctx, run.ID); err != nil || j.State != api.Running {
		t.Errorf("running job during maintenance: %v %v", j.State, err)
	}
	h.finish(run.ID, 0)
	h.waitState(run.ID, api.Done)
	if code, _ := do(h.admin, "PUT", `{"on":false}`); code != 200 {
		t.Fatal("turning maintenance off failed")
	}
	if _, err := h.srv.submit(ctx, h.bob, script("x")); err != nil {
		t.Errorf("after maintenance: %v", err)
	}
}

// testLog is where the server under test logs: nowhere, unless
// GODOCKER_TEST_LOG=1.
func testLog() io.Writer {
	if os.Getenv("GODOCKER_TEST_LOG") == "1" {
		return os.Stderr
	}
	return io.Discard
}

func dirExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
