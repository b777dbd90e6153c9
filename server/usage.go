package server

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/quota"
	"github.com/godocker/godocker/sched"
	"github.com/godocker/godocker/store"
)

// ledger keeps the job attempts (a requeued job's earlier runs count too)
// that ended within scheduler.user_reset_usage_duration:
// the recent use of users, groups and projects that fair share weighs and
// that gctl usage shows, and the use of the current quota period (which
// never starts earlier than one window ago). A job's use is what it held,
// not what it happened to burn: cpu·seconds are its cpus × its wall time,
// as Slurm and Grid Engine bill reserved resources.
type ledger struct {
	mu       sync.Mutex
	window   time.Duration
	halfLife time.Duration // 0: no decay
	records  []usageRecord
	// recorded are the job attempts in records: an attempt's end reaches
	// the ledger more than once (recorded where it happened, on the bus,
	// and in the store read again by a new leader or after a restart).
	recorded map[attempt]bool
}

// usageRecord is what one attempt of a job held, and when.
type usageRecord struct {
	of                   attempt
	user, group, project string
	started, ended       time.Time
	cpus, gpus           int
	memory               int64
	suspended            float64 // seconds of it spent suspended, which count for nothing
}

func newLedger(window, halfLife time.Duration) *ledger {
	return &ledger{window: window, halfLife: halfLife, recorded: map[attempt]bool{}}
}

// recordOf is what j held from its start until ended.
func recordOf(j *api.Job, ended time.Time) usageRecord {
	held := demandOf(j)
	r := usageRecord{of: attempt{j.ID, j.Attempt}, user: j.User, group: j.Group, project: j.Project, started: j.Started, ended: ended,
		cpus: held.CPUs, gpus: held.GPUs, memory: held.Memory, suspended: j.SuspendedSeconds}
	if !j.SuspendedAt.IsZero() && ended.After(j.SuspendedAt) {
		r.suspended += ended.Sub(j.SuspendedAt).Seconds()
	}
	return r
}

// demandOf is what a job holds while it runs: its cpus, its memory as
// resolved (Run) or asked for, its gpus.
func demandOf(j *api.Job) api.Limit {
	l := api.Limit{CPUs: j.CPUs(), Memory: j.Spec.Memory, GPUs: max(j.Spec.GPUs, 0), Jobs: 1}
	if j.Run != nil {
		l.Memory = j.Run.Memory
	}
	return l
}

// active is the share of the record's time that was not spent suspended.
func (r *usageRecord) active() float64 {
	span := r.ended.Sub(r.started).Seconds()
	if r.suspended <= 0 || span <= 0 {
		return 1
	}
	return max(span-r.suspended, 0) / span
}

// load fills the ledger from the attempts the store knows of that ended
// within the window: the current attempts of the jobs that ended and
// the earlier attempts of requeued jobs, whatever their state now. The
// jobs in other states are looked at briefly first, and read whole only
// if they were requeued: a store of 100,000 deleted jobs read whole took
// 700 MB.
func (l *ledger) load(ctx context.Context, st store.Store, now time.Time) error {
	ended := []api.State{api.Done, api.Failed, api.Killed}
	jobs, err := st.Jobs(ctx, store.Query{States: ended})
	if err != nil {
		return fmt.Errorf("read the jobs that ended: %w", err)
	}
	for _, j := range jobs {
		l.add(j, now)
	}
	var others []api.State
	for _, s := range api.States {
		if !slices.Contains(ended, s) {
			others = append(others, s)
		}
	}
	ids, err := requeuedIDs(ctx, st, others)
	if err != nil {
		return fmt.Errorf("find the requeued jobs: %w", err)
	}
	for chunk := range slices.Chunk(ids, 500) {
		jobs, err := st.Jobs(ctx, store.Query{IDs: chunk})
		if err != nil {
			return fmt.Errorf("read the requeued jobs: %w", err)
		}
		for _, j := range jobs {
			l.add(j, now)
		}
	}
	return nil
}

// requeuedIDs returns the ids of the jobs in states that were requeued
// (attempt 2 or later), from their briefs, streamed when the store can.
func requeuedIDs(ctx context.Context, st store.Store, states []api.State) ([]int64, error) {
	q := store.Query{States: states, Brief: true}
	var ids []int64
	if bl, ok := st.(store.BriefLister); ok {
		err := bl.BriefJSON(ctx, q, func(doc []byte) error {
			var b struct {
				ID      int64 `json:"id"`
				Attempt int   `json:"attempt"`
			}
			if err := jsonv2.Unmarshal(doc, &b); err != nil {
				return err
			}
			if b.Attempt > 1 {
				ids = append(ids, b.ID)
			}
			return nil
		})
		return ids, err
	}
	jobs, err := st.Jobs(ctx, q)
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if j.Attempt > 1 {
			ids = append(ids, j.ID)
		}
	}
	return ids, nil
}

