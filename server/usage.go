package server

import (
	"context"
	"sync"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/sched"
	"github.com/godocker/godocker/store"
)

// ledger keeps the recent use of users and groups that fair share weighs:
// the jobs that ended within scheduler.user_reset_usage_duration. A job's
// use is what it held, not what it happened to burn: cpu·seconds are its
// cpus × its wall time, as Slurm and Grid Engine bill reserved resources.
type ledger struct {
	mu      sync.Mutex
	window  time.Duration
	records []usageRecord // in the order they ended
}

type usageRecord struct {
	user, group string
	ended       time.Time
	use         sched.Usage
}

func newLedger(window time.Duration) *ledger { return &ledger{window: window} }

// use is what j held until until.
func use(j *api.Job, until time.Time) sched.Usage {
	cpus := float64(j.CPUs())
	var wall float64
	if !j.Started.IsZero() && until.After(j.Started) {
		wall = until.Sub(j.Started).Seconds()
	}
	mem := float64(j.Spec.Memory)
	if j.Run != nil {
		mem = float64(j.Run.Memory)
	}
	return sched.Usage{CPUSeconds: cpus * wall, CPUs: cpus, Memory: mem}
}

// load fills the ledger from the jobs the store knows that ended within
// the window.
func (l *ledger) load(ctx context.Context, st store.Store, now time.Time) error {
	jobs, err := st.Jobs(ctx, store.Query{States: []api.State{api.Done, api.Failed, api.Killed}})
	if err != nil {
		return err
	}
	for _, j := range jobs {
		l.add(j, now)
	}
	return nil
}

// add records a job that ended, if it ran within the window.
func (l *ledger) add(j *api.Job, now time.Time) {
	if j.Started.IsZero() || j.Ended.IsZero() || now.Sub(j.Ended) > l.window {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, usageRecord{user: j.User, group: j.Group, ended: j.Ended, use: use(j, j.Ended)})
}

// totals sums the use of each user and group over the window, with what
// the running jobs held so far, and forgets what fell out of the window.
func (l *ledger) totals(now time.Time, running []*api.Job) (users, groups map[string]sched.Usage) {
	users, groups = map[string]sched.Usage{}, map[string]sched.Usage{}
	addTo := func(m map[string]sched.Usage, k string, u sched.Usage) {
		t := m[k]
		t.CPUSeconds += u.CPUSeconds
		t.CPUs += u.CPUs
		t.Memory += u.Memory
		m[k] = t
	}
	l.mu.Lock()
	kept := l.records[:0]
	for _, r := range l.records {
		if now.Sub(r.ended) > l.window {
			continue
		}
		kept = append(kept, r)
		addTo(users, r.user, r.use)
		addTo(groups, r.group, r.use)
	}
	l.records = kept
	l.mu.Unlock()
	for _, j := range running {
		u := use(j, now)
		addTo(users, j.User, u)
		addTo(groups, j.Group, u)
	}
	return users, groups
}
