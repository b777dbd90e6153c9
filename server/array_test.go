package server

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
)

// tasksOf returns the created tasks of array id, by task number.
func (h *harness) tasksOf(id int64) map[int64]*api.Job {
	h.t.Helper()
	ts, err := h.st.Jobs(context.Background(), store.Query{Arrays: []int64{id}})
	if err != nil {
		h.t.Fatal(err)
	}
	m := map[int64]*api.Job{}
	for _, t := range ts {
		m[t.TaskID] = t
	}
	return m
}

func arraySpec(first, last, step int64, limit int) api.Spec {
	s := script("echo $SGE_TASK_ID")
	s.Array = &api.Array{First: first, Last: last, Step: step, Limit: limit}
	return s
}

func TestArrayRunsItsTasksInTurn(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.submit(h.alice, arraySpec(1, 5, 2, 1)) // tasks 1, 3, 5; one at a time
	if n, _ := h.st.Count(ctx, store.Query{}); n != 1 || a.Tasks == nil || a.Tasks.Next != 1 {
		t.Fatalf("after submission: %d records, tasks %+v; want the array's alone", n, a.Tasks)
	}
	for _, n := range []int64{1, 3, 5} {
		task := h.waitTask(a.ID, n, api.Running)
		if running := h.running(); running != 1 {
			t.Errorf("%d tasks run at once; -tc 1", running)
		}
		if task.Dir != filepath.Join(a.Dir, strconv.FormatInt(n, 10)) || task.Stdout != filepath.Join(task.Dir, "stdout") {
			t.Errorf("task %d: dir %s stdout %s", n, task.Dir, task.Stdout)
		}
		for _, kv := range []string{"SGE_TASK_ID=" + strconv.FormatInt(n, 10), "JOB_ID=" + strconv.FormatInt(a.ID, 10),
			"SGE_TASK_FIRST=1", "SGE_TASK_LAST=5", "SGE_TASK_STEPSIZE=2", "SLURM_ARRAY_TASK_COUNT=3"} {
			if !containsEnv(task.Run.Env, kv) {
				t.Errorf("task %d lacks %s", n, kv)
			}
		}
		if n == 3 {
			if arr := h.waitReason(a.ID, api.ReasonTaskLimit); arr.Reason.Message != "running 1 task, the most it may at once (-tc 1)" {
				t.Errorf("array waits for %q", arr.Reason.Message)
			}
			if code, body := h.do(h.alice, "GET", "/api/v1/jobs/"+strconv.FormatInt(a.ID, 10)+".5", ""); code != 409 || !strings.Contains(body, "has not started yet") {
				t.Errorf("a task not created yet: %d %s", code, body)
			}
			if body := h.must(h.alice, "GET", "/api/v1/jobs/"+strconv.FormatInt(a.ID, 10)+".3", "", 200); !strings.Contains(body, `"task_id":3`) {
				t.Errorf("GET ID.TASK: %s", body)
			}
		}
		code := 0
		if n == 3 {
			code = 7
		}
		h.finish(task.ID, code)
	}
	done := h.waitState(a.ID, api.Failed)
	if done.Tasks.Done != 2 || done.Tasks.Failed != 1 || done.Reason.Code != api.ReasonTasksFailed {
		t.Errorf("array at the end: %+v %+v; want 2 done, 1 failed", done.Tasks, done.Reason)
	}
	if h.tasksOf(a.ID)[3].State != api.Failed {
		t.Errorf("task 3: %s", h.tasksOf(a.ID)[3].State)
	}
}

