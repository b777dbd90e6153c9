package server

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/quota"
	"github.com/godocker/godocker/store"
)

// books is what quotas, fair share and the usage report read: every
// project, every account, and the running (and suspended) jobs.
type books struct {
	projects []*api.Project
	accounts map[string]*api.Account
	running  []*api.Job
}

func (s *Server) readBooks(ctx context.Context) (*books, error) {
	ps, err := s.projects(ctx)
	if err != nil {
		return nil, err
	}
	accounts, err := s.accounts(ctx)
	if err != nil {
		return nil, err
	}
	running, err := s.store.Jobs(ctx, store.Query{States: []api.State{api.Running, api.Suspended}})
	if err != nil {
		return nil, fmt.Errorf("list running jobs: %w", err)
	}
	return &books{projects: ps, accounts: accounts, running: running}, nil
}

// period is the current quota period.
func (s *Server) period(now time.Time) (start, resets time.Time) {
	return quota.Period(now, time.Duration(s.cfg.Scheduler.UserResetUsageDuration))
}

// quotaUse is what each user and project used in the current period.
func (s *Server) quotaUse(now time.Time, running []*api.Job) (users, projects map[string]api.Quota) {
	start, _ := s.period(now)
	return s.ledger.held(now, start, running, false)
}

// spent lists the users and projects whose budget is used up, with the
// reason their jobs wait.
func (s *Server) spent(now time.Time, b *books) (users, projects map[string]api.Reason) {
	if !slices.ContainsFunc(b.projects, func(p *api.Project) bool { return p.Quota.Set() }) &&
		!hasQuota(b.accounts) {
		return nil, nil
	}
	_, resets := s.period(now)
	usedBy, usedIn := s.quotaUse(now, b.running)
	users, projects = map[string]api.Reason{}, map[string]api.Reason{}
	for name, a := range b.accounts {
		if r, ok := quota.Exhausted(api.KindUser, name, a.Quota, usedBy[name], resets); ok {
			users[name] = r
		}
	}
	for _, p := range b.projects {
		if r, ok := quota.Exhausted(api.KindProject, p.Name, p.Quota, usedIn[p.Name], resets); ok {
			projects[p.Name] = r
		}
	}
	return users, projects
}

func hasQuota(accounts map[string]*api.Account) bool {
	for _, a := range accounts {
		if a.Quota.Set() {
			return true
		}
	}
	return false
}

// refuseOverQuota is the admission check of quotas: a user or project
// whose budget is spent may not submit until it resets.
func (s *Server) refuseOverQuota(ctx context.Context, c *caller, p *api.Project) error {
	a, err := s.kept.accounts.get(c.User, func() (*api.Account, error) { return s.account(ctx, c.User) })
	if err != nil {
		return err
	}
	if !a.Quota.Set() && !p.Quota.Set() {
		return nil
	}
	running, err := s.store.Jobs(ctx, store.Query{States: []api.State{api.Running, api.Suspended}})
	if err != nil {
		return fmt.Errorf("list running jobs: %w", err)
	}
	now := time.Now()
	_, resets := s.period(now)
	usedBy, usedIn := s.quotaUse(now, running)
	r, ok := quota.Exhausted(api.KindUser, c.User, a.Quota, usedBy[c.User], resets)
	if !ok {
		r, ok = quota.Exhausted(api.KindProject, p.Name, p.Quota, usedIn[p.Name], resets)
	}
	if ok {
		return &api.Error{Code: api.CodeUnavailable, Message: r.Message + ": no new jobs until then (gctl quota show)"}
	}
	return nil
}

// killOverQuota kills the running jobs of owners whose budget is spent,
// when limits.kill_on_limit says so.
func (s *Server) killOverQuota(ctx context.Context, running []*api.Job, users, projects map[string]api.Reason) {
	if !s.cfg.Limits.KillOnLimit || len(users)+len(projects) == 0 {
		return
	}
	for _, j := range running {
		r, ok := users[j.User]
		if !ok {
			r, ok = projects[j.Project]
		}
		if !ok || j.Deleting {
			continue
		}
		ex, found := s.execs[j.Executor]
		if !found {
			continue
		}
		r.Message = "killed: " + r.Message + " (limits.kill_on_limit)"
		s.kill(ctx, ex, j, r)
	}
}

