package server

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/store"
)

// Job arrays (gsub -t) are one record at submission, whatever their
// size: the array's. It stays pending (or held) until every task has
// finished, and its Tasks say how far it is. Its tasks are created one at
// a time, in order, when the scheduler starts them: each pass offers the
// planner a few "virtual" tasks of every pending array (copies of the
// array's record, never stored), and for each one the plan starts, the
// array's next task is created — a job record of its own, with the
// array's id and its number (ArrayID, TaskID) — and started. From then on
// a task is a job like any other, until it finishes and the array counts
// it.

const (
	// maxArrayTasks is the largest array a submission may ask for.
	maxArrayTasks = 1_000_000
	// offered caps the virtual tasks one array offers the planner in one
	// pass: more could not start at once on any cluster this serves, and
	// the cap keeps a pass over a 100,000-task array cheap.
	offered = 256
)

// isArray reports whether j is an array's own record.
func isArray(j *api.Job) bool { return j.Spec.Array != nil && j.ArrayID == 0 }

// validateArray checks -t and -tc.
func validateArray(a *api.Array) error {
	switch {
	case a == nil:
		return nil
	case a.First < 1 || a.Last < a.First || a.Step < 1:
		return api.Invalid(fmt.Sprintf("task range %d-%d:%d: give FIRST-LAST:STEP with 1 ≤ FIRST ≤ LAST and STEP ≥ 1 (-t)", a.First, a.Last, a.Step))
	case a.Count() > maxArrayTasks:
		return api.Invalid(fmt.Sprintf("the array has %d tasks; at most %d are accepted", a.Count(), maxArrayTasks))
	case a.Limit < 0:
		return api.Invalid(fmt.Sprintf("-tc %d: must be 1 or more", a.Limit))
	}
	return nil
}

// offer expands the pending arrays of jobs into the virtual tasks the
// planner may start now, and returns the other jobs as they are, except
// the tasks put back in the queue (gctl requeue) of an array that runs as
// many tasks as its -tc allows: those are returned apart, in limited.
// running are the running and suspended jobs.
func offer(pending, running []*api.Job) (out, limited []*api.Job) {
	busy := map[int64]int{} // array id: its tasks running or suspended
	for _, j := range running {
		if j.ArrayID != 0 {
			busy[j.ArrayID]++
		}
	}
	out = make([]*api.Job, 0, len(pending))
	for _, j := range pending {
		if j.ArrayID != 0 && j.Spec.Array != nil && j.Spec.Array.Limit > 0 {
			if busy[j.ArrayID] >= j.Spec.Array.Limit {
				limited = append(limited, j)
				continue
			}
			busy[j.ArrayID]++ // it may start in this pass
		}
		if !isArray(j) {
			out = append(out, j)
			continue
		}
		a, t := j.Spec.Array, j.Tasks
		if t == nil || t.Next > a.Last || j.Deleting {
			continue
		}
		n := int64(offered)
		if a.Limit > 0 {
			n = min(n, int64(a.Limit)-t.Running)
		}
		for _, r := range a.Remaining(t) {
			for task := r.First; task <= r.Last && n > 0; task += r.Step {
				v := *j
				v.TaskID = task
				out = append(out, &v)
				n--
			}
		}
	}
	return out, limited
}

// waitingTasks records why the requeued tasks that offer held back wait.
func (s *Server) waitingTasks(ctx context.Context, limited []*api.Job) {
	for _, j := range limited {
		l := j.Spec.Array.Limit
		r := api.Reason{Code: api.ReasonTaskLimit, Message: fmt.Sprintf("its array %d runs as many tasks as it may at once (-tc %d)", j.ArrayID, l)}
		if j.Reason != r {
			s.setReason(ctx, j, r, j.Priority)
		}
	}
}

// remaining counts the tasks of array a not created yet.
func remaining(a *api.Job) int64 {
	var n int64
	for _, r := range a.Spec.Array.Remaining(a.Tasks) {
		n += r.Count()
	}
	return n
}

