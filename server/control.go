package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/store"
)

// mayControl says whether c may act on j: its owner and admins.
func mayControl(c *caller, j *api.Job) error {
	if c.Admin || c.User == j.User {
		return nil
	}
	return api.Denied(fmt.Sprintf("%s may not act on job %s of %s", c.User, j.Ref(), j.User))
}

// delete cancels a job that has not started, or kills the container of one
// that runs; the watcher then records it as killed.
func (s *Server) delete(ctx context.Context, c *caller, id int64) (*api.DeleteResult, error) {
	if a, err := s.store.Job(ctx, id); err == nil && isArray(a) {
		return s.deleteArray(ctx, c, id)
	}
	res := &api.DeleteResult{ID: id, User: c.User}
	j, err := s.store.UpdateJob(ctx, id, func(j *api.Job) error {
		if err := mayControl(c, j); err != nil {
			return err
		}
		switch {
		case j.State == api.Pending || j.State == api.Held:
			j.State = api.Cancelled
			j.Ended = time.Now().UTC()
			j.Reason = api.Reason{Code: api.ReasonDeleted, Message: fmt.Sprintf("deleted by %s before it ran", c.User)}
			res.Action = api.ActionDeleted
		case j.State.Active():
			j.Deleting = true
			j.Reason = api.Reason{Code: api.ReasonDeleted, Message: fmt.Sprintf("deleted by %s while it ran", c.User)}
			res.Action = api.ActionRegistered
		default:
			return api.Conflict(fmt.Sprintf("job %s has already finished (%s)", j.Ref(), j.State))
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.NotFound(fmt.Sprintf("job %d does not exist", id))
	}
	if err != nil {
		return nil, err
	}
	s.log.Info("job deleted", "job", id, "by", c.User, "action", res.Action)
	if res.Action == api.ActionRegistered {
		if ex, ok := s.execs[j.Executor]; ok {
			// A missing container is the scheduler's to handle: it checks
			// Deleting right after it starts one.
			if err := ex.Kill(ctx, j); err != nil && !errors.Is(err, executor.ErrNotFound) {
				return nil, fmt.Errorf("kill job %d: %w", id, err)
			}
		}
	}
	kind := api.EventUpdated
	if j.State.Finished() {
		kind = api.EventFinished
	}
	s.publish(kind, j)
	s.poke()
	return res, nil
}

// kill marks a running job as being killed for reason, and kills its
// container; the watcher records it as killed when the container exits.
func (s *Server) kill(ctx context.Context, ex executor.Executor, j *api.Job, reason api.Reason) {
	k, err := s.store.UpdateJob(ctx, j.ID, func(cur *api.Job) error {
		if !cur.State.Active() || cur.Attempt != j.Attempt || cur.Deleting {
			return errSkip
		}
		cur.Deleting, cur.Reason = true, reason
		return nil
	})
	if err != nil {
		if !errors.Is(err, errSkip) {
			s.log.Error("mark job to kill", "job", j.ID, "err", err)
		}
		return
	}
	s.log.Info("killing job", "job", j.ID, "user", j.User, "reason", reason.Code)
	if err := ex.Kill(ctx, k); err != nil && !errors.Is(err, executor.ErrNotFound) {
		s.log.Error("kill job", "job", j.ID, "err", err)
	}
}