// running counts the running jobs.
func (h *harness) running() int {
	n, err := h.st.Count(context.Background(), store.Query{States: []api.State{api.Running}})
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// waitTask waits for task n of array id to be in state want.
func (h *harness) waitTask(id, n int64, want api.State) *api.Job {
	h.t.Helper()
	var task *api.Job
	h.wait(id, func(*api.Job) bool {
		task = h.tasksOf(id)[n]
		return task != nil && task.State == want
	})
	return task
}

func TestDeleteArray(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.submit(h.alice, arraySpec(1, 100, 1, 0))
	h.waitTask(a.ID, 1, api.Running)
	h.waitTask(a.ID, 2, api.Running) // the node holds two
	if _, err := h.srv.delete(ctx, h.bob, a.ID); !errors.Is(err, api.ErrDenied) {
		t.Errorf("bob deleting alice's array: %v", err)
	}
	res, err := h.srv.delete(ctx, h.alice, a.ID)
	if err != nil || res.Action != api.ActionRegistered {
		t.Fatalf("delete: %v %+v", err, res)
	}
	end := h.waitState(a.ID, api.Cancelled)
	if end.Tasks.Failed != 100 || end.Tasks.Running != 0 {
		t.Errorf("tasks at the end: %+v", end.Tasks)
	}
	for n, task := range h.tasksOf(a.ID) {
		if task.State != api.Killed {
			t.Errorf("task %d is %s", n, task.State)
		}
	}
	if len(h.tasksOf(a.ID)) != 2 {
		t.Errorf("%d tasks were created; only the two that ran should be", len(h.tasksOf(a.ID)))
	}
}

func TestArrayValidation(t *testing.T) {
	h := newHarness(t, nil)
	for _, a := range []api.Array{{First: 0, Last: 5, Step: 1}, {First: 5, Last: 4, Step: 1}, {First: 1, Last: 5, Step: 0},
		{First: 1, Last: 5, Step: 1, Limit: -1}, {First: 1, Last: 2_000_000, Step: 1}} {
		spec := script("x")
		spec.Array = &a
		if _, err := h.srv.submit(context.Background(), h.alice, spec); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("array %+v: %v; want invalid", a, err)
		}
	}
}

