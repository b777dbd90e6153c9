package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/godocker/godocker/api"
)

// suspendClock is the fake server's clock for suspensions.
var suspendClock = t0.Add(30 * time.Minute)

// Control applies a job control action as godockerd does: the owner or
// an admin; a state that does not allow it is a conflict.
func (f *fake) Control(_ context.Context, ref api.JobRef, action string) (*api.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.controls = append(f.controls, fmt.Sprintf("%s %s", action, ref))
	j, err := f.find(ref)
	switch {
	case err != nil:
		return nil, err
	case j.User != f.me && !f.admin:
		return nil, api.Denied(fmt.Sprintf("job %s belongs to %s: only its owner and admins may change it", ref, j.User))
	}
	conflict := func(want string) (*api.Job, error) {
		return nil, api.Conflict(fmt.Sprintf("job %s is %s: only a %s job can be %s", ref, j.State, want, map[string]string{
			api.ControlHold: "held", api.ControlRelease: "released", api.ControlSuspend: "suspended",
			api.ControlResume: "resumed", api.ControlRequeue: "requeued"}[action]))
	}
	switch action {
	case api.ControlHold:
		if j.State != api.Pending {
			return conflict("waiting")
		}
		j.State, j.Reason = api.Held, api.Reason{Code: api.ReasonHeld, Message: "held by its owner " + f.me + " (gctl hold)"}
	case api.ControlRelease:
		if j.State != api.Held {
			return conflict("held")
		}
		j.State, j.Reason = api.Pending, api.Reason{Code: api.ReasonWaitingForScheduling, Message: "waiting for the scheduler"}
	case api.ControlSuspend:
		if j.State != api.Running || j.Deleting {
			return conflict("running")
		}
		j.State, j.SuspendedAt = api.Suspended, suspendClock
	case api.ControlResume:
		if j.State != api.Suspended || j.Deleting {
			return conflict("suspended")
		}
		j.State, j.SuspendedAt = api.Running, time.Time{}
	case api.ControlRequeue:
		switch {
		case j.State.Active() && !j.Deleting:
			// Killed first; pending as the next attempt once it has exited.
			j.Deleting, j.Requeue = true, true
			j.Reason = api.Reason{Code: api.ReasonRequeued, Message: "requeued by " + f.me + " while it ran"}
		case j.State == api.Done || j.State == api.Failed || j.State == api.Killed || j.State == api.Cancelled:
			j.Attempts = append(j.Attempts, api.Attempt{Attempt: j.Attempt, State: j.State, Reason: j.Reason, ExitCode: j.ExitCode})
			j.Attempt++
			j.State, j.Reason, j.ExitCode = api.Pending, api.Reason{Code: api.ReasonRequeued, Message: "requeued by " + f.me}, nil
		default:
			return conflict("running or finished")
		}
	default:
		return nil, api.Invalid(fmt.Sprintf("unknown action %q", action))
	}
	return j.Clone(), nil
}

// Alter records what it was asked and changes a waiting job's name, as
// the tests only look at what was sent.
func (f *fake) Alter(_ context.Context, ref api.JobRef, a api.Alter) (*api.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.alters = append(f.alters, alterCall{ref, a})
	j, err := f.find(ref)
	switch {
	case err != nil:
		return nil, err
	case j.User != f.me && !f.admin:
		return nil, api.Denied(fmt.Sprintf("job %s belongs to %s: only its owner and admins may change it", ref, j.User))
	case j.State != api.Pending && j.State != api.Held:
		return nil, api.Conflict(fmt.Sprintf("job %s is %s: only a waiting job can be altered", ref, j.State))
	}
	if a.Name != nil {
		j.Name, j.Spec.Name = *a.Name, *a.Name
	}
	return j.Clone(), nil
}
