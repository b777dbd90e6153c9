package server

import (
	"context"
	"testing"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
)

// In maintenance, no job starts: pending jobs wait with reason
// Maintenance, running jobs go on; when it ends, they start.
func TestMaintenanceStartsNothing(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	run := h.waitState(h.submit(h.alice, script("sleep")).ID, api.Running)
	spec := script("echo")
	spec.Hold = true
	held := h.submit(h.alice, spec)

	h.must(h.admin, "PUT", "/api/v1/maintenance", `{"on":true,"message":"disk upgrade"}`, 200)
	// Released, it would start on the free cpu.
	if _, err := h.srv.control(ctx, h.alice, held.ID, api.ControlRelease); err != nil {
		t.Fatal(err)
	}
	w := h.waitReason(held.ID, api.ReasonMaintenance)
	want := "GoDocker is in maintenance (disk upgrade): no job starts until an admin ends it (gctl maintenance off)"
	if w.State != api.Pending || w.Reason.Message != want {
		t.Errorf("job released in maintenance: %s %q; want pending, %q", w.State, w.Reason.Message, want)
	}
	if j, _ := h.st.Job(ctx, run.ID); j.State != api.Running {
		t.Errorf("running job is %s in maintenance; want running", j.State)
	}
	if st, err := h.sim.Inspect(ctx, run); err != nil || st.State != executor.StateRunning {
		t.Errorf("running job's container in maintenance: %+v %v", st, err)
	}

	// Ending maintenance wakes the scheduler: the job starts.
	h.must(h.admin, "PUT", "/api/v1/maintenance", `{"on":false}`, 200)
	h.waitState(held.ID, api.Running)
}
