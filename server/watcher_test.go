package server

import (
	"context"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
)

// TestReconcileDoesNotRestartAnEndedJob: the reconciliation lists the
// running jobs, then inspects their containers one by one. A job that
// ended in between (recorded, its container removed) looks, from the list,
// like a running job whose container is missing: it must not be started
// again.
func TestReconcileDoesNotRestartAnEndedJob(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	listed := h.waitState(h.submit(h.alice, script("x")).ID, api.Running)
	h.finish(listed.ID, 0)
	h.waitState(listed.ID, api.Done)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := h.sim.Inspect(ctx, listed)
		if err == nil && st.State == executor.StateMissing {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ended job's container was not removed: %+v, %v", st, err)
		}
		time.Sleep(5 * time.Millisecond)
	}

	h.srv.check(ctx, h.sim, listed) // as the listing had it: running

	if st, err := h.sim.Inspect(ctx, listed); err != nil || st.State != executor.StateMissing {
		t.Errorf("after the reconciliation the ended job's container is %+v (%v): it ran again", st, err)
	}
	if j := h.waitState(listed.ID, api.Done); j.Attempt != 1 {
		t.Errorf("job is at attempt %d", j.Attempt)
	}
}

// TestReasonRefresh: a reason whose numbers only changed is written again
// at most every reasonRefresh; a new code (force) is written at once.
func TestReasonRefresh(t *testing.T) {
	var r reasonTimes
	t0 := time.Now()
	if !r.due(1, t0, false) {
		t.Fatal("a job never written is not due")
	}
	if r.due(1, t0.Add(time.Second), false) {
		t.Error("numbers written 1s ago are due again")
	}
	if !r.due(1, t0.Add(2*time.Second), true) {
		t.Error("a new code is not due at once")
	}
	if r.due(1, t0.Add(2*time.Second+reasonRefresh-time.Millisecond), false) {
		t.Error("the forced write did not count as a write")
	}
	if !r.due(1, t0.Add(2*time.Second+reasonRefresh), false) {
		t.Errorf("numbers are not due %v after the last write", reasonRefresh)
	}
	r.forget(t0.Add(time.Hour))
	if len(r.written) != 0 {
		t.Errorf("forget kept %d old entries", len(r.written))
	}
	for code, want := range map[string]bool{api.ReasonResources: true, api.ReasonPriority: true, api.ReasonDependency: false, api.ReasonHeld: false} {
		if countsUse(code) != want {
			t.Errorf("countsUse(%s) = %v", code, !want)
		}
	}
}
