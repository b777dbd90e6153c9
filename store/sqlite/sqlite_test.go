package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
	"github.com/godocker/godocker/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() store.Store {
		path := filepath.Join(t.TempDir(), "godocker.db")
		return func() store.Store {
			return openStore(t, path)
		}
	})
}

// openStore opens the store at path; the caller closes it.
func openStore(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tempStore opens a store in a fresh file that is closed when the test ends.
func tempStore(t testing.TB) *Store {
	t.Helper()
	s := openStore(t, filepath.Join(t.TempDir(), "godocker.db"))
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func job(id int64, user string, state api.State) *api.Job {
	return &api.Job{ID: id, Name: "test", User: user, State: state, Submitted: time.Unix(1700000000, 0).Add(time.Duration(id) * time.Millisecond)}
}

func TestPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "godocker")
	path := filepath.Join(dir, "godocker.db")
	s := openStore(t, path)
	defer s.Close()
	if err := s.CreateJob(t.Context(), job(1, "alice", api.Pending)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{
		{filepath.Dir(dir), 0o700},
		{dir, 0o700},
		{path, 0o600},
		{path + "-wal", 0o600},
		{path + "-shm", 0o600},
	} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Error(err)
			continue
		}
		if got := fi.Mode().Perm(); got != c.mode {
			t.Errorf("%s: mode %v, want %v", c.path, got, c.mode)
		}
	}
}

func TestPragmas(t *testing.T) {
	s := tempStore(t)
	ctx := t.Context()
	pragma := func(db *sql.DB, name string) string {
		t.Helper()
		var v string
		if err := db.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v); err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		return v
	}
	for _, c := range []struct {
		db                 *sql.DB
		pool, pragma, want string
	}{
		{s.w, "writer", "journal_mode", "wal"},
		{s.w, "writer", "synchronous", "1"}, // NORMAL, the default Sync
		{s.w, "writer", "busy_timeout", "10000"},
		{s.w, "writer", "user_version", strconv.Itoa(len(schema))},
		{s.w, "writer", "query_only", "0"},
		{s.r, "reader", "journal_mode", "wal"},
		{s.r, "reader", "synchronous", "1"},
		{s.r, "reader", "busy_timeout", "10000"},
		{s.r, "reader", "query_only", "1"},
	} {
		if got := pragma(c.db, c.pragma); got != c.want {
			t.Errorf("%s connection: PRAGMA %s = %s, want %s", c.pool, c.pragma, got, c.want)
		}
	}

	// WAL is a property of the file, seen by any other connection.
	db, err := sql.Open("sqlite", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := pragma(db, "journal_mode"); got != "wal" {
		t.Errorf("another connection sees journal_mode %s, want wal", got)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "godocker.db")
	s := openStore(t, path)
	if _, err := s.w.ExecContext(t.Context(), "PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(t.Context(), path, store.Options{})
	if err == nil || !strings.Contains(err.Error(), "schema version 99 is newer") || !strings.Contains(err.Error(), path) {
		t.Errorf("Open of a newer schema = %v, want an error saying so with the path", err)
	}
}

func TestNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "godocker.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database\n", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(t.Context(), path, store.Options{}); err == nil {
		s.Close()
		t.Error("Open of a file that is not a database succeeded")
	} else if !strings.Contains(err.Error(), path) {
		t.Errorf("Open error %q does not name the file", err)
	}
}

func TestPathNeedsEscaping(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a dir?x=1#f%20", "jobs?.db")
	s := openStore(t, path)
	defer s.Close()
	if err := s.CreateJob(t.Context(), job(1, "alice", api.Pending)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database is not at the path given: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "jobs?.db") {
			t.Errorf("stray file %q next to the database", e.Name())
		}
	}
}

func TestRegistered(t *testing.T) {
	if !slices.Contains(store.Drivers(), "sqlite") {
		t.Fatalf("store.Drivers() = %v, want sqlite among them", store.Drivers())
	}
	s, err := store.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "godocker.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*Store); !ok {
		t.Errorf("store.Open(sqlite) = %T, want *sqlite.Store", s)
	}
	if _, err := s.NextID(t.Context()); err != nil {
		t.Error(err)
	}

	// A failed open is a nil interface, not an interface holding a nil *Store.
	if s, err := store.Open(t.Context(), "sqlite", "", store.Options{}); err == nil || s != nil {
		t.Errorf("store.Open(sqlite, \"\") = %#v, %v; want nil and an error", s, err)
	}
}

