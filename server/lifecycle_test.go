package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/config"
)

func TestHoldAndRelease(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	b := h.fillNode(h.bob)
	j := h.submit(h.alice, script("x"))

	if _, err := h.srv.control(ctx, h.bob, j.ID, api.ControlHold); !errors.Is(err, api.ErrDenied) {
		t.Errorf("bob holding alice's job: %v; want denied", err)
	}
	held, err := h.srv.control(ctx, h.alice, j.ID, api.ControlHold)
	if err != nil || held.State != api.Held || held.Reason.Code != api.ReasonHeld {
		t.Fatalf("hold: %v %+v", err, held)
	}
	if _, err := h.srv.control(ctx, h.alice, j.ID, api.ControlHold); !errors.Is(err, api.ErrConflict) {
		t.Errorf("holding a held job: %v; want conflict", err)
	}
	if _, err := h.srv.control(ctx, h.bob, b.ID, api.ControlHold); !errors.Is(err, api.ErrConflict) {
		t.Errorf("holding a running job: %v; want conflict", err)
	}
	// The node frees up: a held job does not start.
	h.finish(b.ID, 0)
	h.waitState(b.ID, api.Done)
	h.srv.poke()
	time.Sleep(100 * time.Millisecond)
	if cur, _ := h.st.Job(ctx, j.ID); cur.State != api.Held {
		t.Fatalf("held job is %s", cur.State)
	}
	if _, err := h.srv.control(ctx, h.alice, j.ID, api.ControlRelease); err != nil {
		t.Fatal(err)
	}
	h.waitState(j.ID, api.Running)

	// An admin's hold is the admin's to release.
	k := h.submit(h.alice, api.Spec{Name: "k", Script: "x", CPUs: 2, Memory: gib})
	if held, err := h.srv.control(ctx, h.admin, k.ID, api.ControlHold); err != nil || held.Reason.Code != api.ReasonHeldAdmin {
		t.Fatalf("admin hold: %v %+v", err, held)
	}
	if _, err := h.srv.control(ctx, h.alice, k.ID, api.ControlRelease); !errors.Is(err, api.ErrDenied) {
		t.Errorf("alice releasing an admin's hold: %v; want denied", err)
	}
	if _, err := h.srv.control(ctx, h.alice, k.ID, "explode"); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("unknown action: %v", err)
	}
}

func TestSuspendDoesNotCountTowardWalltime(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	spec := script("sleep")
	spec.Walltime = 2
	j := h.submit(h.alice, spec)
	h.waitState(j.ID, api.Running)
	if _, err := h.srv.control(ctx, h.bob, j.ID, api.ControlSuspend); !errors.Is(err, api.ErrDenied) {
		t.Errorf("bob suspending alice's job: %v", err)
	}
	s, err := h.srv.control(ctx, h.alice, j.ID, api.ControlSuspend)
	if err != nil || s.State != api.Suspended || s.SuspendedAt.IsZero() {
		t.Fatalf("suspend: %v %+v", err, s)
	}
	if _, err := h.srv.control(ctx, h.alice, j.ID, api.ControlSuspend); !errors.Is(err, api.ErrConflict) {
		t.Errorf("suspending a suspended job: %v; want conflict", err)
	}
	// Suspended past its walltime, it is not killed.
	time.Sleep(2500 * time.Millisecond)
	if cur, _ := h.st.Job(ctx, j.ID); cur.State != api.Suspended {
		t.Fatalf("suspended job is %s (%s): suspended time must not count", cur.State, cur.Reason.Message)
	}
	r, err := h.srv.control(ctx, h.alice, j.ID, api.ControlResume)
	if err != nil || r.State != api.Running || r.SuspendedSeconds < 2.4 || !r.SuspendedAt.IsZero() {
		t.Fatalf("resume: %v %+v", err, r)
	}
	killed := h.waitState(j.ID, api.Killed)
	if killed.Reason.Code != api.ReasonWalltime {
		t.Errorf("reason %+v; want walltime", killed.Reason)
	}
	if ran := killed.Ended.Sub(killed.Started).Seconds() - killed.SuspendedSeconds; ran < 1.9 || ran > 4 {
		t.Errorf("it ran %.1f s unsuspended; want about its walltime of 2 s", ran)
	}
}

