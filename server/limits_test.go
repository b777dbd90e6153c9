package server

import (
	"context"
	"testing"

	"github.com/godocker/godocker/api"
)

// A project's simultaneous limits hold across executors: each executor is
// planned apart, but what the others run, and what they started earlier
// in the same pass, counts toward the project's limit.
func TestProjectLimitAcrossExecutors(t *testing.T) {
	h := newHarness(t, withBig)
	ctx := context.Background()
	h.must(h.admin, "POST", "/api/v1/projects", `{"name":"bio","members":["alice"],"limit":{"cpus":3}}`, 201)

	// Two jobs for sim (2 cpus) and three for big (16 cpus), held so
	// that one pass sees them all.
	var ids []int64
	for _, ex := range []string{"sim", "sim", "big", "big", "big"} {
		spec := script("sleep")
		spec.Project, spec.Executor, spec.Hold = "bio", ex, true
		ids = append(ids, h.submit(h.alice, spec).ID)
	}
	for _, id := range ids {
		if _, err := h.st.UpdateJob(ctx, id, func(j *api.Job) error {
			j.State, j.Reason = api.Pending, api.Reason{}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	h.poke()

	settled := func(j *api.Job) bool {
		return j.State == api.Running || j.State == api.Pending && j.Reason.Code == api.ReasonProjectLimit
	}
	for _, id := range ids {
		h.wait(id, settled)
	}
	if n := h.running(); n != 3 {
		t.Errorf("project bio, limited to 3 cpus, runs %d 1-cpu jobs over two executors", n)
	}
}
