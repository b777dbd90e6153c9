package server

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/config"
	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/executor/sim"
	"github.com/godocker/godocker/store"
)

// withBig configures a second executor, "big" (a simulator with one node
// of 16 cpus), that runs only jobs of project bio.
func withBig(c *config.Config) {
	c.Executors = append(c.Executors, executor.Config{Name: "big", Type: "sim", CPUs: 16, Memory: "64G", Projects: []string{"bio"}})
}

// Several executors: a job runs where it asks (gsub -q) if that executor
// takes its project, else on the first that does; resources are checked
// against the executor it runs on; each executor schedules its own jobs.
func TestSeveralExecutors(t *testing.T) {
	h := newHarness(t, withBig)
	ctx := context.Background()
	h.must(h.admin, "POST", "/api/v1/projects", `{"name":"bio","members":["alice"]}`, 201)

	before, _ := h.st.Count(ctx, store.Query{})
	for _, tc := range []struct {
		spec func(*api.Spec)
		want error
		says string
	}{
		{func(s *api.Spec) { s.Executor = "nope" }, api.ErrInvalid, `executor "nope" is not configured; executors: sim, big (gsub -q NAME)`},
		{func(s *api.Spec) { s.Executor = "big" }, api.ErrDenied, "executor big runs only jobs of the projects bio: submit to one of them (-P) or choose another executor (-q)"},
		// Only big has 8 cpus, and the job would go to sim.
		{func(s *api.Spec) { s.CPUs = 8; s.Project = "bio" }, api.ErrInvalid, "the job asks for 8 cpus; at most 2 can be granted"},
	} {
		spec := script("echo")
		tc.spec(&spec)
		_, err := h.srv.submit(ctx, h.alice, spec)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("submit %+v: %v; want %v saying %q", spec, err, tc.want, tc.says)
		}
	}
	if after, _ := h.st.Count(ctx, store.Query{}); after != before {
		t.Errorf("refused submissions stored %d jobs", after-before)
	}

	// The first executor that takes the project: sim takes every project.
	full := h.fillNode(h.bob)
	waiting := h.submit(h.alice, script("echo"))
	if waiting.Executor != "sim" {
		t.Errorf("a job that names no executor runs on %q, want sim (the first)", waiting.Executor)
	}
	// sim is full: a job for big starts there all the same.
	spec := script("echo")
	spec.Executor, spec.Project, spec.CPUs = "big", "bio", 8
	j := h.waitState(h.submit(h.alice, spec).ID, api.Running)
	if j.Executor != "big" || j.Node != sim.DefaultNode {
		t.Errorf("job on big runs on %s@%s, want big@%s (the simulator's node)", j.Executor, j.Node, sim.DefaultNode)
	}
	if st, err := h.sims["big"].Inspect(ctx, j); err != nil || st.State != executor.StateRunning {
		t.Errorf("big's container of job %d: %+v %v; want running", j.ID, st, err)
	}
	if st, _ := h.sim.Inspect(ctx, j); st.State != executor.StateMissing {
		t.Errorf("sim has a container for job %d, which runs on big: %+v", j.ID, st)
	}
	if w, _ := h.st.Job(ctx, waiting.ID); w.State != api.Pending {
		t.Errorf("job %d waiting for sim's node is %s", w.ID, w.State)
	}
	h.finish(full.ID, 0)
	h.waitState(waiting.ID, api.Running)
}

// gctl alter -q moves a waiting job to another executor, and a job whose
// executor left the configuration says so while it waits.
func TestAlterExecutor(t *testing.T) {
	h := newHarness(t, withBig)
	ctx := context.Background()
	h.must(h.admin, "POST", "/api/v1/projects", `{"name":"bio","members":["alice"]}`, 201)
	h.fillNode(h.bob)
	spec := script("echo")
	spec.Project = "bio"
	j := h.submit(h.alice, spec)
	if j.Executor != "sim" {
		t.Fatalf("job runs on %s, want sim", j.Executor)
	}
	if _, err := h.srv.alter(ctx, h.bob, j.ID, api.Alter{Executor: ptr("big")}); !errors.Is(err, api.ErrDenied) {
		t.Errorf("bob moving alice's job: %v; want denied", err)
	}
	if _, err := h.srv.alter(ctx, h.alice, j.ID, api.Alter{Executor: ptr("nope")}); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("moving a job to an executor that does not exist: %v; want invalid", err)
	}
	a, err := h.srv.alter(ctx, h.alice, j.ID, api.Alter{Executor: ptr("big")})
	if err != nil || a.Executor != "big" || a.Spec.Executor != "big" {
		t.Fatalf("alter -q big: %v %+v", err, a)
	}
	h.poke()
	if r := h.waitState(j.ID, api.Running); r.Executor != "big" {
		t.Errorf("moved job runs on %s", r.Executor)
	}

	// A job left on an executor that is no longer configured.
	held := script("echo")
	held.Hold = true
	k := h.submit(h.alice, held)
	if _, err := h.st.UpdateJob(ctx, k.ID, func(j *api.Job) error { j.Executor, j.Spec.Executor = "gone", "gone"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := h.srv.control(ctx, h.alice, k.ID, api.ControlRelease); err != nil {
		t.Fatal(err)
	}
	h.poke()
	w := h.waitReason(k.ID, api.ReasonNoExecutor)
	if want := `its executor "gone" is not configured (executors: sim, big): move it with gctl alter`; !strings.Contains(w.Reason.Message, want) {
		t.Errorf("reason %q, want it to say %q", w.Reason.Message, want)
	}
	if _, err := h.srv.alter(ctx, h.alice, k.ID, api.Alter{Executor: ptr("")}); err != nil {
		t.Fatalf("alter -q '': %v", err)
	}
	if m, _ := h.st.Job(ctx, k.ID); m.Executor != "sim" {
		t.Errorf("after alter -q '', the job runs on %q, want sim (the first that takes it)", m.Executor)
	}
}

func (h *harness) poke() { h.srv.poke() }

// A container that ended and was removed (by hand, or by a platform
// that removes what it kills) fails its job at once, with no exit code;
// it is not started again, since it ran.
func TestContainerRemovedOutside(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	j := h.fillNode(h.alice)
	if err := h.sim.Remove(ctx, j); err != nil {
		t.Fatal(err)
	}
	f := h.waitState(j.ID, api.Failed)
	if f.Reason.Code != api.ReasonLost || f.ExitCode != nil {
		t.Errorf("job whose container vanished: reason %+v exit %v; want %s and no exit code", f.Reason, f.ExitCode, api.ReasonLost)
	}
	if st, _ := h.sim.Inspect(ctx, j); st.State != executor.StateMissing {
		t.Errorf("the job was started again: %+v", st)
	}
}
