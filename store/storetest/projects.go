package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
)

// Projects and accounts are keyed by name. Names are compared as bytes:
// case-sensitive, as Unix user and group names are, and listed in the
// order of Go's string comparison (SQLite's and MongoDB's default
// collation too). The store holds only what it was given: it does not
// make up the default project.

func createProject(t *testing.T, s store.Store, p *api.Project) {
	t.Helper()
	if err := s.CreateProject(t.Context(), p); err != nil {
		t.Fatalf("CreateProject(%s): %v", p.Name, err)
	}
}

func getProject(t *testing.T, s store.Store, name string) *api.Project {
	t.Helper()
	p, err := s.Project(t.Context(), name)
	if err != nil {
		t.Fatalf("Project(%s): %v", name, err)
	}
	if p == nil {
		t.Fatalf("Project(%s) returned nil and no error", name)
	}
	if p.Name != name {
		t.Fatalf("Project(%s) returned project %s", name, p.Name)
	}
	return p
}

func listProjects(t *testing.T, s store.Store) []*api.Project {
	t.Helper()
	projects, err := s.Projects(t.Context())
	if err != nil {
		t.Fatalf("Projects: %v", err)
	}
	for i, p := range projects {
		if p == nil {
			t.Fatalf("Projects()[%d] is nil", i)
		}
	}
	return projects
}

// checkProjectNames compares the names of what Projects returned, in
// order.
func checkProjectNames(t *testing.T, what string, got []*api.Project, want []string) {
	t.Helper()
	names := make([]string, len(got))
	for i, p := range got {
		names[i] = p.Name
	}
	if !slices.Equal(names, want) {
		t.Errorf("%s: got projects %q, want %q", what, names, want)
	}
}

// checkNoProject checks that Project(name) is ErrNotFound.
func checkNoProject(t *testing.T, what string, s store.Store, name string) {
	t.Helper()
	if p, err := s.Project(t.Context(), name); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: Project(%q) = %+v, %v; want store.ErrNotFound", what, name, p, err)
	}
}

func putAccount(t *testing.T, s store.Store, a *api.Account) {
	t.Helper()
	if err := s.PutAccount(t.Context(), a); err != nil {
		t.Fatalf("PutAccount(%s): %v", a.User, err)
	}
}

func getAccount(t *testing.T, s store.Store, user string) *api.Account {
	t.Helper()
	a, err := s.Account(t.Context(), user)
	if err != nil {
		t.Fatalf("Account(%s): %v", user, err)
	}
	if a == nil {
		t.Fatalf("Account(%s) returned nil and no error", user)
	}
	if a.User != user {
		t.Fatalf("Account(%s) returned the account of %s", user, a.User)
	}
	return a
}

func listAccounts(t *testing.T, s store.Store) []*api.Account {
	t.Helper()
	accounts, err := s.Accounts(t.Context())
	if err != nil {
		t.Fatalf("Accounts: %v", err)
	}
	for i, a := range accounts {
		if a == nil {
			t.Fatalf("Accounts()[%d] is nil", i)
		}
	}
	return accounts
}

// checkAccountUsers compares the users of what Accounts returned, in
// order.
func checkAccountUsers(t *testing.T, what string, got []*api.Account, want []string) {
	t.Helper()
	users := make([]string, len(got))
	for i, a := range got {
		users[i] = a.User
	}
	if !slices.Equal(users, want) {
		t.Errorf("%s: got accounts of %q, want %q", what, users, want)
	}
}

func testProjectRoundTrip(t *testing.T, e *env) {
	want := fullProject("genomics")
	if unset := unsetFields("Project", reflect.ValueOf(*want)); len(unset) > 0 {
		t.Fatalf("storetest's fullProject leaves fields unset, so their round trip is not tested; set them: %v", unset)
	}
	s := e.store()
	createProject(t, s, want)
	checkProject(t, "Project", getProject(t, s, want.Name), want)
	projects := listProjects(t, s)
	checkProjectNames(t, "Projects", projects, []string{want.Name})
	if len(projects) == 1 {
		checkProject(t, "Projects", projects[0], want)
	}

	// Nothing but a name: priority 0 comes back 0, not a default.
	bare := &api.Project{Name: "bare"}
	createProject(t, s, bare)
	checkProject(t, "Project of a bare project", getProject(t, s, bare.Name), bare)
}

