package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/store"
)

// control applies a job control action for c: hold, release, suspend,
// resume or requeue. Ownership is as for gdel: the owner and admins.
func (s *Server) control(ctx context.Context, c *caller, id int64, action string) (*api.Job, error) {
	switch action {
	case api.ControlHold:
		return s.transition(ctx, c, id, action, func(j *api.Job) error {
			if j.State != api.Pending {
				return api.Conflict(fmt.Sprintf("job %s is %s: only a waiting job can be held (suspend a running one with gctl suspend)", j.Ref(), j.State))
			}
			j.State = api.Held
			j.Reason = api.Reason{Code: api.ReasonHeld, Message: fmt.Sprintf("held by its owner %s (gctl hold)", c.User)}
			if c.User != j.User {
				j.Reason = api.Reason{Code: api.ReasonHeldAdmin, Message: fmt.Sprintf("held by admin %s (gctl hold)", c.User)}
			}
			return nil
		})
	case api.ControlRelease:
		return s.transition(ctx, c, id, action, func(j *api.Job) error {
			if j.State != api.Held {
				return api.Conflict(fmt.Sprintf("job %s is %s, not held", j.Ref(), j.State))
			}
			if j.Reason.Code == api.ReasonHeldAdmin && !c.Admin {
				return api.Denied(fmt.Sprintf("job %s was held by an admin (%s): ask an admin to release it", j.Ref(), j.Reason.Message))
			}
			j.State, j.Reason = api.Pending, api.Reason{Code: api.ReasonWaitingForScheduling, Message: "waiting for the scheduler"}
			return nil
		})
	case api.ControlSuspend:
		return s.freeze(ctx, c, id, true)
	case api.ControlResume:
		return s.freeze(ctx, c, id, false)
	case api.ControlRequeue:
		return s.requeueJob(ctx, c, id)
	}
	return nil, api.Invalid(fmt.Sprintf("unknown action %q; actions: hold, release, suspend, resume, requeue", action))
}