// stopCreating makes an array create no more tasks: those left count as
// failed.
func stopCreating(a *api.Job) {
	a.Tasks.Failed += remaining(a)
	a.Tasks.Next = a.Spec.Array.Last + 1
}

// skipDeleted moves an array's next task past those deleted before they
// were created.
func skipDeleted(a *api.Job) {
	for a.Tasks.Next <= a.Spec.Array.Last && slices.Contains(a.Tasks.Deleted, a.Tasks.Next) {
		a.Tasks.Next += a.Spec.Array.Step
	}
}

// waitingArrays records why the arrays with no task on offer wait (their
// -tc limit), since no decision will say it.
func (s *Server) waitingArrays(ctx context.Context, pending []*api.Job) {
	for _, j := range pending {
		if !isArray(j) || j.Tasks == nil || j.Tasks.Next > j.Spec.Array.Last || j.Spec.Array.Limit <= 0 || j.Tasks.Running < int64(j.Spec.Array.Limit) {
			continue
		}
		tasks := "tasks"
		if j.Tasks.Running == 1 {
			tasks = "task"
		}
		r := api.Reason{Code: api.ReasonTaskLimit, Message: fmt.Sprintf("running %d %s, the most it may at once (-tc %d)", j.Tasks.Running, tasks, j.Spec.Array.Limit)}
		if j.Reason != r {
			s.setReason(ctx, j, r, j.Priority)
		}
	}
}

// startTask creates the next task of the array planned (a virtual task)
// on node, and starts it.
func (s *Server) startTask(ctx context.Context, ex executor.Executor, planned *api.Job, node string) {
	arr, task, err := s.claimTask(ctx, planned)
	if err != nil {
		if !errors.Is(err, errSkip) {
			s.log.Error("claim the next task of an array", "job", planned.ID, "err", err)
		}
		return
	}
	t, err := s.createTask(ctx, arr, task, node)
	if err != nil {
		s.log.Warn("task could not be created", "job", arr.ID, "task", task, "err", err)
		s.failedTask(ctx, arr, task, err)
		return
	}
	s.publish(api.EventSubmitted, t)
	// The array may have been deleted while the task was being created,
	// after the deletion listed the tasks to kill.
	if cur, err := s.store.Job(ctx, arr.ID); err == nil && cur.Deleting {
		s.finish(ctx, t, api.Killed, cur.Reason, nil, time.Time{}, time.Time{})
		s.started(t)
		return
	}
	s.launchLater(ctx, ex, t)
}

// claimTask counts the next task of the array planned as created and
// running, and returns the array and that task's number; errSkip if the
// array may not create one now.
//
// Tasks are created in order, whichever task the plan started: the next
// one stands for it. With -hold_jid_ad that is right only if the next
// one's predecessors have ended too, as the planned one's had (the plan
// checked them): the next is claimed only if it is the one planned or if
// its predecessors have ended by the store. Otherwise it waits, and so do
// the tasks after it.
func (s *Server) claimTask(ctx context.Context, planned *api.Job) (*api.Job, int64, error) {
	ready := map[int64]bool{planned.TaskID: true} // tasks whose predecessors have ended
	for {
		var task, next int64
		arr, err := s.store.UpdateJob(ctx, planned.ID, func(a *api.Job) error {
			if a.State != api.Pending || a.Deleting || a.Tasks == nil || a.Tasks.Next > a.Spec.Array.Last ||
				a.Spec.Array.Limit > 0 && a.Tasks.Running >= int64(a.Spec.Array.Limit) {
				return errSkip
			}
			next = a.Tasks.Next
			if len(a.Spec.TaskDependencies) > 0 && !ready[next] {
				return errNotReady
			}
			task = next
			a.Tasks.Next += a.Spec.Array.Step
			skipDeleted(a)
			a.Tasks.Running++
			return nil
		})
		if !errors.Is(err, errNotReady) {
			return arr, task, err
		}
		// A task before the planned one is next, or another start claimed
		// the planned one first: the next may start if its predecessors
		// have ended.
		ok, err := s.predecessorsEnded(ctx, planned.Spec.TaskDependencies, next)
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			return nil, 0, errSkip
		}
		ready[next] = true
	}
}