// add records the attempts of j that ran and ended within the window:
// its earlier ones (Job.Attempts) and its current one if it has ended.
// Each attempt is recorded once, however often it is added.
func (l *ledger) add(j *api.Job, now time.Time) {
	var rs []usageRecord
	for i := range j.Attempts {
		if a := &j.Attempts[i]; l.within(a.Started, a.Ended, now) {
			rs = append(rs, attemptRecord(j, a))
		}
	}
	if l.within(j.Started, j.Ended, now) {
		rs = append(rs, recordOf(j, j.Ended))
	}
	if len(rs) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range rs {
		if !l.recorded[r.of] {
			l.recorded[r.of] = true
			l.records = append(l.records, r)
		}
	}
}

// within reports whether a run from started to ended ended within the
// window.
func (l *ledger) within(started, ended, now time.Time) bool {
	return !started.IsZero() && !ended.IsZero() && now.Sub(ended) <= l.window
}

// attemptRecord is what earlier attempt a of j held. An attempt recorded
// before attempts kept what they held is taken to have held what j
// asks for now.
func attemptRecord(j *api.Job, a *api.Attempt) usageRecord {
	held := a.Held
	if held == (api.Limit{}) {
		held = demandOf(j)
	}
	return usageRecord{of: attempt{j.ID, a.Attempt}, user: j.User, group: j.Group, project: j.Project, started: a.Started, ended: a.Ended,
		cpus: held.CPUs, gpus: held.GPUs, memory: held.Memory, suspended: a.SuspendedSeconds}
}

// decay is how much of the use of a job that ended at ended still counts
// at now.
func (l *ledger) decay(now, ended time.Time) float64 {
	if l.halfLife <= 0 || !now.After(ended) {
		return 1
	}
	return math.Exp2(-now.Sub(ended).Seconds() / l.halfLife.Seconds())
}

// each calls fn with every record still within the window at now (and the
// running jobs, as held until now, with decay 1), after forgetting the
// records that left the window.
func (l *ledger) each(now time.Time, running []*api.Job, fn func(r *usageRecord, decay float64)) {
	l.mu.Lock()
	kept := l.records[:0]
	for _, r := range l.records {
		if now.Sub(r.ended) > l.window {
			delete(l.recorded, r.of)
			continue
		}
		kept = append(kept, r)
	}
	clear(l.records[len(kept):])
	l.records = kept
	for i := range kept {
		fn(&kept[i], l.decay(now, kept[i].ended))
	}
	l.mu.Unlock()
	for _, j := range running {
		r := recordOf(j, now)
		fn(&r, 1)
	}
}

// totals sums the use of each user and group over the window, as fair
// share weighs it: cpu·seconds, and the cpus and memory of their jobs.
func (l *ledger) totals(now time.Time, running []*api.Job) (users, groups map[string]sched.Usage) {
	users, groups = map[string]sched.Usage{}, map[string]sched.Usage{}
	addTo := func(m map[string]sched.Usage, k string, u sched.Usage) {
		t := m[k]
		t.CPUSeconds += u.CPUSeconds
		t.CPUs += u.CPUs
		t.Memory += u.Memory
		m[k] = t
	}
	l.each(now, running, func(r *usageRecord, decay float64) {
		var wall float64
		if !r.started.IsZero() && r.ended.After(r.started) {
			wall = r.ended.Sub(r.started).Seconds() * r.active()
		}
		u := sched.Usage{CPUSeconds: decay * float64(r.cpus) * wall, CPUs: decay * float64(r.cpus), Memory: decay * float64(r.memory)}
		addTo(users, r.user, u)
		addTo(groups, r.group, u)
	})
	return users, groups
}

// held sums what each user and project held between from and now, as
// quotas count it; decayed weighs the jobs that ended by the half-life,
// as gctl usage shows it.
func (l *ledger) held(now, from time.Time, running []*api.Job, decayed bool) (users, projects map[string]api.Quota) {
	users, projects = map[string]api.Quota{}, map[string]api.Quota{}
	l.each(now, running, func(r *usageRecord, decay float64) {
		q := quota.Held(r.cpus, r.memory, r.gpus, r.started, r.ended, from, now)
		// Suspensions are taken as spread evenly over the job's run.
		f := r.active()
		if decayed {
			f *= decay
		}
		q = api.Quota{CPUSeconds: f * q.CPUSeconds, MemorySeconds: f * q.MemorySeconds, GPUSeconds: f * q.GPUSeconds}
		users[r.user] = users[r.user].Add(q)
		projects[r.project] = projects[r.project].Add(q)
	})
	return users, projects
}