// TestCreateJobMovesCounter: a job created with an id NextID did not hand
// out (imported) moves the ids past it, in the block NextID holds or
// beyond it.
func TestCreateJobMovesCounter(t *testing.T) {
	s := tempStore(t)
	ctx := t.Context()
	first, err := s.NextID(ctx) // holds a block from here on
	if err != nil {
		t.Fatal(err)
	}
	for _, imported := range []int64{first + 10, first + 1000} {
		if err := s.CreateJob(ctx, job(imported, "alice", api.Pending)); err != nil {
			t.Fatal(err)
		}
		if id, err := s.NextID(ctx); err != nil || id <= imported {
			t.Errorf("NextID after job %d was created = %d, %v; want more than %d", imported, id, err, imported)
		}
	}
}

func TestCreateJobBadID(t *testing.T) {
	s := tempStore(t)
	for _, id := range []int64{0, -5} {
		err := s.CreateJob(t.Context(), job(id, "alice", api.Pending))
		if err == nil || errors.Is(err, store.ErrExists) {
			t.Errorf("CreateJob(id %d) = %v, want an error other than ErrExists", id, err)
		}
	}
	if err := s.CreateJob(t.Context(), nil); err == nil {
		t.Error("CreateJob(nil) succeeded")
	}
}

func TestUpdateJobMustKeepID(t *testing.T) {
	s := tempStore(t)
	if err := s.CreateJob(t.Context(), job(1, "alice", api.Pending)); err != nil {
		t.Fatal(err)
	}
	_, err := s.UpdateJob(t.Context(), 1, func(j *api.Job) error {
		j.ID = 2
		j.State = api.Running
		return nil
	})
	if err == nil {
		t.Fatal("UpdateJob that changed the id succeeded")
	}
	if j, err := s.Job(t.Context(), 1); err != nil || j.State != api.Pending {
		t.Errorf("job 1 after the refused update: %+v, %v; want it unchanged", j, err)
	}
	if _, err := s.Job(t.Context(), 2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Job(2) = %v, want ErrNotFound", err)
	}
}

func TestProjectAccountBadInput(t *testing.T) {
	s := tempStore(t)
	ctx := t.Context()
	if err := s.CreateProject(ctx, nil); err == nil {
		t.Error("CreateProject(nil) succeeded")
	}
	if err := s.CreateProject(ctx, &api.Project{}); err == nil || errors.Is(err, store.ErrExists) {
		t.Errorf("CreateProject of a project without a name = %v, want an error other than ErrExists", err)
	}
	if err := s.PutAccount(ctx, nil); err == nil {
		t.Error("PutAccount(nil) succeeded")
	}
	if err := s.PutAccount(ctx, &api.Account{Priority: 10}); err == nil {
		t.Error("PutAccount of an account without a user succeeded")
	}
	if ps, err := s.Projects(ctx); err != nil || len(ps) != 0 {
		t.Errorf("Projects after the refused creations = %v, %v; want none", ps, err)
	}
	if as, err := s.Accounts(ctx); err != nil || len(as) != 0 {
		t.Errorf("Accounts after the refused puts = %v, %v; want none", as, err)
	}
}

// TestProjectErrors: errors say what was being done, to what.
func TestProjectErrors(t *testing.T) {
	s := tempStore(t)
	ctx := t.Context()
	if err := s.CreateProject(ctx, &api.Project{Name: "bio"}); err != nil {
		t.Fatal(err)
	}
	_, errUpdate := s.UpdateProject(ctx, "chem", func(*api.Project) error { return nil })
	_, errRename := s.UpdateProject(ctx, "bio", func(p *api.Project) error {
		p.Name = "chem"
		return nil
	})
	_, errRead := s.Project(ctx, "chem")
	_, errAccount := s.Account(ctx, "alice")
	for _, c := range []struct {
		err  error
		want string
	}{
		{s.CreateProject(ctx, &api.Project{Name: "bio"}), "create project bio: already exists"},
		{errRead, "read project chem: not found"},
		{errUpdate, "update project chem: not found"},
		{errRename, `update project bio: the update changed the project's name to "chem"`},
		{s.DeleteProject(ctx, "chem"), "delete project chem: not found"},
		{errAccount, "read account of alice: not found"},
	} {
		if c.err == nil || c.err.Error() != c.want {
			t.Errorf("error %v, want %q", c.err, c.want)
		}
	}
}

func TestUseAfterClose(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "godocker.db"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.NextID(t.Context()); err == nil {
		t.Error("NextID after Close succeeded")
	}
	if _, err := s.Jobs(t.Context(), store.Query{}); err == nil {
		t.Error("Jobs after Close succeeded")
	}
}

