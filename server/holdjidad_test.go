package server

import (
	"context"
	"errors"
	"testing"

	"github.com/godocker/godocker/api"
)

// TestHoldJidAdOutOfOrder: with -hold_jid_ad, a task of B never starts
// before the task of A it waits for has ended, even when a later task of
// A ended first and the plan starts the later task of B.
func TestHoldJidAdOutOfOrder(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.submit(h.alice, arraySpec(1, 2, 1, 0)) // the node runs both tasks at once
	a1 := h.waitTask(a.ID, 1, api.Running)
	a2 := h.waitTask(a.ID, 2, api.Running)
	spec := arraySpec(1, 2, 1, 0)
	spec.TaskDependencies = []int64{a.ID}
	b := h.submit(h.alice, spec)
	h.waitReason(b.ID, api.ReasonDependency)

	h.finish(a2.ID, 0) // A.2 ends first: B.2 may start, B.1 may not
	h.wait(a.ID, func(j *api.Job) bool { return j.Tasks.Done == 1 })
	if err := h.srv.pass(ctx); err != nil { // a pass after A counted its task
		t.Fatal(err)
	}
	if tasks := h.tasksOf(b.ID); len(tasks) > 0 {
		for n, task := range tasks {
			t.Errorf("task %d of B was created (%s) while task 1 of A runs", n, task.State)
		}
	}
	if w, _ := h.st.Job(ctx, b.ID); w.Reason.Message != "waiting for task 1.1 to end (-hold_jid_ad)" {
		t.Errorf("B waits for %q", w.Reason.Message)
	}

	h.finish(a1.ID, 0)
	h.waitTask(b.ID, 1, api.Running)
	h.waitTask(b.ID, 2, api.Running)
}

// TestClaimTaskWhosePredecessorsEnded: when the task planned is not the
// next (another start claimed it first, say), the next is claimed if its
// predecessors have ended, and not while they run.
func TestClaimTaskWhosePredecessorsEnded(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.submit(h.alice, arraySpec(1, 2, 1, 0))
	h.finish(h.waitTask(a.ID, 1, api.Running).ID, 0)
	a2 := h.waitTask(a.ID, 2, api.Running)
	// B waits for blocker too, so that no pass starts its tasks.
	blocker := h.waitState(h.submit(h.bob, script("sleep")).ID, api.Running)
	spec := arraySpec(1, 3, 1, 0)
	spec.TaskDependencies = []int64{a.ID}
	spec.Dependencies = []api.Dependency{{Type: api.AfterAny, Jobs: []int64{blocker.ID}}}
	b := h.submit(h.alice, spec)
	virtual := func(n int64) *api.Job {
		v := *b
		v.TaskID = n
		return &v
	}

	arr, task, err := h.srv.claimTask(ctx, virtual(3)) // 3 planned; 1 is next, and A.1 has ended
	if err != nil || task != 1 || arr.Tasks.Next != 2 || arr.Tasks.Running != 1 {
		t.Fatalf("claim with task 3 planned: task %d, %v; want task 1", task, err)
	}
	if _, task, err := h.srv.claimTask(ctx, virtual(3)); !errors.Is(err, errSkip) {
		t.Errorf("claim with task 3 planned while A.2 runs: task %d, %v; want none", task, err)
	}
	h.finish(a2.ID, 0)
	h.waitTask(a.ID, 2, api.Done)
	if _, task, err := h.srv.claimTask(ctx, virtual(3)); err != nil || task != 2 {
		t.Errorf("claim with task 3 planned once A.2 ended: task %d, %v; want task 2", task, err)
	}
}