func testProjectsOrder(t *testing.T, e *env) {
	s := e.store()
	if projects := listProjects(t, s); len(projects) != 0 {
		checkProjectNames(t, "Projects of an empty store", projects, nil)
	}
	// Created out of order; upper case, digits and punctuation sort
	// before lower case.
	names := []string{"bio", "Zeta", "alpha", "a.b", "a-b", "a_b", "bio2", "b", api.DefaultProject, "A1"}
	want := map[string]*api.Project{}
	for i, name := range names {
		p := &api.Project{Name: name, Owner: "owner of " + name, Priority: i}
		want[name] = p
		createProject(t, s, p)
	}
	projects := listProjects(t, s)
	checkProjectNames(t, "Projects", projects, slices.Sorted(slices.Values(names)))
	for _, p := range projects {
		if w := want[p.Name]; w != nil {
			checkProject(t, "Projects", p, w)
		}
	}
}

func testCreateProjectExists(t *testing.T, e *env) {
	s := e.store()
	first := fullProject("bio")
	createProject(t, s, first)
	err := s.CreateProject(t.Context(), &api.Project{Name: "bio", Owner: "mallory", Members: []string{"mallory"}})
	if !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateProject of a taken name = %v, want store.ErrExists", err)
	}
	checkProject(t, "Project after the refused CreateProject", getProject(t, s, "bio"), first)
	checkProjectNames(t, "Projects after the refused CreateProject", listProjects(t, s), []string{"bio"})
}

func testProjectNotFound(t *testing.T, e *env) {
	s := e.store()
	// The store does not make up the default project.
	checkNoProject(t, "empty store", s, api.DefaultProject)
	bio := fullProject("bio")
	createProject(t, s, bio)
	for _, name := range []string{api.DefaultProject, "bio2", "bi", "Bio", "BIO", ""} {
		checkNoProject(t, "unknown name", s, name)
		called := false
		if p, err := s.UpdateProject(t.Context(), name, func(*api.Project) error {
			called = true
			return nil
		}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdateProject(%q) = %+v, %v; want store.ErrNotFound", name, p, err)
		}
		if called {
			t.Errorf("UpdateProject(%q) called fn for a project that does not exist", name)
		}
		if err := s.DeleteProject(t.Context(), name); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteProject(%q) = %v, want store.ErrNotFound", name, err)
		}
	}
	checkProject(t, "Project after the calls on unknown names", getProject(t, s, "bio"), bio)
	checkProjectNames(t, "Projects after the calls on unknown names", listProjects(t, s), []string{"bio"})
}

