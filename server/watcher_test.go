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
