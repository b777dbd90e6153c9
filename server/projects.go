package server

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/sched"
	"github.com/godocker/godocker/store"
)

// defaultProject is the default project as it is until an admin changes
// it: priority 50, no limit, no quota, everybody a member.
func defaultProject() *api.Project {
	return &api.Project{Name: api.DefaultProject, Priority: api.DefaultPriority}
}

// project returns the project of that name, the default one included;
// api.ErrNotFound if there is none.
func (s *Server) project(ctx context.Context, name string) (*api.Project, error) {
	p, err := s.store.Project(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound) && name == api.DefaultProject:
		return defaultProject(), nil
	case errors.Is(err, store.ErrNotFound):
		return nil, api.NotFound(fmt.Sprintf("project %q does not exist; gctl project list shows those that do", name))
	case err != nil:
		return nil, fmt.Errorf("read project %s: %w", name, err)
	}
	return p, nil
}

// projects returns every project, the default one included, by name.
func (s *Server) projects(ctx context.Context) ([]*api.Project, error) {
	ps, err := s.store.Projects(ctx)
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	if !slices.ContainsFunc(ps, func(p *api.Project) bool { return p.Name == api.DefaultProject }) {
		ps = append(ps, defaultProject())
		slices.SortFunc(ps, func(a, b *api.Project) int { return strings.Compare(a.Name, b.Name) })
	}
	return ps, nil
}

// accounts returns every stored account by user name.
func (s *Server) accounts(ctx context.Context) (map[string]*api.Account, error) {
	as, err := s.store.Accounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	m := make(map[string]*api.Account, len(as))
	for _, a := range as {
		m[a.User] = a
	}
	return m, nil
}

// schedProjects is what scheduling knows of the projects.
func schedProjects(ps []*api.Project) map[string]sched.Project {
	m := make(map[string]sched.Project, len(ps))
	for _, p := range ps {
		m[p.Name] = sched.Project{Name: p.Name, Priority: p.Priority, HasLimit: p.Limit.Set(), Limit: schedLimit(p.Limit)}
	}
	return m
}

func schedLimit(l api.Limit) sched.Limit {
	return sched.Limit{CPUs: l.CPUs, Memory: l.Memory, GPUs: l.GPUs, Jobs: l.Jobs}
}

// checkProject says what is wrong with a project an admin wants stored.
func (s *Server) checkProject(p *api.Project) error {
	if !api.ProjectNamePattern.MatchString(p.Name) {
		return api.Invalid(fmt.Sprintf("project name %q: start with a letter, then letters, digits, _ . - (at most 64)", p.Name))
	}
	if p.Priority < 0 || p.Priority > 100 {
		return api.Invalid(fmt.Sprintf("priority %d is out of range 0..100", p.Priority))
	}
	for _, m := range p.Members {
		if m == "" || m == "@" || strings.ContainsAny(m, " \t\n,:/") {
			return api.Invalid(fmt.Sprintf("member %q: give a user name or @group", m))
		}
	}
	seen := map[string]bool{}
	for _, v := range p.Volumes {
		name, mode, _ := strings.Cut(v, ":")
		vol, ok := s.volume(name)
		if !ok {
			return api.Invalid(fmt.Sprintf("volume %q is not configured; volumes: %s", name, s.volumeNames()))
		}
		if mode != "" && mode != "ro" && mode != "rw" {
			return api.Invalid(fmt.Sprintf("volume %q: the mode after ':' must be ro or rw", v))
		}
		if mode == "rw" && vol.ACL != "rw" {
			return api.Invalid(fmt.Sprintf("volume %q is read-only in the configuration; give %s or %s:ro", name, name, name))
		}
		if seen[name] {
			return api.Invalid(fmt.Sprintf("volume %q is listed twice", name))
		}
		seen[name] = true
	}
	if l := p.Limit; l.CPUs < 0 || l.Memory < 0 || l.GPUs < 0 || l.Jobs < 0 {
		return api.Invalid("limits must not be negative (0: no limit)")
	}
	if q := p.Quota; q.CPUSeconds < 0 || q.MemorySeconds < 0 || q.GPUSeconds < 0 {
		return api.Invalid("quotas must not be negative (0: no quota)")
	}
	if p.Name == api.DefaultProject && (len(p.Members) > 0 || p.Quota.Set()) {
		return api.Invalid("the default project has every user as a member and no quota: give it no members and no quota")
	}
	return nil
}

// mayJoin checks that c may submit to project p.
func mayJoin(p *api.Project, c *caller) error {
	if c.Admin || p.HasMember(c.User, nil) {
		return nil
	}
	// Group names cost a lookup each: only for projects with @groups.
	if slices.ContainsFunc(p.Members, func(m string) bool { return strings.HasPrefix(m, "@") }) &&
		p.HasMember(c.User, slices.Collect(maps.Keys(c.groupNames()))) {
		return nil
	}
	return api.Denied(fmt.Sprintf("you are not a member of project %s: ask an admin to add you (gctl project set %s --add-member %s), or submit without -P", p.Name, p.Name, c.User))
}