// TestQueryPlans: the queries gstat and the scheduler make use an index,
// and equality on state needs no sort for id order. The tasks of an array
// come from the partial index jobs_by_array_task, sorted into id order
// (the index holds them in task order); jobs that are not tasks are not
// in it, so asking for them scans the table in id order.
func TestQueryPlans(t *testing.T) {
	s := tempStore(t)
	manyArrays := make([]int64, maxListParams+1)
	for i := range manyArrays {
		manyArrays[i] = int64(i + 1)
	}
	for _, c := range []struct {
		q        store.Query
		want     string
		wantSort bool
	}{
		{store.Query{States: []api.State{api.Pending}}, "USING INDEX jobs_by_state", false},
		{store.Query{Users: []string{"alice"}, States: []api.State{api.Running}}, "USING INDEX jobs_by_user_state", false},
		{store.Query{Users: []string{"alice"}}, "USING INDEX jobs_by_user_state", true},
		{store.Query{IDs: []int64{3, 1, 2}}, "USING INTEGER PRIMARY KEY", false},
		{store.Query{IDs: make([]int64, maxListParams+1)}, "USING INTEGER PRIMARY KEY", false},
		{store.Query{Arrays: []int64{5}}, "USING INDEX jobs_by_array_task (array_id=?)", true},
		{store.Query{Arrays: []int64{5}, Tasks: []int64{2, 5}}, "USING INDEX jobs_by_array_task (array_id=? AND task_id=?)", true},
		{store.Query{Arrays: []int64{5}, Tasks: []int64{2}}, "USING INDEX jobs_by_array_task (array_id=? AND task_id=?)", false},
		{store.Query{Arrays: []int64{5, 7}}, "USING INDEX jobs_by_array_task (array_id=?)", true},
		{store.Query{Arrays: manyArrays}, "USING INDEX jobs_by_array_task (array_id=?)", true},
		{store.Query{Arrays: []int64{5}, Users: []string{"alice"}}, "USING INDEX jobs_by_array_task (array_id=?)", true},
		{store.Query{Arrays: []int64{0}}, "SCAN jobs", false},
	} {
		all := queryPlan(t, s, c.q)
		if !strings.Contains(all, c.want) {
			t.Errorf("%+v: plan %q, want %s", c.q, all, c.want)
		}
		if sorts := strings.Contains(all, "TEMP B-TREE FOR ORDER BY"); sorts && !c.wantSort {
			t.Errorf("%+v: plan %q sorts", c.q, all)
		}
	}
}

// queryPlan returns the details of SQLite's plan for Jobs(q), joined by
// "; ".
func queryPlan(t *testing.T, s *Store, q store.Query) string {
	t.Helper()
	query, args := jobsQuery(q)
	rows, err := s.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "; ")
}

// createJobs stores jobs in one transaction: a fast way to fill a store
// for benchmarks, not the way the server creates jobs.
func (s *Store) createJobs(ctx context.Context, jobs []*api.Job) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, "INSERT INTO jobs (id, user, state, submitted, array_id, task_id, job) VALUES (?, ?, ?, ?, ?, ?, ?)")
	if err != nil {
		return err
	}
	defer stmt.Close()
	var last int64
	for _, j := range jobs {
		doc, err := json.Marshal(j)
		if err != nil {
			return err
		}
		if _, err := stmt.ExecContext(ctx, j.ID, j.User, string(j.State), unixNano(j), j.ArrayID, j.TaskID, string(doc)); err != nil {
			return err
		}
		last = max(last, j.ID)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE job_ids SET last = max(last, ?)", last); err != nil {
		return err
	}
	return tx.Commit()
}

// openAtVersion opens the store at path as a godockerd of schema
// version v did, migrating it to version v only; the caller closes it.
func openAtVersion(t *testing.T, path string, v int) *Store {
	t.Helper()
	all := schema
	schema = schema[:v]
	defer func() { schema = all }()
	return openStore(t, path)
}

// createOldJob stores j as a godockerd of schema version 1 to 5 did, in
// the columns those versions had: from version 4 on, the array's.
func createOldJob(t *testing.T, s *Store, j *api.Job) {
	t.Helper()
	doc, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	query, args := "INSERT INTO jobs (id, user, state, submitted, job) VALUES (?, ?, ?, ?, ?)",
		[]any{j.ID, j.User, string(j.State), unixNano(j), string(doc)}
	if j.ArrayID != 0 {
		query, args = "INSERT INTO jobs (id, user, state, submitted, job, array_id, task_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
			append(args, j.ArrayID, j.TaskID)
	}
	if _, err := s.w.ExecContext(t.Context(), query, args...); err != nil {
		t.Fatalf("create job %d at an old schema version: %v", j.ID, err)
	}
}