// errNotReady aborts the claim of a task whose predecessors (-hold_jid_ad)
// are not known to have ended.
var errNotReady = errors.New("the next task waits for its predecessors")

// predecessorsEnded reports whether task n of each array of arrays has
// ended, or the array has ended without it (-hold_jid_ad).
func (s *Server) predecessorsEnded(ctx context.Context, arrays []int64, n int64) (bool, error) {
	found, err := s.store.Jobs(ctx, store.Query{Arrays: arrays, Tasks: []int64{n}})
	if err != nil {
		return false, fmt.Errorf("read the tasks %d waited for: %w", n, err)
	}
	ended := map[int64]bool{}
	for _, t := range found { // in id order: a task's last record says
		ended[t.ArrayID] = t.State.Finished()
	}
	for _, id := range arrays {
		if ended[id] {
			continue
		}
		a, err := s.store.Job(ctx, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return false, fmt.Errorf("read job %d waited for: %w", id, err)
		}
		if err != nil || !a.State.Finished() {
			return false, nil
		}
	}
	return true, nil
}

// failedTask records task n of array a as failed, for a reason that kept
// it from being created (its owner lost a right since submission, say),
// so that gstat shows why; the array counts it.
func (s *Server) failedTask(ctx context.Context, a *api.Job, n int64, cause error) {
	s.endedTask(ctx, a, n, api.Failed, api.Reason{Code: api.ReasonStartFailed, Message: "could not start: " + cause.Error()})
	s.taskEnded(ctx, &api.Job{ArrayID: a.ID, TaskID: n, State: api.Failed})
}

// endedTask stores a record of task n of array a, which ended in state
// for reason without running, so that gstat shows it.
func (s *Server) endedTask(ctx context.Context, a *api.Job, n int64, state api.State, reason api.Reason) {
	id, err := s.store.NextID(ctx)
	if err == nil {
		t := taskOf(a, n, id)
		t.State, t.Reason, t.Ended, t.Run = state, reason, time.Now().UTC(), nil
		if err = s.store.CreateJob(ctx, t); err == nil {
			s.publish(api.EventFinished, t)
		}
	}
	if err != nil {
		s.log.Error("record a task that did not run", "job", a.ID, "task", n, "state", state, "err", err)
	}
}

// taskOf is task n of array a as a record of its own, store id id.
func taskOf(a *api.Job, n, id int64) *api.Job {
	t := a.Clone()
	t.ID, t.ArrayID, t.TaskID = id, a.ID, n
	t.Tasks, t.Reason, t.Priority, t.Deleting = nil, api.Reason{}, api.Priority{}, false
	t.Dir = filepath.Join(a.Dir, strconv.FormatInt(n, 10))
	return t
}

// createTask stores task number n of array a as a running job on node,
// with its output files and its execution resolved for it,
// and claims its start (starting): the caller launches it (launchLater)
// or lets it go (started).
func (s *Server) createTask(ctx context.Context, a *api.Job, n int64, node string) (*api.Job, error) {
	id, err := s.store.NextID(ctx)
	if err != nil {
		return nil, fmt.Errorf("reserve an id: %w", err)
	}
	t := taskOf(a, n, id)
	if err := s.resolveExecution(ctx, t); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	t.State, t.Node, t.Started, t.Submitted = api.Running, node, now, now
	t.Container = executor.ContainerName(s.installation, t)
	// Claimed before it is stored as running (see start); the caller
	// launches it or lets it go.
	s.starting(t)
	if err := s.store.CreateJob(ctx, t); err != nil {
		s.started(t)
		return nil, fmt.Errorf("store task %s: %w", t.Ref(), err)
	}
	return t, nil
}