func adminOnly(c *caller, what string) error {
	if c.Admin {
		return nil
	}
	return api.Denied(fmt.Sprintf("%s may not %s: only admins may", c.User, what))
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request, _ *caller) error {
	ps, err := s.projects(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ps)
	return nil
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request, _ *caller) error {
	p, err := s.project(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) postProject(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := adminOnly(c, "create projects"); err != nil {
		return err
	}
	var p api.Project
	if err := decodeBody(w, r, maxSmallBody, &p); err != nil {
		return err
	}
	if p.Name == api.DefaultProject {
		return api.Conflict("project default exists already: change it with gctl project set default")
	}
	if err := s.checkProject(&p); err != nil {
		return err
	}
	err := s.store.CreateProject(r.Context(), &p)
	s.kept.projects.forget()
	if err != nil {
		if errors.Is(err, store.ErrExists) {
			return api.Conflict(fmt.Sprintf("project %s exists already: change it with gctl project set %s", p.Name, p.Name))
		}
		return fmt.Errorf("create project %s: %w", p.Name, err)
	}
	s.log.Info("project created", "project", p.Name, "by", c.User)
	writeJSON(w, http.StatusCreated, &p)
	return nil
}

func (s *Server) putProject(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := adminOnly(c, "change projects"); err != nil {
		return err
	}
	name := r.PathValue("name")
	var p api.Project
	if err := decodeBody(w, r, maxSmallBody, &p); err != nil {
		return err
	}
	if p.Name == "" {
		p.Name = name
	}
	if p.Name != name {
		return api.Invalid(fmt.Sprintf("a project cannot be renamed (%s to %s)", name, p.Name))
	}
	if err := s.checkProject(&p); err != nil {
		return err
	}
	ctx := r.Context()
	stored, err := s.store.UpdateProject(ctx, name, func(cur *api.Project) error {
		*cur = *p.Clone()
		return nil
	})
	if errors.Is(err, store.ErrNotFound) && name == api.DefaultProject {
		// The default project is stored the first time it is changed.
		err = s.store.CreateProject(ctx, &p)
		stored = &p
		if errors.Is(err, store.ErrExists) {
			return api.Conflict("project default changed meanwhile: try again")
		}
	}
	s.kept.projects.forget()
	if errors.Is(err, store.ErrNotFound) {
		return api.NotFound(fmt.Sprintf("project %q does not exist; create it with gctl project add", name))
	}
	if err != nil {
		return fmt.Errorf("change project %s: %w", name, err)
	}
	s.log.Info("project changed", "project", name, "by", c.User)
	s.poke()
	writeJSON(w, http.StatusOK, stored)
	return nil
}

func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := adminOnly(c, "remove projects"); err != nil {
		return err
	}
	name := r.PathValue("name")
	if name == api.DefaultProject {
		return api.Conflict("the default project cannot be removed")
	}
	ctx := r.Context()
	jobs, err := s.store.Jobs(ctx, store.Query{States: []api.State{api.Pending, api.Held, api.Running, api.Suspended}})
	if err != nil {
		return fmt.Errorf("list active jobs: %w", err)
	}
	n := 0
	for _, j := range jobs {
		if j.Project == name {
			n++
		}
	}
	if n > 0 {
		return api.Conflict(fmt.Sprintf("project %s has %d jobs waiting or running: delete them, or wait until they end", name, n))
	}
	err = s.store.DeleteProject(ctx, name)
	s.kept.projects.forget()
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return api.NotFound(fmt.Sprintf("project %q does not exist", name))
		}
		return fmt.Errorf("remove project %s: %w", name, err)
	}
	s.log.Info("project removed", "project", name, "by", c.User)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// account returns a user's account, the defaults if none is stored.
func (s *Server) account(ctx context.Context, user string) (*api.Account, error) {
	a, err := s.store.Account(ctx, user)
	if errors.Is(err, store.ErrNotFound) {
		return &api.Account{User: user, Priority: api.DefaultPriority}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read account of %s: %w", user, err)
	}
	return a, nil
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request, _ *caller) error {
	as, err := s.store.Accounts(r.Context())
	if err != nil {
		return fmt.Errorf("list accounts: %w", err)
	}
	if as == nil {
		as = []*api.Account{}
	}
	writeJSON(w, http.StatusOK, as)
	return nil
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request, _ *caller) error {
	a, err := s.account(r.Context(), r.PathValue("user"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) putAccount(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := adminOnly(c, "change priorities or quotas"); err != nil {
		return err
	}
	name := r.PathValue("user")
	var a api.Account
	if err := decodeBody(w, r, maxSmallBody, &a); err != nil {
		return err
	}
	if a.User == "" {
		a.User = name
	}
	switch {
	case a.User != name:
		return api.Invalid(fmt.Sprintf("the account is %s's, not %s's", name, a.User))
	case !validUserName(name):
		return api.Invalid(fmt.Sprintf("user name %q is not valid", name))
	case a.Priority < 0 || a.Priority > 100:
		return api.Invalid(fmt.Sprintf("priority %d is out of range 0..100", a.Priority))
	case a.Quota.CPUSeconds < 0 || a.Quota.MemorySeconds < 0 || a.Quota.GPUSeconds < 0:
		return api.Invalid("quotas must not be negative (0: no quota)")
	}
	err := s.store.PutAccount(r.Context(), &a)
	s.kept.accounts.forget()
	if err != nil {
		return fmt.Errorf("store account of %s: %w", name, err)
	}
	s.log.Info("account changed", "user", name, "priority", a.Priority, "by", c.User)
	s.poke()
	writeJSON(w, http.StatusOK, &a)
	return nil
}

// validUserName accepts what useradd does, roughly: no blanks, no
// separators, not too long.
func validUserName(name string) bool {
	return name != "" && len(name) <= 64 && !strings.ContainsAny(name, " \t\n:/,@") && name[0] != '-'
}
