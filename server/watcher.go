package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/store"
)

// watch follows an executor's events and reconciles the store with what
// runs: once at start (a restarted server picks up every job it had), then
// every scheduler.reconcile in case an event was missed. It reports on
// ready whether it could subscribe.
func (s *Server) watch(ctx context.Context, ex executor.Executor, ready chan<- error) {
	events, err := ex.Events(ctx)
	if err != nil {
		ready <- fmt.Errorf("follow events of executor %s: %w", ex.Name(), err)
		return
	}
	ready <- nil
	s.reconcile(ctx, ex)
	t := time.NewTicker(time.Duration(s.cfg.Scheduler.Reconcile))
	defer t.Stop()
	limits := time.NewTicker(limitsInterval)
	defer limits.Stop()
	// Ends are recorded concurrently: each inspects the container,
	// writes the job and removes the container, a tenth of a second or
	// more with Docker, and one after the other they capped how fast a
	// queue of short jobs drains. Recording an end twice is harmless
	// (finish and collect check the job's state and attempt).
	exits := make(chan struct{}, exitParallelism)
	var ending sync.WaitGroup
	defer ending.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.reconcile(ctx, ex)
		case now := <-limits.C:
			s.enforceWalltime(ctx, ex, now)
		case ev, ok := <-events:
			if !ok {
				return
			}
			if ev.Kind != executor.Exited {
				s.handle(ctx, ex, ev)
				continue
			}
			exits <- struct{}{}
			ending.Go(func() {
				defer func() { <-exits }()
				s.handle(ctx, ex, ev)
			})
		}
	}
}

// exitParallelism is how many container ends one watcher records at once.
const exitParallelism = 8

func (s *Server) handle(ctx context.Context, ex executor.Executor, ev executor.Event) {
	j, err := s.store.Job(ctx, ev.JobID)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Error("read job of event", "job", ev.JobID, "err", err)
		}
		return
	}
	if j.Attempt != ev.Attempt {
		return
	}
	switch ev.Kind {
	case executor.Exited:
		s.exited(ctx, ex, j)
	case executor.Paused, executor.Resumed:
		s.check(ctx, ex, j)
	}
}

// reconcile compares every job the store says is active with its
// container, and samples the usage of those that run.
func (s *Server) reconcile(ctx context.Context, ex executor.Executor) {
	jobs, err := s.store.Jobs(ctx, store.Query{States: []api.State{api.Running, api.Suspended}})
	if err != nil {
		s.log.Error("reconcile: list active jobs", "err", err)
		return
	}
	for _, j := range jobs {
		if j.Executor == ex.Name() {
			s.check(ctx, ex, j)
		}
	}
}

// check brings one active job's record in line with its container.
func (s *Server) check(ctx context.Context, ex executor.Executor, j *api.Job) {
	st, err := ex.Inspect(ctx, j)
	if err != nil {
		s.log.Warn("inspect job", "job", j.ID, "err", err)
		return
	}
	switch st.State {
	case executor.StateExited:
		s.collect(ctx, ex, j, st)
	case executor.StateMissing, executor.StateCreated:
		if s.isLaunching(j) {
			return // Start has not finished: not missing, just not there yet
		}
		// j may be older than the inspection: a job that ended is
		// recorded before its container is removed, so the store read
		// now says whether it ended (then there is nothing to do: above
		// all, not to start it again).
		cur, err := s.store.Job(ctx, j.ID)
		if err != nil {
			s.log.Warn("read job", "job", j.ID, "err", err)
			return
		}
		if !cur.State.Active() || cur.Attempt != j.Attempt {
			return
		}
		j = cur
		switch {
		case j.Requeue:
			s.requeued(ctx, j, nil, time.Time{}, time.Time{})
			return
		case j.Deleting:
			s.finish(ctx, j, api.Killed, j.Reason, nil, time.Time{}, time.Time{})
			return
		}
		// Marked running, but its container was never (fully) started:
		// the server stopped in between. Start it now, if this process
		// leads: the leader marks jobs running and starts them, and
		// another process cannot tell a start under way there from one
		// that never happened (starting it too could run it twice).
		if !s.leading.Load() {
			return
		}
		s.log.Info("starting job whose container is missing", "job", j.ID)
		s.launch(ctx, ex, j)
	case executor.StateRunning, executor.StatePaused:
		want := api.Running
		if st.State == executor.StatePaused {
			want = api.Suspended
		}
		s.sample(ctx, ex, j, want)
	}
}