// transition changes a job's record under fn, after checking c's right to.
func (s *Server) transition(ctx context.Context, c *caller, id int64, action string, fn func(*api.Job) error) (*api.Job, error) {
	j, err := s.store.UpdateJob(ctx, id, func(j *api.Job) error {
		if err := mayControl(c, j); err != nil {
			return err
		}
		return fn(j)
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.NotFound(fmt.Sprintf("job %d does not exist", id))
	}
	if err != nil {
		return nil, err
	}
	s.log.Info("job "+action, "job", id, "by", c.User, "state", j.State)
	kind := api.EventUpdated
	if j.State.Finished() {
		kind = api.EventFinished
	}
	s.publish(kind, j)
	s.poke()
	return j, nil
}

// freeze suspends (docker pause) or resumes a running job. The time it
// spends suspended counts neither toward its walltime nor its quotas.
func (s *Server) freeze(ctx context.Context, c *caller, id int64, suspend bool) (*api.Job, error) {
	j, err := s.store.Job(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.NotFound(fmt.Sprintf("job %d does not exist", id))
	}
	if err != nil {
		return nil, err
	}
	if err := mayControl(c, j); err != nil {
		return nil, err
	}
	from, to, verb := api.Running, api.Suspended, "suspend"
	if !suspend {
		from, to, verb = api.Suspended, api.Running, "resume"
	}
	if j.State != from || j.Deleting {
		return nil, api.Conflict(fmt.Sprintf("job %s is %s: only a %s job can be %sd", j.Ref(), j.State, from, verb))
	}
	ex, ok := s.execs[j.Executor]
	if !ok {
		return nil, fmt.Errorf("job %s runs on executor %q, which is not configured", j.Ref(), j.Executor)
	}
	op := ex.Suspend
	if !suspend {
		op = ex.Resume
	}
	if err := op(ctx, j); err != nil {
		if errors.Is(err, executor.ErrUnsupported) {
			return nil, api.Conflict(fmt.Sprintf("executor %s cannot %s jobs", j.Executor, verb))
		}
		return nil, fmt.Errorf("%s job %d: %w", verb, j.ID, err)
	}
	return s.transition(ctx, c, id, verb, func(cur *api.Job) error {
		if cur.Attempt != j.Attempt || !cur.State.Active() {
			return api.Conflict(fmt.Sprintf("job %d changed meanwhile (%s)", id, cur.State))
		}
		markSuspended(cur, to, time.Now().UTC())
		return nil
	})
}

// markSuspended sets a running job's state to running or suspended and
// keeps the account of the time it spent suspended.
func markSuspended(j *api.Job, state api.State, now time.Time) {
	switch {
	case state == api.Suspended && j.SuspendedAt.IsZero():
		j.SuspendedAt = now
	case state != api.Suspended && !j.SuspendedAt.IsZero():
		if now.After(j.SuspendedAt) {
			j.SuspendedSeconds += now.Sub(j.SuspendedAt).Seconds()
		}
		j.SuspendedAt = time.Time{}
	}
	j.State = state
}

// runSeconds is how long j has run in its current attempt until now,
// suspensions excluded.
func runSeconds(j *api.Job, now time.Time) float64 {
	if j.Started.IsZero() {
		return 0
	}
	t := now.Sub(j.Started).Seconds() - j.SuspendedSeconds
	if !j.SuspendedAt.IsZero() && now.After(j.SuspendedAt) {
		t -= now.Sub(j.SuspendedAt).Seconds()
	}
	return max(t, 0)
}

// requeueJob puts a finished job back in the queue at once, or kills a
// running one so that it goes back when its container has exited.
func (s *Server) requeueJob(ctx context.Context, c *caller, id int64) (*api.Job, error) {
	var kill bool
	var was api.State
	j, err := s.transition(ctx, c, id, "requeue", func(j *api.Job) error {
		was = j.State
		switch {
		case isArray(j):
			return api.Conflict(fmt.Sprintf("job %s is an array: requeue its tasks (gctl requeue %s.TASK)", j.Ref(), j.Ref()))
		case j.ArrayID != 0 && j.Run == nil:
			return api.Conflict(fmt.Sprintf("task %s was deleted before it started: it cannot be requeued", j.Ref()))
		case j.State.Active():
			if j.Deleting {
				return api.Conflict(fmt.Sprintf("job %s is being killed already", j.Ref()))
			}
			j.Deleting, j.Requeue = true, true
			j.Reason = api.Reason{Code: api.ReasonRequeued, Message: fmt.Sprintf("requeued by %s while it ran", c.User)}
			kill = true
		case j.State == api.Done || j.State == api.Failed || j.State == api.Killed || j.State == api.Cancelled:
			s.nextAttempt(j, api.Reason{Code: api.ReasonRequeued, Message: fmt.Sprintf("requeued by %s", c.User)})
		default:
			return api.Conflict(fmt.Sprintf("job %s is %s: only a running or finished job can be requeued", j.Ref(), j.State))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if kill {
		if ex, ok := s.execs[j.Executor]; ok {
			if err := ex.Kill(ctx, j); err != nil && !errors.Is(err, executor.ErrNotFound) {
				return nil, fmt.Errorf("kill job %d to requeue it: %w", id, err)
			}
		}
	} else if j.ArrayID != 0 {
		s.taskRequeued(ctx, j, was)
	}
	return j, nil
}

// taskRequeued takes back the count of a finished task put back in the
// queue; an array that had finished waits for it again.
func (s *Server) taskRequeued(ctx context.Context, t *api.Job, was api.State) {
	a, err := s.store.UpdateJob(ctx, t.ArrayID, func(a *api.Job) error {
		if a.Tasks == nil {
			return errSkip
		}
		if was == api.Done {
			a.Tasks.Done = max(a.Tasks.Done-1, 0)
		} else {
			a.Tasks.Failed = max(a.Tasks.Failed-1, 0)
		}
		a.Tasks.Running++
		if a.State.Finished() {
			a.State, a.Ended = api.Pending, time.Time{}
			a.Reason = api.Reason{Code: api.ReasonRequeued, Message: fmt.Sprintf("task %s was requeued", t.Ref())}
		}
		return nil
	})
	if err != nil {
		if !errors.Is(err, errSkip) {
			s.log.Error("count a requeued task", "job", t.ArrayID, "task", t.TaskID, "err", err)
		}
		return
	}
	s.publish(api.EventUpdated, a)
}

// nextAttempt records j's current attempt in j.Attempts, with what it
// held (for the usage ledger), keeps its output under the attempt's
// number (stdout.1) and makes j pending again as the next attempt.
func (s *Server) nextAttempt(j *api.Job, reason api.Reason) {
	a := api.Attempt{Attempt: j.Attempt, State: j.State, Reason: j.Reason, Node: j.Node, Started: j.Started, Ended: j.Ended, ExitCode: j.ExitCode, Usage: j.Usage}
	if !j.Started.IsZero() {
		r := recordOf(j, j.Ended)
		a.Held = api.Limit{CPUs: r.cpus, Memory: r.memory, GPUs: r.gpus}
		a.SuspendedSeconds = r.suspended
	}
	a.Stdout = s.keepOutput(j, j.Stdout)
	if j.Stderr != j.Stdout {
		a.Stderr = s.keepOutput(j, j.Stderr)
	} else {
		a.Stderr = a.Stdout
	}
	j.Attempts = append(j.Attempts, a)
	j.Attempt++
	j.State, j.Reason = api.Pending, reason
	j.Node, j.Container, j.ExitCode = "", "", nil
	j.Started, j.Ended = time.Time{}, time.Time{}
	j.Usage, j.SuspendedAt, j.SuspendedSeconds = api.Usage{}, time.Time{}, 0
	j.Deleting, j.Requeue = false, false
	j.Priority = api.Priority{}
}

// keepOutput renames an output file of the attempt ending to NAME.N, and
// returns where it is kept ("" if it was not). Only files in the job
// directory are renamed: the server does not rename files in directories
// the user controls (a symlink there could point anywhere), so output
// files given with -o elsewhere are overwritten by the next attempt.
func (s *Server) keepOutput(j *api.Job, path string) string {
	if path == "" || path == "/dev/null" || filepath.Dir(path) != j.Dir {
		return ""
	}
	kept := path + "." + strconv.Itoa(j.Attempt)
	if err := os.Rename(path, kept); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("keep output of earlier attempt", "job", j.ID, "file", path, "err", err)
		}
		return ""
	}
	return kept
}

// requeued records the end of the container of a job killed to be
// requeued, and puts it back in the queue.
func (s *Server) requeued(ctx context.Context, run *api.Job, exit *int, started, end time.Time) {
	var ended *api.Job // the attempt that ended, for the ledger
	j, err := s.store.UpdateJob(ctx, run.ID, func(j *api.Job) error {
		if !j.State.Active() || j.Attempt != run.Attempt || !j.Requeue {
			return errSkip
		}
		if !started.IsZero() {
			j.Started = started.UTC()
		}
		j.Ended = end.UTC()
		if end.IsZero() {
			j.Ended = time.Now().UTC()
		}
		j.State, j.ExitCode = api.Killed, exit
		if !j.Started.IsZero() && j.Ended.After(j.Started) {
			j.Usage.WallSeconds = j.Ended.Sub(j.Started).Seconds()
		}
		ended = j.Clone()
		s.nextAttempt(j, j.Reason)
		return nil
	})
	if err != nil {
		if !errors.Is(err, errSkip) {
			s.log.Error("requeue job", "job", run.ID, "err", err)
		}
		return
	}
	s.ledger.add(ended, time.Now())
	s.log.Info("job requeued", "job", j.ID, "attempt", j.Attempt)
	s.publish(api.EventUpdated, j)
	s.poke()
}

// alter changes a job that has not started (qalter): the spec is
// validated again as at submission, and its execution rebuilt.
func (s *Server) alter(ctx context.Context, c *caller, id int64, a api.Alter) (*api.Job, error) {
	cur, err := s.store.Job(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.NotFound(fmt.Sprintf("job %d does not exist", id))
	}
	if err != nil {
		return nil, err
	}
	if err := mayControl(c, cur); err != nil {
		return nil, err
	}
	if cur.State != api.Pending && cur.State != api.Held {
		return nil, api.Conflict(fmt.Sprintf("job %d is %s: only a waiting job can be altered", id, cur.State))
	}
	spec := cur.Clone().Spec
	if a.Name != nil {
		spec.Name = *a.Name
	}
	if a.CPUs != nil {
		spec.CPUs = *a.CPUs
	}
	if a.GPUs != nil {
		spec.GPUs = *a.GPUs
	}
	if a.Memory != nil {
		spec.Memory = *a.Memory
	}
	if a.Walltime != nil {
		spec.Walltime = *a.Walltime
	}
	if a.Priority != nil {
		spec.Priority = *a.Priority
	}
	if a.Dependencies != nil {
		spec.Dependencies = *a.Dependencies
	}
	if a.Executor != nil {
		spec.Executor = *a.Executor
	}
	// Validate as the owner would submit it; the admin's right to raise
	// the priority is the caller's.
	owner := ownerOf(cur)
	owner.Admin = c.Admin
	ck, err := s.validate(ctx, owner, &spec)
	if err != nil {
		return nil, err
	}
	if a.Dependencies != nil {
		if err := s.refuseCycle(ctx, id, spec.Dependencies); err != nil {
			return nil, err
		}
	}
	return s.transition(ctx, c, id, "alter", func(j *api.Job) error {
		if j.State != api.Pending && j.State != api.Held || j.Attempt != cur.Attempt {
			return api.Conflict(fmt.Sprintf("job %d started meanwhile (%s)", id, j.State))
		}
		j.Spec, j.Name, j.Project, j.Executor = spec, spec.Name, spec.Project, ck.executor
		return nil
	})
}

// refuseCycle refuses dependencies that would make job id wait for
// itself, directly or through the jobs it would wait for.
func (s *Server) refuseCycle(ctx context.Context, id int64, deps []api.Dependency) error {
	var queue []int64
	for _, d := range deps {
		queue = append(queue, d.Jobs...)
	}
	seen := map[int64]bool{}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		if next == id {
			return api.Invalid(fmt.Sprintf("job %d would wait for itself through its dependencies", id))
		}
		if seen[next] {
			continue
		}
		seen[next] = true
		j, err := s.store.Job(ctx, next)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read job %d: %w", next, err)
		}
		if j.State == api.Pending || j.State == api.Held {
			for _, d := range j.Spec.Dependencies {
				queue = append(queue, d.Jobs...)
			}
		}
	}
	return nil
}

// ownerOf is the caller a job was submitted by, as far as its record
// says.
func ownerOf(j *api.Job) *caller {
	return &caller{Identity: api.Identity{User: j.User, UID: j.UID, GID: j.GID}, Group: j.Group, Groups: j.Groups, Home: j.Home}
}

func (s *Server) postControl(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, err := s.jobID(r)
	if err != nil {
		return err
	}
	j, err := s.control(r.Context(), c, id, r.PathValue("action"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, visible(j, c))
	return nil
}

func (s *Server) patchJob(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, err := s.jobID(r)
	if err != nil {
		return err
	}
	var a api.Alter
	if err := decodeBody(w, r, maxSmallBody, &a); err != nil {
		return err
	}
	j, err := s.alter(r.Context(), c, id, a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, visible(j, c))
	return nil
}