func TestMaxLifespan(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Limits.MaxLifespan = config.Duration(time.Second) })
	j := h.submit(h.alice, script("sleep"))
	killed := h.waitState(j.ID, api.Killed)
	if killed.Reason.Code != api.ReasonLifespan || !strings.Contains(killed.Reason.Message, "maximum lifespan of 0:00:01") {
		t.Errorf("reason %+v", killed.Reason)
	}
}

func TestRequeue(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	j := h.submit(h.alice, script("x"))
	h.waitState(j.ID, api.Running)
	// The first attempt fails, having written its output.
	if err := os.WriteFile(j.Stdout, []byte("attempt 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.finish(j.ID, 3)
	h.waitState(j.ID, api.Failed)
	if _, err := h.srv.control(ctx, h.bob, j.ID, api.ControlRequeue); !errors.Is(err, api.ErrDenied) {
		t.Errorf("bob requeueing alice's job: %v", err)
	}
	q, err := h.srv.control(ctx, h.alice, j.ID, api.ControlRequeue)
	if err != nil || q.Attempt != 2 || q.ID != j.ID {
		t.Fatalf("requeue: %v %+v", err, q)
	}
	second := h.waitState(j.ID, api.Running)
	if len(second.Attempts) != 1 || second.Attempts[0].State != api.Failed || *second.Attempts[0].ExitCode != 3 {
		t.Fatalf("attempts = %+v; want the failed first one", second.Attempts)
	}
	kept := second.Attempts[0].Stdout
	if kept != filepath.Join(j.Dir, "stdout.1") {
		t.Errorf("first attempt's output kept at %q", kept)
	}
	if b, _ := os.ReadFile(kept); string(b) != "attempt 1\n" {
		t.Errorf("stdout.1 = %q", b)
	}
	if _, err := os.Stat(j.Stdout); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stdout of the new attempt exists before it wrote anything: %v", err)
	}

	// A running job is killed and comes back as the next attempt.
	if _, err := h.srv.control(ctx, h.alice, j.ID, api.ControlRequeue); err != nil {
		t.Fatal(err)
	}
	third := h.wait(j.ID, func(j *api.Job) bool { return j.Attempt == 3 && j.State == api.Running })
	if len(third.Attempts) != 2 || third.Attempts[1].State != api.Killed || third.Attempts[1].Reason.Code != api.ReasonRequeued {
		t.Errorf("attempts = %+v; want the killed second one, reason Requeued", third.Attempts)
	}
	if _, err := h.srv.control(ctx, h.alice, j.ID+100, api.ControlRequeue); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("requeue of a missing job: %v", err)
	}
}