func (s *Server) getQuotas(w http.ResponseWriter, r *http.Request, _ *caller) error {
	b, err := s.readBooks(r.Context())
	if err != nil {
		return err
	}
	now := time.Now()
	rep := api.QuotaReport{Quotas: []api.QuotaEntry{}}
	rep.Start, rep.Resets = s.period(now)
	usedBy, usedIn := s.quotaUse(now, b.running)
	for _, name := range slices.Sorted(maps.Keys(b.accounts)) {
		if a := b.accounts[name]; a.Quota.Set() {
			rep.Quotas = append(rep.Quotas, api.QuotaEntry{Kind: api.KindUser, Name: a.User, Quota: a.Quota, Used: usedBy[a.User]})
		}
	}
	for _, p := range b.projects {
		if p.Quota.Set() {
			rep.Quotas = append(rep.Quotas, api.QuotaEntry{Kind: api.KindProject, Name: p.Name, Quota: p.Quota, Used: usedIn[p.Name]})
		}
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) getUsage(w http.ResponseWriter, r *http.Request, _ *caller) error {
	b, err := s.readBooks(r.Context())
	if err != nil {
		return err
	}
	accounts, ps, running := b.accounts, b.projects, b.running
	now := time.Now()
	window := time.Duration(s.cfg.Scheduler.UserResetUsageDuration)
	usedBy, usedIn := s.ledger.held(now, now.Add(-window), running, true)

	users, projects := map[string]*api.UsageEntry{}, map[string]*api.UsageEntry{}
	entry := func(m map[string]*api.UsageEntry, name string, prio int) *api.UsageEntry {
		e, ok := m[name]
		if !ok {
			e = &api.UsageEntry{Name: name, Priority: prio}
			m[name] = e
		}
		return e
	}
	userPrio := func(name string) int {
		if a, ok := accounts[name]; ok {
			return a.Priority
		}
		return api.DefaultPriority
	}
	projectPrio := map[string]int{}
	for _, p := range ps {
		projectPrio[p.Name] = p.Priority
		entry(projects, p.Name, p.Priority)
	}
	prioOf := func(name string) int {
		if p, ok := projectPrio[name]; ok {
			return p
		}
		return api.DefaultPriority
	}
	for name, u := range usedBy {
		entry(users, name, userPrio(name)).Used = u
	}
	for name, u := range usedIn {
		entry(projects, name, prioOf(name)).Used = u
	}
	for _, j := range running {
		for _, e := range []*api.UsageEntry{entry(users, j.User, userPrio(j.User)), entry(projects, j.Project, prioOf(j.Project))} {
			d := demandOf(j)
			e.Running++
			e.CPUs += d.CPUs
			e.Memory += d.Memory
			e.GPUs += d.GPUs
		}
	}
	writeJSON(w, http.StatusOK, api.UsageReport{
		Window:   window.Seconds(),
		HalfLife: time.Duration(s.cfg.Scheduler.UsageHalfLife).Seconds(),
		Users:    shares(users),
		Projects: shares(projects),
	})
	return nil
}

// shares sorts entries by name and sets each one's share of the cpu·seconds.
func shares(m map[string]*api.UsageEntry) []api.UsageEntry {
	var total float64
	out := make([]api.UsageEntry, 0, len(m))
	for _, e := range m {
		total += e.Used.CPUSeconds
		out = append(out, *e)
	}
	for i := range out {
		if total > 0 {
			out[i].Share = out[i].Used.CPUSeconds / total
		}
	}
	slices.SortFunc(out, func(a, b api.UsageEntry) int { return cmp.Compare(a.Name, b.Name) })
	return out
}
