package docker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

	"github.com/godocker/godocker/executor"
)

// Back-off between reconnections of the event stream.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// replaySlack is how far before the latest event delivered a reconnection
// asks the engine to replay from; recent drops what was delivered already.
const replaySlack = 2 * time.Second

// recent remembers the last few thousand events delivered.
type recent struct {
	set  map[eventID]struct{}
	ring []eventID
	next int
}

type eventID struct {
	time      int64
	container string
	action    events.Action
}

const recentSize = 4096

// add records m and reports whether it is new.
func (r *recent) add(m events.Message) bool {
	id := eventID{m.TimeNano, m.Actor.ID, m.Action}
	if r.set == nil {
		r.set = make(map[eventID]struct{}, recentSize)
		r.ring = make([]eventID, 0, recentSize)
	}
	if _, dup := r.set[id]; dup {
		return false
	}
	if len(r.ring) < recentSize {
		r.ring = append(r.ring, id)
	} else {
		delete(r.set, r.ring[r.next])
		r.ring[r.next] = id
		r.next = (r.next + 1) % recentSize
	}
	r.set[id] = struct{}{}
	return true
}

// eventKinds maps the engine's container actions to executor events.
var eventKinds = map[events.Action]executor.EventKind{
	events.ActionStart:   executor.Started,
	events.ActionDie:     executor.Exited,
	events.ActionPause:   executor.Paused,
	events.ActionUnPause: executor.Resumed,
}

// Events streams the start, die, pause and unpause events of containers
// that carry executor.LabelJob and, if the executor has an installation,
// executor.LabelInstallation with its id (another installation's
// containers on the same engine are none of its business; nor are the
// containers of before installations existed, whose ends the watcher's
// reconciliation finds), from the moment Events is called until ctx
// ends, when the channel is closed. If the engine's stream breaks, Events
// reconnects with back-off and asks the engine to replay what happened
// since shortly before the last event it delivered, dropping what it
// delivered already, so nothing is lost across a short outage (the engine
// keeps only its last 256 events, so a long one can lose some: the
// watcher's periodic reconciliation covers that). Exit codes are not in
// events: call Inspect.
func (e *Executor) Events(ctx context.Context) (<-chan executor.Event, error) {
	// The engine's clock, not ours, says from when to replay: the
	// subscription becomes active a little after the request is answered,
	// and asking for events "since now" closes that gap.
	info, err := e.cli.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("events: %w", e.unreachable(err))
	}
	since := engineTime(info.SystemTime)
	if since.IsZero() {
		since = time.Now()
	}
	out := make(chan executor.Event, 64)
	go e.stream(ctx, since, out)
	return out, nil
}

// stream owns out: it forwards the engine's events until ctx ends, then
// closes out.
func (e *Executor) stream(ctx context.Context, since time.Time, out chan<- executor.Event) {
	defer close(out)
	opts := events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)),
		filters.Arg("label", executor.LabelJob),
	)}
	if e.installation != "" {
		opts.Filters.Add("label", executor.LabelInstallation+"="+e.installation)
	}
	for a := range eventKinds {
		opts.Filters.Add("event", string(a))
	}
	var seen recent  // what was delivered, to drop what a reconnection replays
	var latest int64 // the latest event time delivered, in ns
	backoff := minBackoff
	for {
		opts.Since = fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond())
		sctx, cancel := context.WithCancel(ctx)
		msgs, errs := e.cli.Events(sctx, opts)
		err := func() error {
			for {
				select {
				case m := <-msgs:
					backoff = minBackoff
					if !seen.add(m) {
						continue // replayed after a reconnection
					}
					if m.TimeNano > latest {
						latest = m.TimeNano
						// Events are stamped before they are published, so
						// concurrent ones can arrive out of order: replay
						// from a little earlier than the latest.
						since = time.Unix(0, latest).Add(-replaySlack)
					}
					ev, ok := e.event(m)
					if !ok {
						continue
					}
					select {
					case out <- ev:
					case <-ctx.Done():
						return ctx.Err()
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
		slog.Warn("docker event stream broken; reconnecting", "executor", e.name, "err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// event converts an engine message to an executor event; ok is false for
// messages that are not about a job attempt's container of the executor's
// installation (the engine filters those out already).
func (e *Executor) event(m events.Message) (ev executor.Event, ok bool) {
	kind, ok := eventKinds[m.Action]
	if !ok {
		return ev, false
	}
	if e.installation != "" && m.Actor.Attributes[executor.LabelInstallation] != e.installation {
		return ev, false
	}
	id, attempt, ok := executor.JobOfLabels(m.Actor.Attributes)
	if !ok {
		slog.Debug("docker event: container with bad job labels", "executor", e.name, "container", m.Actor.ID,
			"job", m.Actor.Attributes[executor.LabelJob], "attempt", m.Actor.Attributes[executor.LabelAttempt])
		return ev, false
	}
	return executor.Event{JobID: id, Attempt: attempt, Kind: kind, Time: time.Unix(0, m.TimeNano)}, true
}