// taskEnded counts a finished task on its array's record, and finishes
// the array with its last task.
func (s *Server) taskEnded(ctx context.Context, t *api.Job) {
	a, err := s.store.UpdateJob(ctx, t.ArrayID, func(a *api.Job) error {
		if a.Tasks == nil || a.State.Finished() {
			return errSkip
		}
		a.Tasks.Running = max(a.Tasks.Running-1, 0)
		if t.State == api.Done {
			a.Tasks.Done++
		} else {
			a.Tasks.Failed++
		}
		s.settleArray(a)
		return nil
	})
	if err != nil {
		if !errors.Is(err, errSkip) {
			s.log.Error("count the end of a task", "job", t.ArrayID, "task", t.TaskID, "err", err)
		}
		return
	}
	kind := api.EventUpdated
	if a.State.Finished() {
		kind = api.EventFinished
		s.log.Info("job array finished", "job", a.ID, "state", a.State, "done", a.Tasks.Done, "failed", a.Tasks.Failed)
	}
	s.publish(kind, a)
	s.poke() // room for its next task
}

// settleArray finishes an array whose tasks are all created and ended:
// done if every one succeeded, cancelled if it was deleted, else failed.
func (s *Server) settleArray(a *api.Job) {
	if a.Tasks.Next <= a.Spec.Array.Last || a.Tasks.Running > 0 {
		return
	}
	a.Ended = time.Now().UTC()
	switch {
	case a.Deleting:
		a.State = api.Cancelled
	case a.Tasks.Failed == 0:
		a.State, a.Reason = api.Done, api.Reason{}
	default:
		a.State = api.Failed
		a.Reason = api.Reason{Code: api.ReasonTasksFailed, Message: fmt.Sprintf("%d of %d tasks did not succeed", a.Tasks.Failed, a.Spec.Array.Count())}
	}
	a.Deleting = false
}