// TestMigratesFromVersion1: a database made before settings existed gains
// them (and projects and accounts) when opened, and keeps its jobs.
func TestMigratesFromVersion1(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "godocker.db")
	s := openAtVersion(t, path, 1)
	id, _ := s.NextID(ctx)
	createOldJob(t, s, &api.Job{ID: id, User: "alice", State: api.Pending})
	s.Close()
	s, err := Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatalf("reopen a version 1 database: %v", err)
	}
	defer s.Close()
	if err := s.SetSetting(ctx, "maintenance", "on"); err != nil {
		t.Errorf("settings after migration: %v", err)
	}
	if _, err := s.Job(ctx, id); err != nil {
		t.Errorf("job lost in migration: %v", err)
	}
	checkProjectsAccounts(t, s)
}

// TestMigratesFromVersion2: a database made before projects and accounts
// existed gains them when opened, and keeps its jobs and settings.
func TestMigratesFromVersion2(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "godocker.db")
	s := openAtVersion(t, path, 2)
	id, _ := s.NextID(ctx)
	createOldJob(t, s, &api.Job{ID: id, User: "alice", State: api.Pending})
	if err := s.SetSetting(ctx, "maintenance", "on"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err := Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatalf("reopen a version 2 database: %v", err)
	}
	defer s.Close()
	if _, err := s.Job(ctx, id); err != nil {
		t.Errorf("job lost in migration: %v", err)
	}
	if v, err := s.Setting(ctx, "maintenance"); err != nil || v != "on" {
		t.Errorf("setting after migration = %q, %v; want \"on\"", v, err)
	}
	checkProjectsAccounts(t, s)
}

// TestMigratesFromVersion3: a database made before job arrays existed
// gains their columns and index when opened; its jobs, which are no
// tasks, keep everything and are found as such.
func TestMigratesFromVersion3(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "godocker.db")
	s := openAtVersion(t, path, 3)
	id, _ := s.NextID(ctx)
	old := job(id, "alice", api.Pending)
	createOldJob(t, s, old)
	if err := s.SetSetting(ctx, "maintenance", "on"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateProject(ctx, &api.Project{Name: "bio", Priority: 7}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAccount(ctx, &api.Account{User: "alice", Priority: 60}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err := Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatalf("reopen a version 3 database: %v", err)
	}
	defer s.Close()
	if j, err := s.Job(ctx, id); err != nil {
		t.Errorf("job lost in migration: %v", err)
	} else if j.User != old.User || j.State != old.State || !j.Submitted.Equal(old.Submitted) || j.ArrayID != 0 || j.TaskID != 0 {
		t.Errorf("job after migration = %+v, want %+v", j, old)
	}
	if v, err := s.Setting(ctx, "maintenance"); err != nil || v != "on" {
		t.Errorf("setting after migration = %q, %v; want \"on\"", v, err)
	}
	if p, err := s.Project(ctx, "bio"); err != nil || p.Priority != 7 {
		t.Errorf("project after migration = %+v, %v", p, err)
	}
	if a, err := s.Account(ctx, "alice"); err != nil || a.Priority != 60 {
		t.Errorf("account after migration = %+v, %v", a, err)
	}

	// The old job is no task; a new task is found by its array.
	array, _ := s.NextID(ctx)
	if err := s.CreateJob(ctx, job(array, "bob", api.Running)); err != nil {
		t.Fatal(err)
	}
	taskID, _ := s.NextID(ctx)
	task := job(taskID, "bob", api.Running)
	task.ArrayID, task.TaskID = array, 1
	if err := s.CreateJob(ctx, task); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		q    store.Query
		want []int64
	}{
		{store.Query{Arrays: []int64{0}}, []int64{id, array}},
		{store.Query{Tasks: []int64{0}, Users: []string{"alice"}}, []int64{id}},
		{store.Query{Arrays: []int64{array}}, []int64{taskID}},
		{store.Query{Arrays: []int64{array}, Tasks: []int64{1}}, []int64{taskID}},
		{store.Query{Arrays: []int64{id}}, nil},
	} {
		jobs, err := s.Jobs(ctx, c.q)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, j := range jobs {
			got = append(got, j.ID)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("Jobs(%+v) after migration = %v, want %v", c.q, got, c.want)
		}
		if n, err := s.Count(ctx, c.q); err != nil || n != len(c.want) {
			t.Errorf("Count(%+v) after migration = %d, %v; want %d", c.q, n, err, len(c.want))
		}
	}
	if plan := queryPlan(t, s, store.Query{Arrays: []int64{array}}); !strings.Contains(plan, "USING INDEX jobs_by_array_task") {
		t.Errorf("plan of an array's tasks after migration: %q, want the index jobs_by_array_task", plan)
	}
}