// wait waits (bounded) for cond to hold of the job.
func (h *harness) wait(id int64, cond func(*api.Job) bool) *api.Job {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err := h.st.Job(context.Background(), id)
		if err != nil {
			h.t.Fatal(err)
		}
		if cond(j) {
			return j
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("job %d: condition not met; it is %s attempt %d (%s)", id, j.State, j.Attempt, j.Reason.Message)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAlter(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	b := h.fillNode(h.bob)
	j := h.submit(h.alice, script("x"))

	two, name := 2, "renamed"
	if _, err := h.srv.alter(ctx, h.bob, j.ID, api.Alter{CPUs: &two}); !errors.Is(err, api.ErrDenied) {
		t.Errorf("bob altering alice's job: %v", err)
	}
	a, err := h.srv.alter(ctx, h.alice, j.ID, api.Alter{CPUs: &two, Name: &name})
	if err != nil || a.Spec.CPUs != 2 || a.Name != "renamed" {
		t.Fatalf("alter: %v %+v", err, a)
	}
	for _, bad := range []api.Alter{{CPUs: ptr(1000)}, {Priority: ptr(10)}, {Name: ptr("1bad")},
		{Dependencies: &[]api.Dependency{{Type: "after", Jobs: []int64{b.ID}}}},
		{Dependencies: &[]api.Dependency{{Type: api.AfterAny, Jobs: []int64{j.ID}}}}} {
		if _, err := h.srv.alter(ctx, h.alice, j.ID, bad); !errors.Is(err, api.ErrInvalid) && !errors.Is(err, api.ErrDenied) {
			t.Errorf("alter %+v: %v; want refused", bad, err)
		}
	}
	if cur, _ := h.st.Job(ctx, j.ID); cur.Spec.CPUs != 2 || cur.Name != "renamed" || len(cur.Spec.Dependencies) != 0 {
		t.Errorf("refused alterations changed the job: %+v", cur.Spec)
	}
	if _, err := h.srv.alter(ctx, h.bob, b.ID, api.Alter{CPUs: &two}); !errors.Is(err, api.ErrConflict) {
		t.Errorf("altering a running job: %v; want conflict", err)
	}
	// It runs as altered.
	h.finish(b.ID, 0)
	if r := h.waitState(j.ID, api.Running).Run; r.CPUs != 2 || !containsEnv(r.Env, "NSLOTS=2") {
		t.Errorf("the altered job runs with %d cpus, NSLOTS=2 %v", r.CPUs, containsEnv(r.Env, "NSLOTS=2"))
	}
}

func ptr[T any](v T) *T { return &v }

func containsEnv(env []string, kv string) bool {
	for _, e := range env {
		if e == kv {
			return true
		}
	}
	return false
}

func TestDependencyChains(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	parent := h.submit(h.alice, script("x"))
	after := func(typ string, ids ...int64) api.Spec {
		s := script("x")
		s.Dependencies = []api.Dependency{{Type: typ, Jobs: ids}}
		return s
	}
	ok := h.submit(h.alice, after(api.AfterOK, parent.ID))
	notok := h.submit(h.alice, after(api.AfterNotOK, parent.ID))
	anyway := h.submit(h.bob, after(api.AfterAny, parent.ID))
	w := h.waitReason(ok.ID, api.ReasonDependency)
	if want := "waiting for job 1 to end (afterok)"; w.Reason.Message != want {
		t.Errorf("reason %q; want %q", w.Reason.Message, want)
	}
	if _, err := h.srv.submit(ctx, h.alice, after(api.AfterOK, 999)); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "job 999, which does not exist") {
		t.Errorf("a dependency on a missing job: %v", err)
	}
	// The parent fails: afternotok and afterany run, afterok fails.
	h.waitState(parent.ID, api.Running)
	h.finish(parent.ID, 1)
	h.waitState(notok.ID, api.Running)
	h.waitState(anyway.ID, api.Running)
	failed := h.waitState(ok.ID, api.Failed)
	if failed.Reason.Code != api.ReasonDependencyNeverSatisfied || !strings.Contains(failed.Reason.Message, "job 1 ended failed") {
		t.Errorf("afterok on a failed job: %+v", failed.Reason)
	}
	// A job cannot come to wait for itself through another.
	a := h.submit(h.alice, after(api.AfterAny, notok.ID))
	b := h.submit(h.alice, after(api.AfterAny, a.ID))
	if _, err := h.srv.alter(ctx, h.alice, a.ID, api.Alter{Dependencies: &[]api.Dependency{{Type: api.AfterAny, Jobs: []int64{b.ID}}}}); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "wait for itself") {
		t.Errorf("a cycle: %v; want refused", err)
	}
}

