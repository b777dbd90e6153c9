package server

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/sched"
	"github.com/godocker/godocker/store"
)

// startParallelism is how many containers a server starts at once (see
// launchLater): the engine's create+start is mostly waiting, so a few
// overlap well.
const startParallelism = 8

// reasonParallelism is how many pending jobs' reasons one pass writes at
// once: the store commits concurrent writes together (one fsync for a
// batch, in store/sqlite), and a queue of thousands whose reasons all
// change (the first pass after a start) is written in a second, not in
// one fsync each.
const reasonParallelism = 32

// errSkip aborts an UpdateJob whose precondition no longer holds.
var errSkip = errors.New("job changed meanwhile")

// schedule runs scheduling passes when woken (a submission, a job's end)
// and at least every scheduler.interval, until ctx ends.
func (s *Server) schedule(ctx context.Context) {
	t := time.NewTicker(time.Duration(s.cfg.Scheduler.Interval))
	defer t.Stop()
	for {
		if err := s.pass(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("scheduling pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
		}
	}
}

// pass plans once over the whole queue and applies the plan.
func (s *Server) pass(ctx context.Context) error {
	pending, err := s.store.Jobs(ctx, store.Query{States: []api.State{api.Pending}})
	if err != nil {
		return err
	}
	b, err := s.readBooks(ctx)
	if err != nil {
		return err
	}
	userPrio := make(map[string]int, len(b.accounts))
	for name, a := range b.accounts {
		userPrio[name] = a.Priority
	}
	now := time.Now()
	running := b.running
	// Fair share and quotas weigh each user's use on every executor.
	spentUsers, spentProjects := s.spent(now, b)
	s.killOverQuota(ctx, running, spentUsers, spentProjects)
	if len(pending) == 0 {
		return nil
	}
	m, err := s.maintenance(ctx)
	if err != nil {
		return fmt.Errorf("read maintenance mode: %w", err)
	}
	if m.On {
		s.waitForMaintenance(ctx, pending, m)
		return nil
	}
	s.waitingArrays(ctx, pending)
	users, groups := s.ledger.totals(now, running)
	depended, err := s.dependedStates(ctx, pending)
	if err != nil {
		return err
	}
	projects := schedProjects(b.projects)
	s.strandedJobs(ctx, pending)
	// Each executor is planned apart, but a project's limits hold across
	// all: a plan counts what the other executors run and what the plans
	// before it started in this pass (started).
	var started []*api.Job
	for _, name := range s.order {
		nodes, err := s.nodes(ctx, name)
		if err != nil {
			s.log.Warn("executor has no nodes now", "executor", name, "err", err)
		}
		offered, limited := offer(only(pending, name), running)
		s.waitingTasks(ctx, limited)
		tasks, err := s.dependedTasks(ctx, offered)
		if err != nil {
			return err
		}
		plan := sched.Plan(sched.Snapshot{
			Pending:       offered,
			DependedTasks: tasks,
			Running:       only(running, name),
			Elsewhere:     append(except(running, name), started...),
			Nodes:         nodes,
			Now:           now,
			Policy:        s.policy(name),
			Projects:      projects,
			UserPriority:  userPrio,
			UserUsage:     users,
			GroupUsage:    groups,
			SpentUsers:    spentUsers,
			SpentProjects: spentProjects,
			Depended:      depended,
		})
		s.apply(ctx, name, plan)
		for _, d := range plan {
			if d.Action == sched.Start {
				started = append(started, d.Job)
			}
		}
	}
	return nil
}

// strandedJobs says why the pending jobs whose executor this server does
// not run (it left the configuration) wait: nothing will start them until
// they are moved to another one.
func (s *Server) strandedJobs(ctx context.Context, pending []*api.Job) {
	for _, j := range pending {
		if _, ok := s.execs[j.Executor]; ok || j.Reason.Code == api.ReasonNoExecutor {
			continue
		}
		s.setReason(ctx, j, api.Reason{Code: api.ReasonNoExecutor, Message: fmt.Sprintf(
			"its executor %q is not configured (executors: %s): move it with gctl alter %d -q NAME, or delete it",
			j.Executor, strings.Join(s.order, ", "), j.ID)}, j.Priority)
	}
}

// dependedStates reads the state of every job the pending jobs depend on.
func (s *Server) dependedStates(ctx context.Context, pending []*api.Job) (map[int64]api.State, error) {
	var ids []int64
	for _, j := range pending {
		for _, d := range j.Spec.Dependencies {
			ids = append(ids, d.Jobs...)
		}
		ids = append(ids, j.Spec.TaskDependencies...)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	jobs, err := s.store.Jobs(ctx, store.Query{IDs: ids})
	if err != nil {
		return nil, fmt.Errorf("read the jobs waited for: %w", err)
	}
	states := make(map[int64]api.State, len(jobs))
	for _, j := range jobs {
		states[j.ID] = j.State
		if j.State == api.Archived {
			// Its directory is gone, not its outcome.
			states[j.ID] = api.Failed
			if j.ExitCode != nil && *j.ExitCode == 0 {
				states[j.ID] = api.Done
			}
		}
	}
	return states, nil
}

// dependedTasks reads the state of the tasks that the tasks on offer
// wait for task by task (-hold_jid_ad).
func (s *Server) dependedTasks(ctx context.Context, offered []*api.Job) (map[api.JobRef]api.State, error) {
	arrays, tasks := map[int64]bool{}, map[int64]bool{}
	for _, j := range offered {
		if j.TaskID == 0 || j.ArrayID != 0 {
			continue
		}
		for _, a := range j.Spec.TaskDependencies {
			arrays[a], tasks[j.TaskID] = true, true
		}
	}
	if len(arrays) == 0 {
		return nil, nil
	}
	found, err := s.store.Jobs(ctx, store.Query{Arrays: slices.Collect(maps.Keys(arrays)), Tasks: slices.Collect(maps.Keys(tasks))})
	if err != nil {
		return nil, fmt.Errorf("read the tasks waited for: %w", err)
	}
	states := make(map[api.JobRef]api.State, len(found))
	for _, t := range found {
		states[api.JobRef{ID: t.ArrayID, Task: t.TaskID}] = t.State
	}
	return states, nil
}

// policy is the scheduling policy of an executor's jobs.
func (s *Server) policy(execName string) sched.Policy {
	c := s.cfg.Scheduler
	return sched.Policy{Name: s.cfg.PolicyOf(execName), Weights: sched.Weights{
		WaitingTime: c.FairshareWaitingTimeWeight,
		UserTime:    c.FairshareUserTimeWeight, UserCPU: c.FairshareUserCPUWeight, UserRAM: c.FairshareUserRAMWeight,
		GroupTime: c.FairshareGroupTimeWeight, GroupCPU: c.FairshareGroupCPUWeight, GroupRAM: c.FairshareGroupRAMWeight,
		User: c.FairshareUserWeight, Group: c.FairshareGroupWeight,
	}}
}

func only(jobs []*api.Job, executor string) []*api.Job {
	var out []*api.Job
	for _, j := range jobs {
		if j.Executor == executor {
			out = append(out, j)
		}
	}
	return out
}

// except returns the jobs that are not on executor.
func except(jobs []*api.Job, executor string) []*api.Job {
	var out []*api.Job
	for _, j := range jobs {
		if j.Executor != executor {
			out = append(out, j)
		}
	}
	return out
}

func (s *Server) apply(ctx context.Context, execName string, plan []sched.Decision) {
	now := time.Now()
	s.reasons.forget(now)
	sem := make(chan struct{}, startParallelism)
	writes := make(chan struct{}, reasonParallelism)
	var wg sync.WaitGroup
	// The decisions on an array's virtual tasks (see array.go) are the
	// array's: the first one, the highest ranked, says why it waits.
	said := map[int64]bool{}
	for _, d := range plan {
		virtual := d.Job.TaskID != 0 && d.Job.ArrayID == 0
		if virtual && d.Action != sched.Start {
			if said[d.Job.ID] {
				continue
			}
			said[d.Job.ID] = true
		}
		switch d.Action {
		case sched.Wait:
			if d.Job.Reason != d.Reason || priorityMoved(d.Job.Priority, d.Priority) {
				numbers := d.Job.Reason.Code == d.Reason.Code && countsUse(d.Reason.Code) && !priorityMoved(d.Job.Priority, d.Priority)
				if !s.reasons.due(d.Job.ID, now, !numbers) {
					continue // only its numbers changed, and were written lately
				}
				writes <- struct{}{}
				wg.Add(1)
				go func() {
					defer func() { <-writes; wg.Done() }()
					s.setReason(ctx, d.Job, d.Reason, d.Priority)
				}()
			}
		case sched.Reject:
			if virtual {
				s.rejectArray(ctx, d.Job, d.Reason)
			} else {
				s.reject(ctx, d.Job, d.Reason)
			}
		case sched.Start:
			start := s.start
			if virtual {
				start = s.startTask
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				start(ctx, s.execs[execName], d.Job, d.Node)
			}()
		}
	}
	wg.Wait()
}

// reasonRefresh is how often at most a pending job's reason is written
// again when only its numbers changed (the same code, one that counts
// use): the jobs ahead and the free resources change at every pass while
// a queue drains, and writing every waiting job at every pass cost more
// than starting the jobs did.
const reasonRefresh = 5 * time.Second

// countsUse reports whether reasons of that code count what is in use
// (free resources, jobs ahead, a project's use): numbers that move at
// every pass, where a new sentence of that code tells little new.
func countsUse(code string) bool {
	switch code {
	case api.ReasonResources, api.ReasonPriority, api.ReasonReserved, api.ReasonProjectLimit:
		return true
	}
	return false
}

// reasonTimes remembers when this process last wrote each pending job's
// reason (setReason).
type reasonTimes struct {
	mu      sync.Mutex
	written map[int64]time.Time
}

// due reports whether job id's reason may be written at now (always if
// force), and if so counts it as written then.
func (r *reasonTimes) due(id int64, now time.Time, force bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.written[id]; ok && !force && now.Sub(t) < reasonRefresh {
		return false
	}
	if r.written == nil {
		r.written = map[int64]time.Time{}
	}
	r.written[id] = now
	return true
}

// forget drops what is older than reasonRefresh: those jobs are due.
func (r *reasonTimes) forget(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, t := range r.written {
		if now.Sub(t) >= reasonRefresh {
			delete(r.written, id)
		}
	}
}

// priorityStep is how far a pending job's priority must move before it
// is written again: waiting time moves every priority a little at every
// pass, and a write per pending job per pass would cost more than it tells.
const priorityStep = 0.01

func priorityMoved(old, cur api.Priority) bool {
	d := old.Value - cur.Value
	return d > priorityStep || d < -priorityStep || len(old.Parts) != len(cur.Parts)
}

// setReason records why a pending job waits and its priority.
func (s *Server) setReason(ctx context.Context, j *api.Job, r api.Reason, p api.Priority) {
	_, err := s.store.UpdateJob(ctx, j.ID, func(cur *api.Job) error {
		if cur.State != api.Pending {
			return errSkip
		}
		cur.Reason, cur.Priority = r, p
		return nil
	})
	if err != nil && !errors.Is(err, errSkip) {
		s.log.Error("record pending reason", "job", j.ID, "err", err)
	}
}

// reject ends a pending job that can never run as submitted: rejected,
// or failed when what it needed failed (a dependency, its start).
func (s *Server) reject(ctx context.Context, planned *api.Job, r api.Reason) {
	j, err := s.store.UpdateJob(ctx, planned.ID, func(j *api.Job) error {
		if j.State != api.Pending || j.Attempt != planned.Attempt {
			return errSkip
		}
		j.State, j.Reason, j.Ended = api.Rejected, r, time.Now().UTC()
		if r.Code == api.ReasonDependencyNeverSatisfied || r.Code == api.ReasonStartFailed {
			j.State = api.Failed
		}
		return nil
	})
	if err != nil {
		if !errors.Is(err, errSkip) {
			s.log.Error("reject job", "job", planned.ID, "err", err)
		}
		return
	}
	s.log.Info("job rejected", "job", j.ID, "user", j.User, "reason", r.Message)
	s.publish(api.EventFinished, j)
}

// cannotStart ends a planned job whose execution could not be decided:
// its owner lost a right it needs, or what it uses is gone (a volume, the
// working directory). Other errors (the store's, say) leave it pending:
// the next pass tries again.
func (s *Server) cannotStart(ctx context.Context, planned *api.Job, cause error) {
	var ae *api.Error
	if !errors.As(cause, &ae) {
		s.log.Error("decide how a job runs", "job", planned.ID, "err", cause)
		return
	}
	s.reject(ctx, planned, api.Reason{Code: api.ReasonStartFailed, Message: "could not start: " + ae.Message})
}

// start marks the job running, then starts its container. Marking first
// means a server that dies in between finds a running job with no
// container at start-up, and starts it then (Start is idempotent).
func (s *Server) start(ctx context.Context, ex executor.Executor, planned *api.Job, node string) {
	// Claimed before it is marked running, so that the reconciliation
	// never takes it for a job whose container went missing.
	if !s.starting(planned) {
		return
	}
	resolved := planned.Clone()
	if err := s.resolveExecution(ctx, resolved); err != nil {
		s.started(planned)
		s.cannotStart(ctx, planned, err)
		return
	}
	now := time.Now().UTC()
	j, err := s.store.UpdateJob(ctx, planned.ID, func(j *api.Job) error {
		// Changed since it was planned (gctl alter): the next pass
		// plans it again.
		if j.State != api.Pending || j.Attempt != planned.Attempt || !reflect.DeepEqual(j.Spec, planned.Spec) {
			return errSkip
		}
		j.State = api.Running
		j.Node = node
		j.Started = now
		j.Reason = api.Reason{}
		j.Container = executor.ContainerName(s.installation, j)
		j.Spec, j.Stdout, j.Stderr, j.Run = resolved.Spec, resolved.Stdout, resolved.Stderr, resolved.Run
		return nil
	})
	if err != nil {
		s.started(planned)
		if !errors.Is(err, errSkip) {
			s.log.Error("mark job running", "job", planned.ID, "err", err)
		}
		return
	}
	s.launchLater(ctx, ex, j)
}

// launch starts the container of a job the store says is running.
func (s *Server) launch(ctx context.Context, ex executor.Executor, j *api.Job) {
	if !s.starting(j) {
		return // another launch of this attempt is under way
	}
	defer s.started(j)
	s.startContainer(ctx, ex, j)
}

// launchLater starts the container of a job the store says is running,
// whose start this process has claimed (starting), in the background, at
// most startParallelism at once in this process. A pass waits for its
// jobs to be marked running, so that the next one counts what they take,
// not for their containers: creating one takes a fifth of a second with
// Docker here, and passes that waited for them started a queue of short
// jobs in rounds, slower than they ended.
func (s *Server) launchLater(ctx context.Context, ex executor.Executor, j *api.Job) {
	s.launches.Go(func() {
		defer s.started(j)
		select {
		case s.launchSlots <- struct{}{}:
			defer func() { <-s.launchSlots }()
		case <-ctx.Done():
			return // stays marked running: the next start-up starts it
		}
		s.startContainer(ctx, ex, j)
	})
}

// startContainer starts j's container, and records a failure to start.
func (s *Server) startContainer(ctx context.Context, ex executor.Executor, j *api.Job) {
	err := s.makeJobDir(j)
	if err != nil {
		err = fmt.Errorf("create the job's directory: %w", err)
	} else {
		err = ex.Start(ctx, j, executor.Placement{Node: j.Node})
	}
	if err != nil {
		if ctx.Err() != nil {
			// Shutting down: the job stays marked running, and the next
			// start-up's reconciliation starts it.
			return
		}
		s.log.Warn("job could not start", "job", j.ID, "user", j.User, "err", err)
		ctx, cancel := bookkeeping(ctx)
		defer cancel()
		_ = ex.Remove(ctx, j)
		s.finish(ctx, j, api.Failed, api.Reason{Code: api.ReasonStartFailed, Message: "could not start: " + err.Error()}, nil, time.Time{}, time.Time{})
		return
	}
	s.log.Info("job started", "job", j.ID, "user", j.User, "node", j.Node)
	s.publish(api.EventStarted, j)
	// A deletion that came while the container was being created found
	// nothing to kill: kill it now.
	if cur, err := s.store.Job(ctx, j.ID); err == nil && cur.Deleting && cur.Attempt == j.Attempt {
		if err := ex.Kill(ctx, cur); err != nil && !errors.Is(err, executor.ErrNotFound) {
			s.log.Error("kill deleted job", "job", j.ID, "err", err)
		}
	}
}

// attempt names one attempt of one job.
type attempt struct {
	job int64
	n   int
}

// starting records that j's current attempt is being started, unless it
// is already: false then. The watcher's reconciliation leaves such jobs
// alone: their container is missing, or created and not started, only
// because Start has not finished.
func (s *Server) starting(j *api.Job) bool {
	s.launchMu.Lock()
	defer s.launchMu.Unlock()
	a := attempt{j.ID, j.Attempt}
	if s.launching[a] {
		return false
	}
	s.launching[a] = true
	return true
}

func (s *Server) started(j *api.Job) {
	s.launchMu.Lock()
	defer s.launchMu.Unlock()
	delete(s.launching, attempt{j.ID, j.Attempt})
}

// isLaunching reports whether j's current attempt is being started.
func (s *Server) isLaunching(j *api.Job) bool {
	s.launchMu.Lock()
	defer s.launchMu.Unlock()
	return s.launching[attempt{j.ID, j.Attempt}]
}

// finish records the end of a running job's current attempt, unless it
// was recorded already. exit is the exit code if the container ran;
// started and ended are the container's times when the platform knows
// them (zero: the time the job was marked running, and now).
func (s *Server) finish(ctx context.Context, run *api.Job, state api.State, reason api.Reason, exit *int, started, ended time.Time) {
	if ended.IsZero() {
		ended = time.Now().UTC()
	}
	j, err := s.store.UpdateJob(ctx, run.ID, func(j *api.Job) error {
		if !j.State.Active() || j.Attempt != run.Attempt {
			return errSkip
		}
		j.State, j.Reason, j.ExitCode, j.Ended = state, reason, exit, ended.UTC()
		if !started.IsZero() && !started.After(ended) {
			j.Started = started.UTC()
		}
		if !j.Started.IsZero() && ended.After(j.Started) {
			j.Usage.WallSeconds = ended.Sub(j.Started).Seconds()
		}
		j.Deleting = false
		return nil
	})
	if err != nil {
		if !errors.Is(err, errSkip) {
			s.log.Error("record end of job", "job", run.ID, "err", err)
		}
		return
	}
	s.ledger.add(j, time.Now())
	if j.ArrayID != 0 {
		s.taskEnded(ctx, j)
	}
	s.log.Info("job finished", "job", j.ID, "user", j.User, "state", j.State, "exit", fmtExit(exit), "reason", j.Reason.Message)
	s.publish(api.EventFinished, j)
	s.poke()
}

// bookkeepingTimeout bounds the recording of an event that already
// happened (a job's end, a failed start) once the server is stopping.
const bookkeepingTimeout = 30 * time.Second

// bookkeeping returns a context for recording what already happened: it
// outlives ctx (a shutdown must not leave a finished job unrecorded or
// its container behind), within bookkeepingTimeout.
func bookkeeping(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
}

func fmtExit(exit *int) string {
	if exit == nil {
		return "-"
	}
	return fmt.Sprint(*exit)
}