// checkProjectsAccounts checks that s stores projects and accounts.
func checkProjectsAccounts(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	if err := s.CreateProject(ctx, &api.Project{Name: "bio"}); err != nil {
		t.Errorf("projects after migration: %v", err)
	} else if _, err := s.Project(ctx, "bio"); err != nil {
		t.Errorf("projects after migration: %v", err)
	}
	if err := s.PutAccount(ctx, &api.Account{User: "alice", Priority: 60}); err != nil {
		t.Errorf("accounts after migration: %v", err)
	} else if _, err := s.Account(ctx, "alice"); err != nil {
		t.Errorf("accounts after migration: %v", err)
	}
}

// TestMigratesFromVersion5: the jobs of a database made before briefs
// existed are listed briefly once it is opened, with their briefs whole.
func TestMigratesFromVersion5(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "godocker.db")
	s := openAtVersion(t, path, 5)
	var old []*api.Job
	for range 3 {
		id, _ := s.NextID(ctx)
		j := storetest.FullJob(id)
		j.ArrayID, j.TaskID = 0, 0
		createOldJob(t, s, j)
		old = append(old, j)
	}
	s.Close()
	s, err := Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatalf("reopen a version 5 database: %v", err)
	}
	defer s.Close()
	var got []string
	if err := s.BriefJSON(ctx, store.Query{}, func(doc []byte) error {
		got = append(got, string(doc))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(old) {
		t.Fatalf("briefs after migration: %d, want %d", len(got), len(old))
	}
	for i, j := range old {
		want, _ := json.Marshal(j.Brief())
		if got[i] != string(want) {
			t.Errorf("brief of job %d after migration:\n%s\nwant\n%s", j.ID, got[i], want)
		}
	}
}

// TestMigratesFromVersion6: a database made before installation ids
// existed gets one when opened, and keeps it.
func TestMigratesFromVersion6(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "godocker.db")
	s := openAtVersion(t, path, 6)
	if v, err := s.Setting(ctx, store.SettingInstallation); err != nil || v != "" {
		t.Fatalf("installation at version 6 = %q, %v; want none", v, err)
	}
	if err := s.SetSetting(ctx, "maintenance", "on"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openStore(t, path)
	id, err := s.Setting(ctx, store.SettingInstallation)
	if err != nil || !isInstallationID(id) {
		t.Errorf("installation after migration = %q, %v; want 12 lowercase hex digits", id, err)
	}
	if v, _ := s.Setting(ctx, "maintenance"); v != "on" {
		t.Errorf("setting after migration = %q, want \"on\"", v)
	}
	s.Close()
	s = openStore(t, path)
	defer s.Close()
	if again, _ := s.Setting(ctx, store.SettingInstallation); again != id {
		t.Errorf("installation after reopening = %q, want %q as before", again, id)
	}
}

// TestInstallationOpenedAtOnce: stores opening a fresh file at the same
// time (several godockerd started together) agree on its installation
// id, and stores of other files have others.
func TestInstallationOpenedAtOnce(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "godocker.db")
	const n = 8
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := Open(ctx, path, store.Options{})
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			ids[i], errs[i] = s.Setting(ctx, store.SettingInstallation)
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("store %d: %v", i, errs[i])
		}
		if !isInstallationID(ids[i]) || ids[i] != ids[0] {
			t.Fatalf("installation ids of stores opened at once: %q; want one id, 12 lowercase hex digits", ids)
		}
	}
	other := openStore(t, filepath.Join(dir, "other.db"))
	defer other.Close()
	if id, _ := other.Setting(ctx, store.SettingInstallation); !isInstallationID(id) || id == ids[0] {
		t.Errorf("installation of another file = %q; want another id than %q", id, ids[0])
	}
}

// isInstallationID reports whether id is 12 lowercase hex digits.
func isInstallationID(id string) bool {
	if len(id) != 12 {
		return false
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
