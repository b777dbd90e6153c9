package server

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
)

// With limits.kill_on_limit off (the default), a spent budget stops new
// work, not the work under way: the owner's running job survives the
// passes that see the budget spent, while submissions are refused and
// waiting jobs wait.
func TestSpentQuotaKeepsRunningJobs(t *testing.T) {
	h := newHarness(t, nil) // kill_on_limit off
	ctx := context.Background()
	run := h.submit(h.alice, script("sleep"))
	other := h.submit(h.bob, script("sleep"))
	h.waitState(run.ID, api.Running)
	h.waitState(other.ID, api.Running)
	queued := h.submit(h.alice, script("x")) // the node is full: it waits

	h.must(h.admin, "PUT", "/api/v1/accounts/alice", `{"priority":50,"quota":{"cpu_seconds":1}}`, 200)
	start, _ := h.srv.period(time.Now())
	h.srv.ledger.add(&api.Job{ID: 1099511627781, User: "alice", Spec: api.Spec{CPUs: 1000}, Started: start, Ended: time.Now()}, time.Now())
	// Her waiting job says Quota once a pass has seen the budget spent;
	// waitReason runs passes until then, and one more makes sure.
	h.waitReason(queued.ID, api.ReasonQuota)
	h.poke()
	h.waitReason(queued.ID, api.ReasonQuota)

	if j, _ := h.st.Job(ctx, run.ID); j.State != api.Running {
		t.Errorf("alice's running job is %s (%s); with kill_on_limit off it runs on", j.State, j.Reason.Message)
	}
	if st, err := h.sim.Inspect(ctx, run); err != nil || st.State != executor.StateRunning {
		t.Errorf("alice's container: %+v %v; want running", st, err)
	}
	if _, err := h.srv.submit(ctx, h.alice, script("x")); !errors.Is(err, api.ErrUnavailable) || !strings.Contains(err.Error(), "user alice has spent its cpu quota") {
		t.Errorf("alice submitting with her budget spent: %v; want refused", err)
	}
}