// TestAlterIsStored: what gctl alter changes of a waiting job (priority,
// memory, walltime, dependencies) is what the store then holds, in its
// spec and in what it will run as.
func TestAlterIsStored(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	b := h.fillNode(h.bob)
	j := h.submit(h.alice, script("x"))
	prio, mem, wall := -100, 2*gib, int64(3600)
	deps := []api.Dependency{{Type: api.AfterOK, Jobs: []int64{b.ID}}}
	if _, err := h.srv.alter(ctx, h.alice, j.ID, api.Alter{Priority: &prio, Memory: &mem, Walltime: &wall, Dependencies: &deps}); err != nil {
		t.Fatal(err)
	}
	cur, err := h.st.Job(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Spec.Priority != -100 || cur.Spec.Memory != 2*gib || cur.Spec.Walltime != 3600 ||
		len(cur.Spec.Dependencies) != 1 || cur.Spec.Dependencies[0].Type != api.AfterOK || !slices.Equal(cur.Spec.Dependencies[0].Jobs, []int64{b.ID}) {
		t.Errorf("stored after alter: priority %d, memory %d, walltime %d, dependencies %+v",
			cur.Spec.Priority, cur.Spec.Memory, cur.Spec.Walltime, cur.Spec.Dependencies)
	}
	if w := h.waitReason(j.ID, api.ReasonDependency); w.Reason.Message != fmt.Sprintf("waiting for job %d to end (afterok)", b.ID) {
		t.Errorf("the altered job waits for %q", w.Reason.Message)
	}

	// An admin may raise it; an empty list removes the dependencies.
	prio, none := 5, []api.Dependency{}
	if _, err := h.srv.alter(ctx, h.admin, j.ID, api.Alter{Priority: &prio, Dependencies: &none}); err != nil {
		t.Fatal(err)
	}
	if cur, _ := h.st.Job(ctx, j.ID); cur.Spec.Priority != 5 || len(cur.Spec.Dependencies) != 0 || cur.Spec.Memory != 2*gib {
		t.Errorf("stored after the admin's alter: priority %d, dependencies %+v, memory %d", cur.Spec.Priority, cur.Spec.Dependencies, cur.Spec.Memory)
	}
	// It runs as altered, at the priority only an admin may give it.
	h.finish(b.ID, 0)
	run := h.waitState(j.ID, api.Running)
	if run.Run.Memory != 2*gib || !containsEnv(run.Run.Env, "SLURM_MEM_PER_NODE=2048") {
		t.Errorf("the altered job runs with memory %d, SLURM_MEM_PER_NODE=2048 %v", run.Run.Memory, containsEnv(run.Run.Env, "SLURM_MEM_PER_NODE=2048"))
	}
}

// TestExecutionIsDecidedAtStart: how a job runs is decided as each attempt
// starts: a requeued job knows it was restarted (RESTARTED, Grid Engine;
// SLURM_RESTART_COUNT), and a right its owner lost while it waited is
// not used: it fails with the reason.
func TestExecutionIsDecidedAtStart(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	j := h.waitState(h.submit(h.alice, script("x")).ID, api.Running)
	for _, kv := range []string{"RESTARTED=0", "SLURM_RESTART_COUNT=0"} {
		if !containsEnv(j.Run.Env, kv) {
			t.Errorf("first attempt lacks %s", kv)
		}
	}
	h.finish(j.ID, 0)
	h.waitState(j.ID, api.Done)
	if _, err := h.srv.control(ctx, h.alice, j.ID, api.ControlRequeue); err != nil {
		t.Fatal(err)
	}
	again := h.wait(j.ID, func(j *api.Job) bool { return j.State == api.Running && j.Attempt == 2 })
	for _, kv := range []string{"RESTARTED=1", "SLURM_RESTART_COUNT=1"} {
		if !containsEnv(again.Run.Env, kv) {
			t.Errorf("second attempt lacks %s", kv)
		}
	}
	h.finish(j.ID, 0)

	// alice leaves project lab while her job in it waits.
	h.must(h.admin, "POST", "/api/v1/projects", `{"name":"lab","members":["alice"]}`, 201)
	spec := script("x")
	spec.Project, spec.Hold = "lab", true
	held := h.submit(h.alice, spec)
	h.must(h.admin, "PUT", "/api/v1/projects/lab", `{"name":"lab","members":["bob"]}`, 200)
	if _, err := h.srv.control(ctx, h.alice, held.ID, api.ControlRelease); err != nil {
		t.Fatal(err)
	}
	failed := h.waitState(held.ID, api.Failed)
	if failed.Reason.Code != api.ReasonStartFailed || !strings.Contains(failed.Reason.Message, "not a member of project lab") || failed.Run != nil {
		t.Errorf("a job whose owner left its project: %+v, run %v; want failed, StartFailed naming the project, never run", failed.Reason, failed.Run)
	}
}