// deleteArray stops an array: no task is created any more (those never
// created count as failed), its running tasks are killed, and it ends
// when the last one has.
func (s *Server) deleteArray(ctx context.Context, c *caller, id int64) (*api.DeleteResult, error) {
	res := &api.DeleteResult{ID: id, User: c.User, Action: api.ActionDeleted}
	a, err := s.store.UpdateJob(ctx, id, func(a *api.Job) error {
		if err := mayControl(c, a); err != nil {
			return err
		}
		if a.State.Finished() {
			return api.Conflict(fmt.Sprintf("job %d has already finished (%s)", a.ID, a.State))
		}
		stopCreating(a)
		a.Deleting = true
		a.Reason = api.Reason{Code: api.ReasonDeleted, Message: fmt.Sprintf("deleted by %s", c.User)}
		// fn may run again on a fresh copy (store.Store): set it each time.
		res.Action = api.ActionDeleted
		if a.Tasks.Running > 0 {
			res.Action = api.ActionRegistered
		}
		s.settleArray(a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if res.Action == api.ActionRegistered {
		tasks, err := s.store.Jobs(ctx, store.Query{Arrays: []int64{id}, States: []api.State{api.Pending, api.Held, api.Running, api.Suspended}})
		if err != nil {
			return nil, fmt.Errorf("list the tasks of job %d: %w", id, err)
		}
		for _, t := range tasks {
			if _, err := s.delete(ctx, c, t.ID); err != nil && !errors.Is(err, api.ErrConflict) {
				s.log.Error("delete task", "job", id, "task", t.TaskID, "err", err)
			}
		}
	}
	s.log.Info("job array deleted", "job", id, "by", c.User)
	kind := api.EventUpdated
	if a.State.Finished() {
		kind = api.EventFinished
	}
	s.publish(kind, a)
	s.poke()
	return res, nil
}

// resolve finds the record a user's reference names: a job, an array, or
// a task of an array (ID.TASK).
func (s *Server) resolve(ctx context.Context, ref api.JobRef) (int64, error) {
	if ref.Task == 0 {
		return ref.ID, nil
	}
	found, err := s.store.Jobs(ctx, store.Query{Arrays: []int64{ref.ID}, Tasks: []int64{ref.Task}})
	if err != nil {
		return 0, fmt.Errorf("find task %s: %w", ref, err)
	}
	if len(found) == 0 {
		a, err := s.store.Job(ctx, ref.ID)
		if err == nil && notCreated(a, ref.Task) {
			return 0, api.Conflict(fmt.Sprintf("task %s has not started yet: tasks are created in order as they start; delete it (gdel %s), act on the whole array (%d), or wait", ref, ref, ref.ID))
		}
		return 0, api.NotFound(fmt.Sprintf("job %s does not exist", ref))
	}
	return found[len(found)-1].ID, nil
}

// notCreated reports whether task is one of array a's still to be
// created.
func notCreated(a *api.Job, task int64) bool {
	if !isArray(a) || a.Tasks == nil {
		return false
	}
	for _, r := range a.Spec.Array.Remaining(a.Tasks) {
		if task >= r.First && task <= r.Last && r.Has(task) {
			return true
		}
	}
	return false
}

// deleteRef deletes what ref names: a job, an array, a task, or a task
// not created yet.
func (s *Server) deleteRef(ctx context.Context, c *caller, ref api.JobRef) (*api.DeleteResult, error) {
	if ref.Task != 0 {
		if a, err := s.store.Job(ctx, ref.ID); err == nil && notCreated(a, ref.Task) {
			return s.deleteTask(ctx, c, ref)
		}
	}
	id, err := s.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	return s.delete(ctx, c, id)
}

// deleteTask deletes a task of an array before it was created: it will
// never be, it counts as failed, and a cancelled record says so.
func (s *Server) deleteTask(ctx context.Context, c *caller, ref api.JobRef) (*api.DeleteResult, error) {
	a, err := s.store.UpdateJob(ctx, ref.ID, func(a *api.Job) error {
		if err := mayControl(c, a); err != nil {
			return err
		}
		if !notCreated(a, ref.Task) {
			return errSkip
		}
		i, _ := slices.BinarySearch(a.Tasks.Deleted, ref.Task)
		a.Tasks.Deleted = slices.Insert(a.Tasks.Deleted, i, ref.Task)
		a.Tasks.Failed++
		skipDeleted(a)
		s.settleArray(a)
		return nil
	})
	if errors.Is(err, errSkip) {
		// Created meanwhile: delete it as a job.
		id, err := s.resolve(ctx, ref)
		if err != nil {
			return nil, err
		}
		return s.delete(ctx, c, id)
	}
	if err != nil {
		return nil, err
	}
	s.endedTask(ctx, a, ref.Task, api.Cancelled, api.Reason{Code: api.ReasonDeleted, Message: fmt.Sprintf("deleted by %s before it ran", c.User)})
	s.log.Info("task deleted before it started", "job", a.ID, "task", ref.Task, "by", c.User)
	kind := api.EventUpdated
	if a.State.Finished() {
		kind = api.EventFinished
	}
	s.publish(kind, a)
	return &api.DeleteResult{ID: a.ID, Action: api.ActionDeleted, User: c.User}, nil
}

// rejectArray ends an array that can never run: no more tasks; it fails
// once the running ones end.
func (s *Server) rejectArray(ctx context.Context, planned *api.Job, r api.Reason) {
	a, err := s.store.UpdateJob(ctx, planned.ID, func(a *api.Job) error {
		if a.State != api.Pending || a.Tasks == nil {
			return errSkip
		}
		stopCreating(a)
		s.settleArray(a)
		a.Reason = r
		return nil
	})
	if err != nil {
		if !errors.Is(err, errSkip) {
			s.log.Error("reject job array", "job", planned.ID, "err", err)
		}
		return
	}
	s.publish(api.EventUpdated, a)
}