func testUpdateProjectSeesCurrent(t *testing.T, e *env) {
	s := e.store()
	want := fullProject("bio")
	createProject(t, s, want)

	calls := 0
	got, err := s.UpdateProject(t.Context(), want.Name, func(p *api.Project) error {
		calls++
		checkProject(t, "fn's project", p, want)
		p.Members = append(p.Members, "dave")
		p.Volumes = nil
		p.Priority = 0
		p.Limit = api.Limit{Jobs: 3}
		p.Quota.GPUSeconds = 0
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateProject: %v", err)
	}
	if calls != 1 {
		t.Errorf("fn called %d times, want once", calls)
	}
	want.Members = append(want.Members, "dave")
	want.Volumes, want.Priority, want.Limit, want.Quota.GPUSeconds = nil, 0, api.Limit{Jobs: 3}, 0
	checkProject(t, "UpdateProject's result", got, want)
	checkProject(t, "Project after UpdateProject", getProject(t, s, want.Name), want)

	// The next update starts from the stored change.
	if _, err := s.UpdateProject(t.Context(), want.Name, func(p *api.Project) error {
		checkProject(t, "second fn's project", p, want)
		return nil
	}); err != nil {
		t.Fatalf("second UpdateProject: %v", err)
	}
}

type projectFnError struct{ name string }

func (e *projectFnError) Error() string { return fmt.Sprintf("project %s: refused", e.name) }

func testUpdateProjectFnError(t *testing.T, e *env) {
	s := e.store()
	want := fullProject("bio")
	createProject(t, s, want)

	boom := &projectFnError{want.Name}
	got, err := s.UpdateProject(t.Context(), want.Name, func(p *api.Project) error {
		scribbleProject(p) // changes made before the error must not be written
		p.Name = want.Name
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("UpdateProject = %v, want fn's error %v", err, boom)
	}
	if got != nil {
		t.Errorf("UpdateProject returned project %+v with the error, want nil", got)
	}
	checkProject(t, "Project after a failed update", getProject(t, s, want.Name), want)
}

// testUpdateProjectRename: fn must not change the name; an update that
// does is refused and writes nothing, under either name.
func testUpdateProjectRename(t *testing.T, e *env) {
	s := e.store()
	bio, other := fullProject("bio"), fullProject("other")
	createProject(t, s, bio)
	createProject(t, s, other)
	for _, to := range []string{"bio2", "other", "Bio", ""} {
		got, err := s.UpdateProject(t.Context(), bio.Name, func(p *api.Project) error {
			p.Name = to
			p.Priority = 1
			p.Members = []string{"mallory"}
			return nil
		})
		if err == nil {
			t.Errorf("UpdateProject that renamed bio to %q succeeded, returning %+v; want an error", to, got)
		}
		if to != other.Name {
			checkNoProject(t, fmt.Sprintf("after the refused rename to %q", to), s, to)
		}
	}
	checkProject(t, "Project(bio) after the refused renames", getProject(t, s, bio.Name), bio)
	checkProject(t, "Project(other) after the refused renames", getProject(t, s, other.Name), other)
	checkProjectNames(t, "Projects after the refused renames", listProjects(t, s), []string{"bio", "other"})
}

// testUpdateProjectConcurrent: admins change a project's members at once;
// no change may be lost.
func testUpdateProjectConcurrent(t *testing.T, e *env) {
	s := e.store()
	createProject(t, s, &api.Project{Name: "bio"})

	const workers, each = 20, 10
	var (
		wg   sync.WaitGroup
		want []string
	)
	for w := range workers {
		members := make([]string, each)
		for i := range members {
			members[i] = fmt.Sprintf("user%02d-%d", w, i)
		}
		want = append(want, members...)
		wg.Go(func() {
			for _, member := range members {
				got, err := s.UpdateProject(t.Context(), "bio", func(p *api.Project) error {
					p.Members = append(p.Members, member)
					p.Priority++
					return nil
				})
				if err != nil {
					t.Errorf("UpdateProject(bio): %v", err)
					return
				}
				if !slices.Contains(got.Members, member) {
					t.Errorf("UpdateProject adding %s returned members %q", member, got.Members)
				}
			}
		})
		// Readers alongside the writers.
		wg.Go(func() {
			for range each / 2 {
				if _, err := s.Project(t.Context(), "bio"); err != nil {
					t.Errorf("Project: %v", err)
					return
				}
				if _, err := s.Projects(t.Context()); err != nil {
					t.Errorf("Projects: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()

	p := getProject(t, s, "bio")
	if p.Priority != len(p.Members) {
		t.Errorf("Priority %d, %d members: the fields of one update were not written together", p.Priority, len(p.Members))
	}
	slices.Sort(want)
	if got := slices.Sorted(slices.Values(p.Members)); !slices.Equal(got, want) {
		t.Errorf("%d members after %d concurrent updates, want %d: updates were lost", len(got), len(want), len(want))
	}
}

func testDeleteProject(t *testing.T, e *env) {
	s := e.store()
	bio, chem := fullProject("bio"), fullProject("chem")
	createProject(t, s, bio)
	createProject(t, s, chem)
	if err := s.DeleteProject(t.Context(), "bio"); err != nil {
		t.Fatalf("DeleteProject(bio): %v", err)
	}
	checkNoProject(t, "after DeleteProject", s, "bio")
	checkProjectNames(t, "Projects after DeleteProject", listProjects(t, s), []string{"chem"})
	if err := s.DeleteProject(t.Context(), "bio"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteProject(bio) = %v, want store.ErrNotFound", err)
	}
	if _, err := s.UpdateProject(t.Context(), "bio", func(*api.Project) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateProject of a deleted project = %v, want store.ErrNotFound", err)
	}
	checkProject(t, "another project after DeleteProject", getProject(t, s, "chem"), chem)

	// The name is free again, and nothing of the old project comes back.
	again := &api.Project{Name: "bio", Owner: "someone else"}
	createProject(t, s, again)
	checkProject(t, "Project re-created after DeleteProject", getProject(t, s, "bio"), again)
	checkProjectNames(t, "Projects after re-creating", listProjects(t, s), []string{"bio", "chem"})
}

func testProjectCopies(t *testing.T, e *env) {
	s := e.store()
	given := fullProject("bio")
	createProject(t, s, given)
	scribbleProject(given)
	want := fullProject("bio")
	checkProject(t, "Project after the caller changed the project it gave CreateProject", getProject(t, s, "bio"), want)

	scribbleProject(getProject(t, s, "bio"))
	checkProject(t, "Project after the caller changed what Project returned", getProject(t, s, "bio"), want)

	for _, p := range listProjects(t, s) {
		scribbleProject(p)
	}
	checkProject(t, "Project after the caller changed what Projects returned", getProject(t, s, "bio"), want)

	var kept *api.Project
	got, err := s.UpdateProject(t.Context(), "bio", func(p *api.Project) error {
		kept = p
		p.Priority++
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateProject: %v", err)
	}
	want.Priority++
	scribbleProject(kept)
	checkProject(t, "UpdateProject's result after the caller changed what fn got", got, want)
	scribbleProject(got)
	checkProject(t, "Project after the caller changed what UpdateProject returned and what fn got", getProject(t, s, "bio"), want)

	// Two reads are two copies.
	a, b := getProject(t, s, "bio"), getProject(t, s, "bio")
	scribbleProject(a)
	checkProject(t, "second of two reads after the first was changed", b, want)
}

func testProjectsDurability(t *testing.T, e *env) {
	s, closeStore := e.openClosable()
	bio, chem := fullProject("bio"), &api.Project{Name: "chem"}
	createProject(t, s, bio)
	createProject(t, s, chem)
	createProject(t, s, fullProject("gone"))
	if _, err := s.UpdateProject(t.Context(), "bio", func(p *api.Project) error {
		p.Priority = 7
		p.Members = append(p.Members, "erin")
		return nil
	}); err != nil {
		t.Fatalf("UpdateProject: %v", err)
	}
	bio.Priority, bio.Members = 7, append(bio.Members, "erin")
	if err := s.DeleteProject(t.Context(), "gone"); err != nil {
		t.Fatalf("DeleteProject: %v", err)
	}
	closeStore()

	for round := range 2 {
		s, closeStore := e.openClosable()
		what := fmt.Sprintf("after reopening (%d)", round+1)
		checkProject(t, "Project "+what, getProject(t, s, "bio"), bio)
		checkProject(t, "Project "+what, getProject(t, s, "chem"), chem)
		checkNoProject(t, "deleted project "+what, s, "gone")
		checkProjectNames(t, "Projects "+what, listProjects(t, s), []string{"bio", "chem"})
		closeStore()
	}
}

// testProjectsSharedData: what one store writes, another open on the same
// data sees, and concurrent updates through both lose nothing.
func testProjectsSharedData(t *testing.T, e *env) {
	s1, s2 := e.store(), e.store()
	stores := []store.Store{s1, s2}
	createProject(t, s1, &api.Project{Name: "bio"})
	checkProject(t, "Project through the other store", getProject(t, s2, "bio"), &api.Project{Name: "bio"})

	const workers = 10
	var (
		wg   sync.WaitGroup
		want []string
	)
	for w := range 2 * workers {
		s := stores[w%2]
		member := fmt.Sprintf("user%02d", w)
		want = append(want, member)
		wg.Go(func() {
			if _, err := s.UpdateProject(t.Context(), "bio", func(p *api.Project) error {
				p.Members = append(p.Members, member)
				return nil
			}); err != nil {
				t.Errorf("UpdateProject(bio): %v", err)
			}
		})
	}
	wg.Wait()
	for i, s := range stores {
		if got := slices.Sorted(slices.Values(getProject(t, s, "bio").Members)); !slices.Equal(got, want) {
			t.Errorf("store %d: members = %q, want %q: updates through two stores were lost", i+1, got, want)
		}
	}

	putAccount(t, s2, fullAccount("alice"))
	checkAccount(t, "Account through the other store", getAccount(t, s1, "alice"), fullAccount("alice"))
	if err := s2.DeleteProject(t.Context(), "bio"); err != nil {
		t.Fatalf("DeleteProject: %v", err)
	}
	checkNoProject(t, "through the other store after DeleteProject", s1, "bio")
}

// testProjectsCanceledContext: project methods stop when their context
// ends, and a method that failed changed nothing.
func testProjectsCanceledContext(t *testing.T, e *env) {
	s := e.store()
	bio := fullProject("bio")
	createProject(t, s, bio)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.CreateProject(ctx, fullProject("fresh")); err == nil {
		t.Error("CreateProject with a canceled context succeeded, want an error")
	}
	checkNoProject(t, "after the failed CreateProject", s, "fresh")
	if _, err := s.Project(ctx, "bio"); err == nil {
		t.Error("Project with a canceled context succeeded, want an error")
	}
	if _, err := s.Projects(ctx); err == nil {
		t.Error("Projects with a canceled context succeeded, want an error")
	}
	if _, err := s.UpdateProject(ctx, "bio", func(p *api.Project) error {
		p.Priority = 1
		return nil
	}); err == nil {
		t.Error("UpdateProject with a canceled context succeeded, want an error")
	}
	if err := s.DeleteProject(ctx, "bio"); err == nil {
		t.Error("DeleteProject with a canceled context succeeded, want an error")
	}
	checkProject(t, "Project after the failed UpdateProject and DeleteProject", getProject(t, s, "bio"), bio)
}

func testAccountRoundTrip(t *testing.T, e *env) {
	want := fullAccount("alice")
	if unset := unsetFields("Account", reflect.ValueOf(*want)); len(unset) > 0 {
		t.Fatalf("storetest's fullAccount leaves fields unset, so their round trip is not tested; set them: %v", unset)
	}
	s := e.store()
	putAccount(t, s, want)
	checkAccount(t, "Account", getAccount(t, s, want.User), want)
	accounts := listAccounts(t, s)
	checkAccountUsers(t, "Accounts", accounts, []string{want.User})
	if len(accounts) == 1 {
		checkAccount(t, "Accounts", accounts[0], want)
	}

	// Nothing but a user: priority 0 comes back 0, not a default.
	bare := &api.Account{User: "bob"}
	putAccount(t, s, bare)
	checkAccount(t, "Account of a bare account", getAccount(t, s, bare.User), bare)
}

func testAccountsOrder(t *testing.T, e *env) {
	s := e.store()
	if accounts := listAccounts(t, s); len(accounts) != 0 {
		checkAccountUsers(t, "Accounts of an empty store", accounts, nil)
	}
	users := []string{"carol", "Bob", "alice", "a.b", "a-b", "a_b", "alice2", "b", "A1"}
	want := map[string]*api.Account{}
	for i, user := range users {
		a := &api.Account{User: user, Priority: i + 1, Quota: api.Quota{CPUSeconds: float64(i)}}
		want[user] = a
		putAccount(t, s, a)
	}
	accounts := listAccounts(t, s)
	checkAccountUsers(t, "Accounts", accounts, slices.Sorted(slices.Values(users)))
	for _, a := range accounts {
		if w := want[a.User]; w != nil {
			checkAccount(t, "Accounts", a, w)
		}
	}
}

func testAccountNotFound(t *testing.T, e *env) {
	s := e.store()
	if a, err := s.Account(t.Context(), "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Account(alice) of an empty store = %+v, %v; want store.ErrNotFound", a, err)
	}
	putAccount(t, s, fullAccount("alice"))
	for _, user := range []string{"Alice", "alic", "alice2", "bob", ""} {
		if a, err := s.Account(t.Context(), user); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Account(%q) = %+v, %v; want store.ErrNotFound", user, a, err)
		}
	}
}

func testPutAccountReplaces(t *testing.T, e *env) {
	s := e.store()
	putAccount(t, s, fullAccount("alice"))
	putAccount(t, s, fullAccount("bob"))
	// The whole account is replaced: the quota it no longer has is gone.
	want := &api.Account{User: "alice", Priority: 10}
	putAccount(t, s, want)
	checkAccount(t, "Account after PutAccount replaced it", getAccount(t, s, "alice"), want)
	checkAccount(t, "another account after PutAccount", getAccount(t, s, "bob"), fullAccount("bob"))
	checkAccountUsers(t, "Accounts after PutAccount replaced one", listAccounts(t, s), []string{"alice", "bob"})
}

func testAccountCopies(t *testing.T, e *env) {
	s := e.store()
	given := fullAccount("alice")
	putAccount(t, s, given)
	scribbleAccount(given)
	want := fullAccount("alice")
	checkAccount(t, "Account after the caller changed the account it gave PutAccount", getAccount(t, s, "alice"), want)

	scribbleAccount(getAccount(t, s, "alice"))
	checkAccount(t, "Account after the caller changed what Account returned", getAccount(t, s, "alice"), want)

	for _, a := range listAccounts(t, s) {
		scribbleAccount(a)
	}
	checkAccount(t, "Account after the caller changed what Accounts returned", getAccount(t, s, "alice"), want)

	a, b := getAccount(t, s, "alice"), getAccount(t, s, "alice")
	scribbleAccount(a)
	checkAccount(t, "second of two reads after the first was changed", b, want)
}

func testAccountsDurability(t *testing.T, e *env) {
	s, closeStore := e.openClosable()
	alice, bob := fullAccount("alice"), &api.Account{User: "bob", Priority: 20}
	putAccount(t, s, alice)
	putAccount(t, s, fullAccount("bob"))
	putAccount(t, s, bob)
	closeStore()

	for round := range 2 {
		s, closeStore := e.openClosable()
		what := fmt.Sprintf("after reopening (%d)", round+1)
		checkAccount(t, "Account "+what, getAccount(t, s, "alice"), alice)
		checkAccount(t, "replaced Account "+what, getAccount(t, s, "bob"), bob)
		checkAccountUsers(t, "Accounts "+what, listAccounts(t, s), []string{"alice", "bob"})
		closeStore()
	}
}

// testAccountsCanceledContext: account methods stop when their context
// ends, and a PutAccount that failed changed nothing.
func testAccountsCanceledContext(t *testing.T, e *env) {
	s := e.store()
	alice := fullAccount("alice")
	putAccount(t, s, alice)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.PutAccount(ctx, &api.Account{User: "alice", Priority: 1}); err == nil {
		t.Error("PutAccount with a canceled context succeeded, want an error")
	}
	if err := s.PutAccount(ctx, fullAccount("bob")); err == nil {
		t.Error("PutAccount with a canceled context succeeded, want an error")
	}
	if _, err := s.Account(ctx, "alice"); err == nil {
		t.Error("Account with a canceled context succeeded, want an error")
	}
	if _, err := s.Accounts(ctx); err == nil {
		t.Error("Accounts with a canceled context succeeded, want an error")
	}
	checkAccount(t, "Account after the failed PutAccount", getAccount(t, s, "alice"), alice)
	if a, err := s.Account(t.Context(), "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Account(bob) after the failed PutAccount = %+v, %v; want store.ErrNotFound", a, err)
	}
}
