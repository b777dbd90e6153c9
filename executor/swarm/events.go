package swarm

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/godocker/godocker/executor"
)

// PollInterval is how often Events lists the tasks of GoDocker's services.
const PollInterval = time.Second

// nudgeDelays are when, after a GoDocker container of the manager's engine
// started or died, Events lists the tasks again: the task's new state
// reaches the manager a moment after the container's event.
var nudgeDelays = []time.Duration{50 * time.Millisecond, 300 * time.Millisecond}

// Events streams the starts and exits of the tasks of GoDocker's services
// from the moment Events is called until ctx ends, when the channel is
// closed. Docker 20.10 has no task events: each stream lists the tasks of
// the services labelled executor.LabelJob (and, if the executor has an
// installation, executor.LabelInstallation with its id: another
// installation's services are none of its business, and the ends of the
// services of before installations are found by the watcher's
// reconciliation) every PollInterval (one call)
// and reports what changed since the previous list, each change once and
// in order: a task that started and ended between two lists gets Started
// then Exited (unless it never ran its program: a rejected task gets
// Exited only), and a task that ran and vanished (its service removed)
// gets Exited. The container events of the manager's engine make the
// stream list the tasks again at once, so that the jobs of the manager's
// node are reported within a fraction of a second; they are never
// reported from those events. If listing fails, the stream says so in the
// log and tries again at the next tick; what changed meanwhile is reported
// then. Exit codes are not in events: call Inspect.
func (e *Executor) Events(ctx context.Context) (<-chan executor.Event, error) {
	tasks, err := e.tasks(ctx)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	tr := &tracker{installation: e.installation, seen: map[string]seenTask{}}
	tr.update(tasks, time.Now()) // what exists now is not news
	out := make(chan executor.Event, 64)
	go e.poll(ctx, tr, out)
	return out, nil
}

// tasks lists the tasks of GoDocker's services of the executor's
// installation.
func (e *Executor) tasks(ctx context.Context) ([]swarm.Task, error) {
	tasks, err := e.cli.TaskList(ctx, swarm.TaskListOptions{Filters: e.labelFilters()})
	if err != nil {
		return nil, fmt.Errorf("list the tasks of GoDocker's services: %w", err)
	}
	return tasks, nil
}

// labelFilters select what GoDocker's executors label as theirs: with
// executor.LabelJob, and of the executor's installation if it has one.
func (e *Executor) labelFilters(more ...filters.KeyValuePair) filters.Args {
	f := filters.NewArgs(append(more, filters.Arg("label", executor.LabelJob))...)
	if e.installation != "" {
		f.Add("label", executor.LabelInstallation+"="+e.installation)
	}
	return f
}

// poll owns out: it sends what changes in the task list until ctx ends,
// then closes out.
func (e *Executor) poll(ctx context.Context, tr *tracker, out chan<- executor.Event) {
	defer close(out)
	kick := make(chan struct{}, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { e.nudge(ctx, kick) })
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-kick:
		}
		tasks, err := e.tasks(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failing {
				slog.Warn("swarm events: cannot list tasks; trying again every second", "executor", e.name, "err", err)
			}
			failing = true
			continue
		}
		if failing {
			slog.Info("swarm events: listing tasks again", "executor", e.name)
			failing = false
		}
		for _, ev := range tr.update(tasks, time.Now()) {
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}
}