// sample records a running job's peak memory and cpu time, and its
// running/suspended state as the platform sees it.
func (s *Server) sample(ctx context.Context, ex executor.Executor, j *api.Job, state api.State) {
	u, err := ex.Usage(ctx, j)
	if err != nil && state == j.State {
		return
	}
	_, err = s.store.UpdateJob(ctx, j.ID, func(cur *api.Job) error {
		if !cur.State.Active() || cur.Attempt != j.Attempt {
			return errSkip
		}
		markSuspended(cur, state, time.Now().UTC())
		cur.Usage.CPUSeconds = max(cur.Usage.CPUSeconds, u.CPUSeconds)
		cur.Usage.MaxMemory = max(cur.Usage.MaxMemory, u.MaxMemory, u.Memory)
		return nil
	})
	if err != nil && !errors.Is(err, errSkip) {
		s.log.Error("record usage", "job", j.ID, "err", err)
	}
}

// exited handles the end of a job's container that the platform
// reported. Some platforms remove what they kill (kube deletes the pod,
// swarm may remove the service): a container that ended and is gone is
// recorded at once, not at the next reconciliation.
func (s *Server) exited(ctx context.Context, ex executor.Executor, j *api.Job) {
	if !j.State.Active() {
		return
	}
	st, err := ex.Inspect(ctx, j)
	if err != nil {
		s.log.Warn("inspect exited job", "job", j.ID, "err", err)
		return
	}
	switch st.State {
	case executor.StateExited:
		s.collect(ctx, ex, j, st)
		return
	case executor.StateMissing:
	default:
		return // running or created again: nothing ended to record
	}
	// Gone, even if its Start has not returned yet: the event says it
	// ran, and the reconciliation would take a container missing once
	// Start is over for one never started, and start it again.
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	switch {
	case j.Requeue:
		s.requeued(ctx, j, nil, time.Time{}, time.Time{})
	case j.Deleting:
		s.finish(ctx, j, api.Killed, j.Reason, nil, time.Time{}, time.Time{})
	default:
		// It ran (it exited), so starting it again would run it twice.
		s.finish(ctx, j, api.Failed, api.Reason{Code: api.ReasonLost, Message: "its container ended and was removed outside GoDocker: no exit code"}, nil, time.Time{}, time.Time{})
	}
}

// collect records the exit of a job's container, as st (its inspection)
// says, then removes the container.
func (s *Server) collect(ctx context.Context, ex executor.Executor, j *api.Job, st executor.Status) {
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	code := st.ExitCode
	if j.Requeue {
		s.requeued(ctx, j, &code, st.StartedAt, st.FinishedAt)
		if err := ex.Remove(ctx, j); err != nil {
			s.log.Warn("remove container", "job", j.ID, "err", err)
		}
		return
	}
	state, reason := api.Done, api.Reason{}
	switch {
	case j.Deleting:
		state, reason = api.Killed, j.Reason
	case st.OOMKilled:
		state, reason = api.Killed, api.Reason{Code: api.ReasonOOM, Message: fmt.Sprintf("killed: it used more than its %s of memory (ask for more with -l h_vmem)", api.FormatMemory(j.Spec.Memory))}
	case st.Error != "":
		state, reason = api.Failed, api.Reason{Code: api.ReasonStartFailed, Message: "could not start: " + st.Error}
	case code != 0:
		state, reason = api.Failed, api.Reason{Code: api.ReasonExit, Message: fmt.Sprintf("exited with code %d", code)}
	}
	s.finish(ctx, j, state, reason, &code, st.StartedAt, st.FinishedAt)
	if err := ex.Remove(ctx, j); err != nil {
		s.log.Warn("remove container", "job", j.ID, "err", err)
	}
}

// limitsInterval is how often running jobs are checked against their
// walltime: a job is killed at most this long after its limit.
const limitsInterval = time.Second

// enforceWalltime kills the running jobs that have run longer than their
// -l h_rt, or than limits.max_lifespan; time suspended does not count.
func (s *Server) enforceWalltime(ctx context.Context, ex executor.Executor, now time.Time) {
	jobs, err := s.store.Jobs(ctx, store.Query{States: []api.State{api.Running}})
	if err != nil {
		s.log.Error("walltime: list running jobs", "err", err)
		return
	}
	lifespan := time.Duration(s.cfg.Limits.MaxLifespan).Seconds()
	for _, j := range jobs {
		if j.Executor != ex.Name() || j.Deleting {
			continue
		}
		ran := runSeconds(j, now)
		switch {
		case j.Spec.Walltime > 0 && ran >= float64(j.Spec.Walltime):
			s.log.Info("job over its walltime", "job", j.ID, "user", j.User, "walltime", j.Spec.Walltime)
			s.kill(ctx, ex, j, api.Reason{Code: api.ReasonWalltime, Message: fmt.Sprintf("killed: it ran past its walltime of %s (-l h_rt)", api.FormatWalltime(j.Spec.Walltime))})
		case lifespan > 0 && ran >= lifespan:
			s.log.Info("job over the maximum lifespan", "job", j.ID, "user", j.User)
			s.kill(ctx, ex, j, api.Reason{Code: api.ReasonLifespan, Message: fmt.Sprintf("killed: it ran past the site's maximum lifespan of %s (limits.max_lifespan)", api.FormatWalltime(int64(lifespan)))})
		}
	}
}