func BenchmarkSubmit(b *testing.B) {
	for _, bc := range []struct {
		name string
		spec api.Spec
	}{
		{"job", script("x")},
		{"array100k", arraySpec(1, 100_000, 1, 0)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := newHarness(b, nil)
			spec := bc.spec
			spec.Hold = true // measure the submission, not the scheduler
			for b.Loop() {
				if _, err := h.srv.submit(context.Background(), h.alice, spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestHoldJidAd(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.submit(h.alice, arraySpec(1, 3, 1, 1))
	spec := arraySpec(1, 3, 1, 0)
	spec.TaskDependencies = []int64{a.ID}
	b := h.submit(h.alice, spec)
	a1 := h.waitTask(a.ID, 1, api.Running)
	if w := h.waitReason(b.ID, api.ReasonDependency); w.Reason.Message != "waiting for task 1.1 to end (-hold_jid_ad)" {
		t.Errorf("b waits for %q", w.Reason.Message)
	}
	h.finish(a1.ID, 1) // however it ends
	h.waitTask(b.ID, 1, api.Running)
	if w := h.waitReason(b.ID, api.ReasonDependency); w.Reason.Message != "waiting for task 1.2 to end (-hold_jid_ad)" {
		t.Errorf("b then waits for %q", w.Reason.Message)
	}
	plain := script("x")
	plain.TaskDependencies = []int64{a.ID}
	if _, err := h.srv.submit(ctx, h.alice, plain); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("-hold_jid_ad without -t: %v", err)
	}
	notArray := arraySpec(1, 2, 1, 0)
	notArray.TaskDependencies = []int64{a1.ID}
	if _, err := h.srv.submit(ctx, h.alice, notArray); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "not an array") {
		t.Errorf("-hold_jid_ad on a task's record: %v", err)
	}
}

// TestTaskThatCannotBeCreated: a task that cannot start (here its
// directory is taken by a file the user put in the array's) is recorded
// as failed with the reason, and the array goes on.
func TestTaskThatCannotBeCreated(t *testing.T) {
	h := newHarness(t, nil)
	a := h.submit(h.alice, arraySpec(1, 3, 1, 1))
	first := h.launched(h.waitTask(a.ID, 1, api.Running).ID)
	if err := os.WriteFile(filepath.Join(a.Dir, "2"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	h.finish(first.ID, 0)
	failed := h.waitTask(a.ID, 2, api.Failed)
	if failed.Reason.Code != api.ReasonStartFailed || !strings.Contains(failed.Reason.Message, "not a directory") {
		t.Errorf("task 2: %+v", failed.Reason)
	}
	h.finish(h.waitTask(a.ID, 3, api.Running).ID, 0)
	if end := h.waitState(a.ID, api.Failed); end.Tasks.Failed != 1 || end.Tasks.Done != 2 {
		t.Errorf("array: %+v", end.Tasks)
	}
}

func TestDeleteTaskNotCreated(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	spec := arraySpec(1, 5, 1, 0)
	spec.Hold = true
	a := h.submit(h.alice, spec)
	del := func(c *caller, task int64) error {
		_, err := h.srv.deleteRef(ctx, c, api.JobRef{ID: a.ID, Task: task})
		return err
	}
	if err := del(h.bob, 2); !errors.Is(err, api.ErrDenied) {
		t.Errorf("bob deleting alice's task: %v", err)
	}
	for _, n := range []int64{1, 3, 5} {
		if err := del(h.alice, n); err != nil {
			t.Fatalf("delete task %d: %v", n, err)
		}
	}
	if err := del(h.alice, 3); !errors.Is(err, api.ErrConflict) {
		t.Errorf("deleting task 3 again: %v; want conflict (it has ended)", err)
	}
	if err := del(h.alice, 9); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("deleting task 9 of 1-5: %v", err)
	}
	arr, _ := h.st.Job(ctx, a.ID)
	if arr.Tasks.Next != 2 || arr.Tasks.Failed != 3 || !slices.Equal(arr.Tasks.Deleted, []int64{1, 3, 5}) {
		t.Errorf("array after deletions: %+v", arr.Tasks)
	}
	if _, err := h.srv.control(ctx, h.alice, a.ID, api.ControlRelease); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int64{2, 4} {
		h.finish(h.waitTask(a.ID, n, api.Running).ID, 0)
	}
	end := h.waitState(a.ID, api.Failed)
	if end.Tasks.Done != 2 || end.Tasks.Failed != 3 {
		t.Errorf("array at the end: %+v", end.Tasks)
	}
	tasks := h.tasksOf(a.ID)
	if len(tasks) != 5 || tasks[3].State != api.Cancelled || tasks[3].Reason.Code != api.ReasonDeleted {
		t.Errorf("tasks: %d records, task 3 %+v", len(tasks), tasks[3])
	}
}

func TestRequeueTask(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.submit(h.alice, arraySpec(1, 2, 1, 0))
	for _, n := range []int64{1, 2} {
		code := 0
		if n == 2 {
			code = 4
		}
		h.finish(h.waitTask(a.ID, n, api.Running).ID, code)
	}
	h.waitState(a.ID, api.Failed)
	if _, err := h.srv.control(ctx, h.alice, a.ID, api.ControlRequeue); !errors.Is(err, api.ErrConflict) {
		t.Errorf("requeue of the array itself: %v; want conflict", err)
	}
	id, err := h.srv.resolve(ctx, api.JobRef{ID: a.ID, Task: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.srv.control(ctx, h.alice, id, api.ControlRequeue); err != nil {
		t.Fatal(err)
	}
	if arr, _ := h.st.Job(ctx, a.ID); arr.State != api.Pending || arr.Tasks.Failed != 0 || arr.Tasks.Running != 1 {
		t.Errorf("array after requeueing its failed task: %s %+v", arr.State, arr.Tasks)
	}
	again := h.wait(id, func(j *api.Job) bool { return j.State == api.Running && j.Attempt == 2 })
	h.finish(again.ID, 0)
	if end := h.waitState(a.ID, api.Done); end.Tasks.Done != 2 {
		t.Errorf("array at the end: %+v", end.Tasks)
	}
}

// TestTaskVariables: a task's environment names its array, its number
// and the array's range in Grid Engine's, Slurm's and GoDocker's words.
func TestTaskVariables(t *testing.T) {
	h := newHarness(t, nil)
	a := h.submit(h.alice, arraySpec(3, 11, 4, 0)) // tasks 3, 7, 11
	task := h.waitTask(a.ID, 7, api.Running)
	array, own := strconv.FormatInt(a.ID, 10), strconv.FormatInt(task.ID, 10)
	for _, kv := range []string{
		"GODOCKER_JID=" + array, "GODOCKER_TASK_ID=7", "GODOCKER_TASK_FIRST=3", "GODOCKER_TASK_LAST=11", "GODOCKER_TASK_STEP=4",
		"JOB_ID=" + array, "SGE_TASK_ID=7", "SGE_TASK_FIRST=3", "SGE_TASK_LAST=11", "SGE_TASK_STEPSIZE=4",
		"SLURM_JOB_ID=" + own, "SLURM_ARRAY_JOB_ID=" + array, "SLURM_ARRAY_TASK_ID=7",
		"SLURM_ARRAY_TASK_MIN=3", "SLURM_ARRAY_TASK_MAX=11", "SLURM_ARRAY_TASK_STEP=4", "SLURM_ARRAY_TASK_COUNT=3",
	} {
		if !containsEnv(task.Run.Env, kv) {
			t.Errorf("task 7 lacks %s", kv)
		}
	}
	// A job that is not a task says so the way Grid Engine does, and has
	// no Slurm array variables.
	h2 := newHarness(t, nil) // h's node is full of tasks
	j := h2.waitState(h2.submit(h2.alice, script("x")).ID, api.Running)
	for _, kv := range []string{"GODOCKER_TASK_ID=", "SGE_TASK_ID=undefined", "SGE_TASK_FIRST=undefined", "SGE_TASK_LAST=undefined", "SGE_TASK_STEPSIZE=undefined"} {
		if !containsEnv(j.Run.Env, kv) {
			t.Errorf("a job that is not a task lacks %s", kv)
		}
	}
	for _, e := range j.Run.Env {
		if strings.HasPrefix(e, "SLURM_ARRAY_") || strings.HasPrefix(e, "GODOCKER_TASK_FIRST") {
			t.Errorf("a job that is not a task has %s", e)
		}
	}
}

// TestRequeuedTaskKeepsTaskLimit: a task put back in the queue waits, like
// the tasks not created yet, while its array runs as many as -tc allows
// (here 1, on a node with room for 2).
func TestRequeuedTaskKeepsTaskLimit(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.submit(h.alice, arraySpec(1, 2, 1, 1)) // -tc 1
	t1 := h.waitTask(a.ID, 1, api.Running)
	h.finish(t1.ID, 0)
	h.waitState(t1.ID, api.Done)
	t2 := h.waitTask(a.ID, 2, api.Running)
	if _, err := h.srv.control(ctx, h.alice, t1.ID, api.ControlRequeue); err != nil {
		t.Fatal(err)
	}
	w := h.waitReason(t1.ID, api.ReasonTaskLimit)
	if w.State != api.Pending {
		t.Errorf("requeued task 1 is %s while task 2 runs; want pending", w.State)
	}
	h.poke()
	if n := h.running(); n != 1 {
		t.Errorf("%d tasks run; want 1 (-tc 1)", n)
	}
	h.finish(t2.ID, 0)
	if again := h.wait(t1.ID, func(j *api.Job) bool { return j.State == api.Running }); again.Attempt != 2 {
		t.Errorf("task 1 runs again at attempt %d", again.Attempt)
	}
	h.finish(t1.ID, 0)
	if end := h.waitState(a.ID, api.Done); end.Tasks.Done != 2 {
		t.Errorf("array at the end: %+v", end.Tasks)
	}
}