// nudge follows the start and die events of GoDocker's containers (of the
// executor's installation) on the manager's engine until ctx ends, and
// asks poll, through kick, to list the tasks soon after each. If the
// engine's stream breaks, it reconnects with back-off; meanwhile poll
// lists the tasks every PollInterval anyway.
func (e *Executor) nudge(ctx context.Context, kick chan<- struct{}) {
	send := func() {
		select {
		case kick <- struct{}{}:
		default: // a list is due already
		}
	}
	opts := events.ListOptions{Filters: e.labelFilters(
		filters.Arg("type", string(events.ContainerEventType)),
		filters.Arg("event", string(events.ActionStart)),
		filters.Arg("event", string(events.ActionDie)),
	)}
	backoff := PollInterval
	for {
		sctx, cancel := context.WithCancel(ctx)
		msgs, errs := e.cli.Events(sctx, opts)
		err := func() error {
			for {
				select {
				case <-msgs:
					backoff = PollInterval
					for _, d := range nudgeDelays {
						time.AfterFunc(d, send)
					}
				case err := <-errs:
					return err
				}
			}
		}()
		cancel()
		if ctx.Err() != nil {
			return
		}
		slog.Debug("swarm events: the engine's event stream broke; reconnecting", "executor", e.name, "err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// stage is how far a task has got, as a stream reported it.
type stage uint8

const (
	stageWaiting stage = iota // not started yet
	stageStarted
	stageEnded
)

// seenTask is what a stream knows of a task.
type seenTask struct {
	stage   stage
	job     int64
	attempt int
}

// tracker turns successive task lists into events. It is not for
// concurrent use: each stream has its own.
type tracker struct {
	// installation is the executor's: tasks of another are ignored ("":
	// none are).
	installation string
	seen         map[string]seenTask // by task id
}

// update records tasks, the current list, and returns the events that
// take the previous list to it. The first call's events are to be
// dropped.
func (tr *tracker) update(tasks []swarm.Task, now time.Time) []executor.Event {
	slices.SortFunc(tasks, func(a, b swarm.Task) int {
		return cmp.Or(a.Status.Timestamp.Compare(b.Status.Timestamp), cmp.Compare(a.ID, b.ID))
	})
	var evs []executor.Event
	present := make(map[string]bool, len(tasks))
	for _, t := range tasks {
		job, attempt, ok := jobOf(t)
		if !ok || tr.installation != "" && t.Spec.ContainerSpec.Labels[executor.LabelInstallation] != tr.installation {
			continue
		}
		present[t.ID] = true
		prev := tr.seen[t.ID] // stageWaiting if new
		cur := taskStage(t)
		if cur <= prev.stage {
			if _, known := tr.seen[t.ID]; !known {
				tr.seen[t.ID] = seenTask{cur, job, attempt}
			}
			continue
		}
		at := t.Status.Timestamp
		if at.IsZero() {
			at = now
		}
		if prev.stage == stageWaiting && (cur == stageStarted || ran(t)) {
			evs = append(evs, executor.Event{JobID: job, Attempt: attempt, Kind: executor.Started, Time: at})
		}
		if cur == stageEnded {
			evs = append(evs, executor.Event{JobID: job, Attempt: attempt, Kind: executor.Exited, Time: at})
		}
		tr.seen[t.ID] = seenTask{cur, job, attempt}
	}
	var gone []seenTask
	for id, s := range tr.seen {
		if present[id] {
			continue
		}
		if s.stage == stageStarted { // its service was removed while it ran
			gone = append(gone, s)
		}
		delete(tr.seen, id)
	}
	slices.SortFunc(gone, func(a, b seenTask) int { return cmp.Or(cmp.Compare(a.job, b.job), cmp.Compare(a.attempt, b.attempt)) })
	for _, s := range gone {
		evs = append(evs, executor.Event{JobID: s.job, Attempt: s.attempt, Kind: executor.Exited, Time: now})
	}
	return evs
}

// taskStage is how far t has got.
func taskStage(t swarm.Task) stage {
	switch taskState(t.Status.State) {
	case executor.StateRunning:
		return stageStarted
	case executor.StateExited:
		return stageEnded
	}
	return stageWaiting
}

// ran reports whether an ended task ran its program: it completed, or it
// failed with an exit code (not, e.g., rejected, or shut down by swarm
// before it ran).
func ran(t swarm.Task) bool {
	switch t.Status.State {
	case swarm.TaskStateComplete:
		return true
	case swarm.TaskStateFailed:
		return containerID(t) != "" && startError(t) == ""
	}
	return false
}

// jobOf returns the job and attempt of t, from its container's labels.
func jobOf(t swarm.Task) (job int64, attempt int, ok bool) {
	cs := t.Spec.ContainerSpec
	if cs == nil {
		return 0, 0, false
	}
	return executor.JobOfLabels(cs.Labels)
}
