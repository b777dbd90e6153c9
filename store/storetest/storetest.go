// Package storetest is the conformance suite of store.Store: what the
// server, the scheduler and the watcher rely on from any backend. Every
// backend runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) func() store.Store {
//			path := filepath.Join(t.TempDir(), "godocker.db")
//			return func() store.Store {
//				s, err := sqlite.Open(t.Context(), path)
//				if err != nil {
//					t.Fatal(err)
//				}
//				return s
//			}
//		})
//	}
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
)

// NewFunc prepares empty backing data for one test (a file in
// t.TempDir(), a MongoDB database of its own) and returns open, which
// opens a store on that data.
//
// Run calls NewFunc once per test with that test's t, so every test
// starts from an empty store; NewFunc registers with t.Cleanup whatever
// must be removed afterwards. Run calls open from the test's goroutine,
// possibly several times: after the store from an earlier call was closed
// (what was written must still be there) and while it is still open (two
// stores on the same data, as several godockerd share one MongoDB). open
// reports its failures with t.Fatal. Run closes every store it opens.
type NewFunc func(t *testing.T) (open func() store.Store)

// Run runs the conformance suite against the backend that newStore opens.
func Run(t *testing.T, newStore NewFunc) {
	tests := []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"NextID/Increasing", testNextIDIncreasing},
		{"NextID/Concurrent", testNextIDConcurrent},
		{"NextID/AfterReopen", testNextIDAfterReopen},
		{"CreateJob/RoundTrip", testRoundTrip},
		{"CreateJob/MinimalJob", testMinimalJob},
		{"CreateJob/ExitCode", testExitCode},
		{"CreateJob/Exists", testCreateExists},
		{"Job/NotFound", testJobNotFound},
		{"Jobs/Query", testJobsQuery},
		{"Jobs/ManyIDs", testJobsManyIDs},
		{"Jobs/Arrays", testJobsArrays},
		{"Jobs/Empty", testJobsEmpty},
		{"Jobs/Brief", testJobsBrief},
		{"UpdateJob/SeesCurrent", testUpdateSeesCurrent},
		{"UpdateJob/MovesBetweenStates", testUpdateMovesBetweenStates},
		{"UpdateJob/MovesBetweenArrays", testUpdateMovesBetweenArrays},
		{"UpdateJob/FnError", testUpdateFnError},
		{"UpdateJob/NotFound", testUpdateNotFound},
		{"UpdateJob/Concurrent", testUpdateConcurrent},
		{"Settings", testSettings},
		{"Settings/Installation", testInstallation},
		{"Projects/RoundTrip", testProjectRoundTrip},
		{"Projects/Order", testProjectsOrder},
		{"Projects/NotFound", testProjectNotFound},
		{"Projects/Copies", testProjectCopies},
		{"Projects/Durability", testProjectsDurability},
		{"Projects/SharedData", testProjectsSharedData},
		{"Projects/CanceledContext", testProjectsCanceledContext},
		{"CreateProject/Exists", testCreateProjectExists},
		{"UpdateProject/SeesCurrent", testUpdateProjectSeesCurrent},
		{"UpdateProject/FnError", testUpdateProjectFnError},
		{"UpdateProject/Rename", testUpdateProjectRename},
		{"UpdateProject/Concurrent", testUpdateProjectConcurrent},
		{"DeleteProject", testDeleteProject},
		{"Accounts/RoundTrip", testAccountRoundTrip},
		{"Accounts/Order", testAccountsOrder},
		{"Accounts/NotFound", testAccountNotFound},
		{"Accounts/Copies", testAccountCopies},
		{"Accounts/Durability", testAccountsDurability},
		{"Accounts/CanceledContext", testAccountsCanceledContext},
		{"PutAccount/Replaces", testPutAccountReplaces},
		{"Keys/RoundTrip", testKeyRoundTrip},
		{"Keys/Order", testKeysOrder},
		{"Keys/Copies", testKeyCopies},
		{"Keys/Durability", testKeysDurability},
		{"Keys/CanceledContext", testKeysCanceledContext},
		{"AddKey/Exists", testAddKeyExists},
		{"AddKey/TwoUsers", testAddKeyTwoUsers},
		{"DeleteKey", testDeleteKey},
		{"Durability", testDurability},
		{"Copies", testCopies},
		{"SharedData", testSharedData},
		{"CanceledContext", testCanceledContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, &env{t: t, open: newStore(t)})
		})
	}
}

// env is one test's backing data.
type env struct {
	t    *testing.T
	open func() store.Store
}

// store opens a store that is closed when the test ends.
func (e *env) store() store.Store {
	s, _ := e.openClosable()
	return s
}

// openClosable opens a store and returns it with a function that closes
// it now; the store is closed when the test ends if it was not before.
func (e *env) openClosable() (store.Store, func()) {
	e.t.Helper()
	s := e.open()
	if s == nil {
		e.t.Fatal("open returned a nil store")
	}
	var once sync.Once
	closeStore := func() {
		once.Do(func() {
			if err := s.Close(); err != nil {
				e.t.Errorf("Close: %v", err)
			}
		})
	}
	e.t.Cleanup(closeStore)
	return s, closeStore
}

func nextID(t *testing.T, s store.Store) int64 {
	t.Helper()
	id, err := s.NextID(t.Context())
	if err != nil {
		t.Fatalf("NextID: %v", err)
	}
	return id
}

func create(t *testing.T, s store.Store, j *api.Job) {
	t.Helper()
	if err := s.CreateJob(t.Context(), j); err != nil {
		t.Fatalf("CreateJob(%d): %v", j.ID, err)
	}
}

func get(t *testing.T, s store.Store, id int64) *api.Job {
	t.Helper()
	j, err := s.Job(t.Context(), id)
	if err != nil {
		t.Fatalf("Job(%d): %v", id, err)
	}
	if j == nil {
		t.Fatalf("Job(%d) returned nil and no error", id)
	}
	if j.ID != id {
		t.Fatalf("Job(%d) returned job %d", id, j.ID)
	}
	return j
}

func list(t *testing.T, s store.Store, q store.Query) []*api.Job {
	t.Helper()
	jobs, err := s.Jobs(t.Context(), q)
	if err != nil {
		t.Fatalf("Jobs(%+v): %v", q, err)
	}
	for i, j := range jobs {
		if j == nil {
			t.Fatalf("Jobs(%+v)[%d] is nil", q, i)
		}
	}
	return jobs
}

func ids(jobs []*api.Job) []int64 {
	out := make([]int64, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

// checkIDs compares the ids of what Jobs returned, in order.
func checkIDs(t *testing.T, what string, got []*api.Job, want []int64) {
	t.Helper()
	if g := ids(got); !slices.Equal(g, want) {
		t.Errorf("%s: got jobs %v, want %v", what, g, want)
	}
}

func testNextIDIncreasing(t *testing.T, e *env) {
	s := e.store()
	prev := nextID(t, s)
	if prev < 1 {
		t.Errorf("first NextID = %d, want a positive id (0 reads as \"no job\")", prev)
	}
	for range 200 {
		id := nextID(t, s)
		if id <= prev {
			t.Fatalf("NextID = %d after %d: ids must strictly increase", id, prev)
		}
		prev = id
		// Use some of the ids: stored jobs must not make the counter
		// repeat or go back either.
		if id%3 == 0 {
			create(t, s, minimalJob(id, "alice", api.Pending))
		}
	}
}

func testNextIDConcurrent(t *testing.T, e *env) {
	s := e.store()
	const workers, each = 16, 25
	got := make([][]int64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				id, err := s.NextID(t.Context())
				if err != nil {
					t.Errorf("NextID: %v", err)
					return
				}
				got[w] = append(got[w], id)
			}
		})
	}
	wg.Wait()
	seen := map[int64]bool{}
	for w, list := range got {
		if !slices.IsSorted(list) {
			t.Errorf("worker %d got ids out of order: %v", w, list)
		}
		for _, id := range list {
			if seen[id] {
				t.Errorf("NextID handed out %d twice", id)
			}
			seen[id] = true
		}
	}
	if len(seen) != workers*each && !t.Failed() {
		t.Errorf("got %d distinct ids, want %d", len(seen), workers*each)
	}
}

func testNextIDAfterReopen(t *testing.T, e *env) {
	var last int64
	for round := range 3 {
		s, closeStore := e.openClosable()
		id := nextID(t, s)
		if id <= last {
			t.Fatalf("round %d: NextID = %d after reopening; %d was handed out before", round, id, last)
		}
		create(t, s, minimalJob(id, "alice", api.Pending))
		// Reserved and never used: must not come back either.
		for range 5 {
			last = nextID(t, s)
		}
		closeStore()
	}
}

func testRoundTrip(t *testing.T, e *env) {
	want := fullJob(1)
	if unset := unsetFields("Job", reflect.ValueOf(*want)); len(unset) > 0 {
		t.Fatalf("storetest's fullJob leaves fields unset, so their round trip is not tested; set them: %v", unset)
	}
	s := e.store()
	want.ID = nextID(t, s)
	create(t, s, want)
	checkJob(t, "Job", get(t, s, want.ID), want)

	jobs := list(t, s, store.Query{IDs: []int64{want.ID}})
	checkIDs(t, "Jobs by id", jobs, []int64{want.ID})
	if len(jobs) == 1 {
		checkJob(t, "Jobs", jobs[0], want)
	}
}

func testMinimalJob(t *testing.T, e *env) {
	s := e.store()
	want := minimalJob(nextID(t, s), "bob", api.Pending)
	create(t, s, want)
	got := get(t, s, want.ID)
	checkJob(t, "Job", got, want)
	if got.Run != nil {
		t.Errorf("Run = %+v, want nil: the job was never resolved", got.Run)
	}
	if !got.Started.IsZero() || !got.Ended.IsZero() {
		t.Errorf("Started, Ended = %v, %v, want zero times", got.Started, got.Ended)
	}
}

// testExitCode: nil means "has not exited", 0 means success; a store must
// not turn one into the other.
func testExitCode(t *testing.T, e *env) {
	s := e.store()
	zero, one := 0, 1
	for _, code := range []*int{nil, &zero, &one} {
		j := minimalJob(nextID(t, s), "alice", api.Done)
		j.ExitCode = code
		create(t, s, j)
		got := get(t, s, j.ID)
		switch {
		case code == nil && got.ExitCode != nil:
			t.Errorf("ExitCode nil came back as %d", *got.ExitCode)
		case code != nil && got.ExitCode == nil:
			t.Errorf("ExitCode %d came back nil", *code)
		case code != nil && *got.ExitCode != *code:
			t.Errorf("ExitCode %d came back as %d", *code, *got.ExitCode)
		}
	}
}

func testCreateExists(t *testing.T, e *env) {
	s := e.store()
	first := minimalJob(nextID(t, s), "alice", api.Pending)
	create(t, s, first)
	second := fullJob(first.ID)
	err := s.CreateJob(t.Context(), second)
	if !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateJob of a taken id = %v, want store.ErrExists", err)
	}
	checkJob(t, "Job after the refused CreateJob", get(t, s, first.ID), first)
	if n := nextID(t, s); n <= first.ID {
		t.Errorf("NextID = %d after job %d exists", n, first.ID)
	}
}

func testJobNotFound(t *testing.T, e *env) {
	s := e.store()
	id := nextID(t, s) // reserved, never created
	create(t, s, minimalJob(nextID(t, s), "alice", api.Pending))
	for _, id := range []int64{id, id + 1000, 0, -1} {
		j, err := s.Job(t.Context(), id)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Job(%d) = %v, %v; want store.ErrNotFound", id, j, err)
		}
	}
}

// queryFixture stores jobs of several users in every state, created in an
// order other than their ids', and returns them sorted by id.
func queryFixture(t *testing.T, s store.Store) []*api.Job {
	t.Helper()
	users := []string{"alice", "bob", "carol"}
	var jobs []*api.Job
	for i := range 40 {
		j := minimalJob(nextID(t, s), users[i%len(users)], api.States[i%len(api.States)])
		j.Project = fmt.Sprintf("p%d", i%4)
		jobs = append(jobs, j)
	}
	createScrambled(t, s, jobs)
	return jobs
}

// createScrambled stores jobs, sorted by id, in another order: even
// positions backwards, then odd positions forwards.
func createScrambled(t *testing.T, s store.Store, jobs []*api.Job) {
	t.Helper()
	var order []*api.Job
	for i := len(jobs) - 2; i >= 0; i -= 2 {
		order = append(order, jobs[i])
	}
	for i := 1; i < len(jobs); i += 2 {
		order = append(order, jobs[i])
	}
	for _, j := range order {
		create(t, s, j)
	}
}

// match is the reference implementation of Query.
func match(q store.Query, j *api.Job) bool {
	return (len(q.IDs) == 0 || slices.Contains(q.IDs, j.ID)) &&
		(len(q.Users) == 0 || slices.Contains(q.Users, j.User)) &&
		(len(q.States) == 0 || slices.Contains(q.States, j.State)) &&
		(len(q.Arrays) == 0 || slices.Contains(q.Arrays, j.ArrayID)) &&
		(len(q.Tasks) == 0 || slices.Contains(q.Tasks, j.TaskID))
}

func expect(q store.Query, jobs []*api.Job) []int64 {
	out := []int64{}
	for _, j := range jobs {
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
		if match(q, j) {
			out = append(out, j.ID)
		}
	}
	return out
}

// checkQuery checks what Jobs and Count answer to q against the reference
// implementation over jobs (sorted by id), and returns what Jobs did.
func checkQuery(t *testing.T, s store.Store, what string, q store.Query, jobs []*api.Job) []*api.Job {
	t.Helper()
	got := list(t, s, q)
	checkIDs(t, what, got, expect(q, jobs))
	// Count agrees with the query, ignoring its limit.
	noLimit := q
	noLimit.Limit = 0
	n, err := s.Count(t.Context(), q)
	if err != nil {
		t.Fatalf("%s: Count: %v", what, err)
	}
	if all := expect(noLimit, jobs); n != len(all) {
		t.Errorf("%s: Count = %d; want %d", what, n, len(all))
	}
	return got
}

func testJobsQuery(t *testing.T, e *env) {
	s := e.store()
	jobs := queryFixture(t, s)
	id := func(i int) int64 { return jobs[i].ID }
	unknown := jobs[len(jobs)-1].ID + 1000

	queries := []struct {
		name string
		q    store.Query
		none bool // the query matches no job
	}{
		{name: "all", q: store.Query{}},
		{name: "empty lists select everything", q: store.Query{IDs: []int64{}, Users: []string{}, States: []api.State{}, Arrays: []int64{}, Tasks: []int64{}}},
		{name: "no array", q: store.Query{Arrays: []int64{0}}},
		{name: "an array", q: store.Query{Arrays: []int64{id(3)}}, none: true},
		{name: "one id", q: store.Query{IDs: []int64{id(5)}}},
		{name: "ids unordered, repeated, unknown", q: store.Query{IDs: []int64{id(7), id(2), id(7), unknown, id(30)}}},
		{name: "unknown id", q: store.Query{IDs: []int64{unknown}}, none: true},
		{name: "one user", q: store.Query{Users: []string{"alice"}}},
		{name: "two users", q: store.Query{Users: []string{"carol", "alice"}}},
		{name: "unknown user", q: store.Query{Users: []string{"mallory"}}, none: true},
		{name: "pending", q: store.Query{States: []api.State{api.Pending}}},
		{name: "running or suspended", q: store.Query{States: []api.State{api.Running, api.Suspended}}},
		{name: "every finished state", q: store.Query{States: []api.State{api.Done, api.Failed, api.Killed, api.Cancelled, api.Rejected, api.Archived}}},
		{name: "user and states", q: store.Query{Users: []string{"bob"}, States: []api.State{api.Pending, api.Running, api.Done}}},
		{name: "users and state", q: store.Query{Users: []string{"alice", "bob"}, States: []api.State{api.Held}}},
		{name: "unknown user and a state", q: store.Query{Users: []string{"mallory"}, States: []api.State{api.Pending}}, none: true},
		{name: "ids and user", q: store.Query{IDs: []int64{id(0), id(1), id(2), id(3), id(4), id(5)}, Users: []string{"bob"}}},
		{name: "ids, users and states", q: store.Query{IDs: []int64{id(0), id(10), id(11), id(13), id(20), id(21)}, Users: []string{"alice", "bob"}, States: []api.State{api.Pending, api.Held}}},
		{name: "limit", q: store.Query{Limit: 5}},
		{name: "limit 1", q: store.Query{Limit: 1}},
		{name: "limit with states", q: store.Query{States: []api.State{api.Done, api.Failed}, Limit: 3}},
		{name: "limit with user", q: store.Query{Users: []string{"carol"}, Limit: 4}},
		{name: "limit above the count", q: store.Query{Users: []string{"bob"}, Limit: 1000}},
	}
	for _, tt := range queries {
		want := expect(tt.q, jobs)
		if (len(want) == 0) != tt.none {
			t.Fatalf("%s: the fixture matches %d jobs; fix the test case", tt.name, len(want))
		}
		checkQuery(t, s, tt.name, tt.q, jobs)
		brief := tt.q
		brief.Brief = true
		checkQuery(t, s, tt.name+", brief", brief, jobs)
	}

	// The jobs come back whole, not just their ids.
	all := list(t, s, store.Query{})
	for i := range min(len(all), len(jobs)) {
		checkJob(t, "Jobs", all[i], jobs[i])
	}
}

// testJobsBrief: a brief listing carries every field of each job's Brief
// as it is now, after updates too; a BriefLister's JSON says the same.
func testJobsBrief(t *testing.T, e *env) {
	s := e.store()
	var jobs []*api.Job
	for range 3 {
		j := fullJob(nextID(t, s))
		create(t, s, j)
		jobs = append(jobs, j)
	}
	updated, err := s.UpdateJob(t.Context(), jobs[1].ID, func(j *api.Job) error {
		scribble(j)
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateJob: %v", err)
	}
	jobs[1] = updated
	q := store.Query{IDs: ids(jobs), Brief: true}
	got := list(t, s, q)
	checkIDs(t, "brief listing", got, ids(jobs))
	for i := range min(len(got), len(jobs)) {
		checkJob(t, "brief listing", got[i].Brief(), jobs[i].Brief())
	}
	bl, ok := s.(store.BriefLister)
	if !ok {
		return
	}
	var docs []*api.Job
	if err := bl.BriefJSON(t.Context(), q, func(doc []byte) error {
		j := new(api.Job)
		if err := json.Unmarshal(doc, j); err != nil {
			return fmt.Errorf("brief %s: %w", doc, err)
		}
		docs = append(docs, j)
		return nil
	}); err != nil {
		t.Fatalf("BriefJSON: %v", err)
	}
	checkIDs(t, "BriefJSON", docs, ids(jobs))
	for i := range min(len(docs), len(jobs)) {
		checkJob(t, "BriefJSON", docs[i], jobs[i].Brief())
	}
	stop := errors.New("enough")
	n := 0
	if err := bl.BriefJSON(t.Context(), q, func([]byte) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("BriefJSON after fn's error: %v after %d calls; want fn's error after 1", err, n)
	}
}

// testJobsManyIDs: the scheduler asks for the jobs a dependency list
// names; a long list must not hit a limit of the query language.
func testJobsManyIDs(t *testing.T, e *env) {
	s := e.store()
	jobs := queryFixture(t, s)
	// 40,000 unknown ids around every other stored one.
	var q store.Query
	last := jobs[len(jobs)-1].ID
	for i := range int64(40000) {
		q.IDs = append(q.IDs, last+1+i)
		if i%2 == 0 && int(i) < len(jobs) {
			q.IDs = append(q.IDs, jobs[i].ID)
		}
	}
	checkIDs(t, "40,020 ids", list(t, s, q), expect(q, jobs))
	q.States = []api.State{api.Pending}
	checkIDs(t, "40,020 ids, pending", list(t, s, q), expect(q, jobs))
}

// arrayFixture stores two arrays, a (alice's, tasks 1-7) and b (bob's,
// tasks 2-10:2), their tasks in states of all kinds and plain jobs of
// several users between them, created in an order other than their ids';
// it returns them sorted by id.
func arrayFixture(t *testing.T, s store.Store) (jobs []*api.Job, a, b int64) {
	t.Helper()
	a = nextID(t, s)
	arrayA := minimalJob(a, "alice", api.Running)
	arrayA.Spec.Array = &api.Array{First: 1, Last: 7, Step: 1}
	arrayA.Tasks = &api.Tasks{Next: 8, Running: 2, Done: 3, Failed: 2}
	jobs = append(jobs, arrayA, minimalJob(nextID(t, s), "bob", api.Pending))
	b = nextID(t, s)
	arrayB := minimalJob(b, "bob", api.Running)
	arrayB.Spec.Array = &api.Array{First: 2, Last: 10, Step: 2, Limit: 2}
	arrayB.Tasks = &api.Tasks{Next: 12, Running: 1, Done: 2, Failed: 2}
	jobs = append(jobs, arrayB)

	owner := map[int64]string{a: "alice", b: "bob", 0: ""}
	plainUsers := []string{"carol", "alice", "bob"}
	states := []api.State{api.Done, api.Failed, api.Running, api.Killed, api.Pending, api.Held}
	for i, task := range []struct{ array, task int64 }{
		{a, 1}, {a, 2}, {b, 2}, {a, 3}, {0, 0}, {b, 4}, {a, 4}, {a, 5}, {0, 0},
		{b, 6}, {a, 6}, {b, 8}, {a, 7}, {0, 0}, {b, 10},
	} {
		user := owner[task.array]
		if user == "" {
			user, plainUsers = plainUsers[0], plainUsers[1:]
		}
		j := minimalJob(nextID(t, s), user, states[i%len(states)])
		j.ArrayID, j.TaskID = task.array, task.task
		jobs = append(jobs, j)
	}
	createScrambled(t, s, jobs)
	return jobs, a, b
}

func testJobsArrays(t *testing.T, e *env) {
	s := e.store()
	jobs, a, b := arrayFixture(t, s)
	unknown := jobs[len(jobs)-1].ID + 1000
	// Long lists, past any limit on the parameters of a query.
	var manyArrays, manyTasks []int64
	for i := range int64(150) {
		manyArrays = append(manyArrays, unknown+i)
		manyTasks = append(manyTasks, 100+i)
	}
	manyArrays = append(manyArrays, b)
	manyTasks = append(manyTasks, 3, 4)

	queries := []struct {
		name string
		q    store.Query
		want int // how many jobs the query matches, Limit aside
	}{
		{name: "one array", q: store.Query{Arrays: []int64{a}}, want: 7},
		{name: "the other array", q: store.Query{Arrays: []int64{b}}, want: 5},
		{name: "two arrays", q: store.Query{Arrays: []int64{b, a}}, want: 12},
		{name: "two tasks of an array", q: store.Query{Arrays: []int64{a}, Tasks: []int64{2, 5}}, want: 2},
		{name: "one task of an array", q: store.Query{Arrays: []int64{b}, Tasks: []int64{6}}, want: 1},
		{name: "a task the array does not have", q: store.Query{Arrays: []int64{b}, Tasks: []int64{1, 3, 99}}},
		{name: "tasks of any array", q: store.Query{Tasks: []int64{2}}, want: 2},
		{name: "tasks of any array, unordered", q: store.Query{Tasks: []int64{6, 1, 4}}, want: 5},
		{name: "tasks of two arrays", q: store.Query{Arrays: []int64{a, b}, Tasks: []int64{4, 7}}, want: 3},
		{name: "unknown array", q: store.Query{Arrays: []int64{unknown}}},
		{name: "a plain job is no array", q: store.Query{Arrays: []int64{jobs[1].ID}}},
		{name: "not tasks", q: store.Query{Arrays: []int64{0}}, want: 6},
		{name: "not tasks, by task", q: store.Query{Tasks: []int64{0}}, want: 6},
		{name: "not tasks, or an array's", q: store.Query{Arrays: []int64{a, 0}}, want: 13},
		{name: "array and its owner", q: store.Query{Arrays: []int64{a}, Users: []string{"alice"}}, want: 7},
		{name: "array and another user", q: store.Query{Arrays: []int64{a}, Users: []string{"bob", "carol"}}},
		{name: "tasks and users", q: store.Query{Tasks: []int64{2, 4}, Users: []string{"bob"}}, want: 2},
		{name: "array and states", q: store.Query{Arrays: []int64{a}, States: []api.State{api.Done, api.Running}}, want: 3},
		{name: "arrays, tasks, user and state", q: store.Query{Arrays: []int64{a, b}, Tasks: []int64{2, 3, 4, 6}, Users: []string{"bob"}, States: []api.State{api.Held, api.Killed, api.Pending, api.Done}}, want: 2},
		{name: "array and an ended state it has no task in", q: store.Query{Arrays: []int64{b}, States: []api.State{api.Cancelled}}},
		{name: "array and ids", q: store.Query{Arrays: []int64{a}, IDs: []int64{jobs[3].ID, jobs[4].ID, jobs[5].ID, jobs[6].ID}}, want: 3},
		{name: "array with a limit", q: store.Query{Arrays: []int64{a}, Limit: 3}, want: 7},
		{name: "many arrays", q: store.Query{Arrays: manyArrays}, want: 5},
		{name: "many tasks", q: store.Query{Tasks: manyTasks}, want: 3},
		{name: "many tasks of many arrays", q: store.Query{Arrays: manyArrays, Tasks: manyTasks}, want: 1},
	}
	for _, tt := range queries {
		q := tt.q
		q.Limit = 0
		if n := len(expect(q, jobs)); n != tt.want {
			t.Fatalf("%s: the fixture matches %d jobs, not %d; fix the test case", tt.name, n, tt.want)
		}
		checkQuery(t, s, tt.name, tt.q, jobs)
	}

	// An array's tasks come back whole, in id order, which here is task
	// order; the arrays' own records come back whole too.
	byID := map[int64]*api.Job{}
	for _, j := range jobs {
		byID[j.ID] = j
	}
	var tasks []int64
	for _, j := range list(t, s, store.Query{Arrays: []int64{a}}) {
		tasks = append(tasks, j.TaskID)
		checkJob(t, "Jobs of an array", j, byID[j.ID])
	}
	if want := []int64{1, 2, 3, 4, 5, 6, 7}; !slices.Equal(tasks, want) {
		t.Errorf("tasks of array %d: got %v, want %v", a, tasks, want)
	}
	for _, j := range list(t, s, store.Query{IDs: []int64{a, b}}) {
		checkJob(t, "an array's record", j, byID[j.ID])
	}
}

func testJobsEmpty(t *testing.T, e *env) {
	s := e.store()
	nextID(t, s)
	if jobs := list(t, s, store.Query{}); len(jobs) != 0 {
		t.Errorf("Jobs of an empty store = %v, want none", ids(jobs))
	}
	if jobs := list(t, s, store.Query{States: []api.State{api.Pending}}); len(jobs) != 0 {
		t.Errorf("Jobs(pending) of an empty store = %v, want none", ids(jobs))
	}
}

func testUpdateSeesCurrent(t *testing.T, e *env) {
	s := e.store()
	want := fullJob(nextID(t, s))
	create(t, s, want)

	calls := 0
	got, err := s.UpdateJob(t.Context(), want.ID, func(j *api.Job) error {
		calls++
		checkJob(t, "fn's job", j, want)
		j.State = api.Running
		j.Reason = api.Reason{}
		j.Node = "node-7"
		j.Run.Mounts = append(j.Run.Mounts, api.Mount{Source: "/scratch", Target: "/scratch"})
		j.Spec.Env["ADDED"] = "yes"
		j.ExitCode = nil
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateJob: %v", err)
	}
	if calls != 1 {
		t.Errorf("fn called %d times, want once", calls)
	}
	want.State, want.Reason, want.Node, want.ExitCode = api.Running, api.Reason{}, "node-7", nil
	want.Run.Mounts = append(want.Run.Mounts, api.Mount{Source: "/scratch", Target: "/scratch"})
	want.Spec.Env["ADDED"] = "yes"
	checkJob(t, "UpdateJob's result", got, want)
	checkJob(t, "Job after UpdateJob", get(t, s, want.ID), want)

	// The next update starts from the stored change.
	if _, err := s.UpdateJob(t.Context(), want.ID, func(j *api.Job) error {
		checkJob(t, "second fn's job", j, want)
		return nil
	}); err != nil {
		t.Fatalf("second UpdateJob: %v", err)
	}
}

func testUpdateMovesBetweenStates(t *testing.T, e *env) {
	s := e.store()
	a := minimalJob(nextID(t, s), "alice", api.Pending)
	b := minimalJob(nextID(t, s), "alice", api.Pending)
	c := minimalJob(nextID(t, s), "bob", api.Pending)
	for _, j := range []*api.Job{a, b, c} {
		create(t, s, j)
	}
	pending := store.Query{States: []api.State{api.Pending}}
	running := store.Query{States: []api.State{api.Running}}
	aliceRunning := store.Query{Users: []string{"alice"}, States: []api.State{api.Running}}

	if _, err := s.UpdateJob(t.Context(), b.ID, func(j *api.Job) error {
		j.State = api.Running
		return nil
	}); err != nil {
		t.Fatalf("UpdateJob: %v", err)
	}
	checkIDs(t, "pending after b started", list(t, s, pending), []int64{a.ID, c.ID})
	checkIDs(t, "running after b started", list(t, s, running), []int64{b.ID})
	checkIDs(t, "alice's running after b started", list(t, s, aliceRunning), []int64{b.ID})

	if _, err := s.UpdateJob(t.Context(), b.ID, func(j *api.Job) error {
		j.State = api.Done
		return nil
	}); err != nil {
		t.Fatalf("UpdateJob: %v", err)
	}
	checkIDs(t, "running after b finished", list(t, s, running), nil)
	checkIDs(t, "done after b finished", list(t, s, store.Query{States: []api.State{api.Done}}), []int64{b.ID})
	checkIDs(t, "alice's after b finished", list(t, s, store.Query{Users: []string{"alice"}}), []int64{a.ID, b.ID})
}

// testUpdateMovesBetweenArrays: the columns a store queries on follow
// ArrayID and TaskID when an update changes them (the server does not,
// but a store must not depend on that).
func testUpdateMovesBetweenArrays(t *testing.T, e *env) {
	s := e.store()
	a, b := nextID(t, s), nextID(t, s)
	task := minimalJob(nextID(t, s), "alice", api.Pending)
	task.ArrayID, task.TaskID = a, 3
	other := minimalJob(nextID(t, s), "alice", api.Pending)
	other.ArrayID, other.TaskID = a, 4
	plain := minimalJob(nextID(t, s), "alice", api.Pending)
	jobs := []*api.Job{task, other, plain}
	for _, j := range jobs {
		create(t, s, j)
	}
	queries := map[string]store.Query{
		"array a":          {Arrays: []int64{a}},
		"array b":          {Arrays: []int64{b}},
		"not tasks":        {Arrays: []int64{0}},
		"task 3":           {Tasks: []int64{3}},
		"task 5":           {Tasks: []int64{5}},
		"task 3 of a":      {Arrays: []int64{a}, Tasks: []int64{3}},
		"task 5 of b":      {Arrays: []int64{b}, Tasks: []int64{5}},
		"pending of b":     {Arrays: []int64{b}, States: []api.State{api.Pending}},
		"running of a, b":  {Arrays: []int64{a, b}, States: []api.State{api.Running}},
		"alice's of a":     {Arrays: []int64{a}, Users: []string{"alice"}},
		"not tasks, by id": {Tasks: []int64{0}},
	}
	check := func(when string) {
		t.Helper()
		for _, name := range slices.Sorted(maps.Keys(queries)) {
			checkQuery(t, s, name+" "+when, queries[name], jobs)
		}
	}
	check("at first")

	for _, step := range []struct {
		when          string
		array, number int64
		state         api.State
	}{
		{"after the task moved to b", b, 5, api.Pending},
		{"after it started", b, 5, api.Running},
		{"after it became a plain job", 0, 0, api.Running},
		{"after it became a task of a again", a, 3, api.Running},
	} {
		got, err := s.UpdateJob(t.Context(), task.ID, func(j *api.Job) error {
			j.ArrayID, j.TaskID, j.State = step.array, step.number, step.state
			return nil
		})
		if err != nil {
			t.Fatalf("UpdateJob %s: %v", step.when, err)
		}
		task.ArrayID, task.TaskID, task.State = step.array, step.number, step.state
		checkJob(t, "UpdateJob's result "+step.when, got, task)
		check(step.when)
	}
}

type fnError struct{ id int64 }

func (e *fnError) Error() string { return fmt.Sprintf("job %d: not in a state that allows this", e.id) }

func testUpdateFnError(t *testing.T, e *env) {
	s := e.store()
	want := fullJob(nextID(t, s))
	want.State = api.Pending
	create(t, s, want)

	boom := &fnError{want.ID}
	got, err := s.UpdateJob(t.Context(), want.ID, func(j *api.Job) error {
		scribble(j) // changes made before the error must not be written
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("UpdateJob = %v, want fn's error %v", err, boom)
	}
	if got != nil {
		t.Errorf("UpdateJob returned job %+v with the error, want nil", got)
	}
	checkJob(t, "Job after a failed update", get(t, s, want.ID), want)
	checkIDs(t, "pending after a failed update", list(t, s, store.Query{States: []api.State{api.Pending}}), []int64{want.ID})
	checkIDs(t, "archived after a failed update", list(t, s, store.Query{States: []api.State{api.Archived}}), nil)
	checkIDs(t, "its array after a failed update", list(t, s, store.Query{Arrays: []int64{want.ArrayID}, Tasks: []int64{want.TaskID}}), []int64{want.ID})
	checkIDs(t, "the scribbled array after a failed update", list(t, s, store.Query{Arrays: []int64{-1}}), nil)
}

func testUpdateNotFound(t *testing.T, e *env) {
	s := e.store()
	reserved := nextID(t, s)
	called := false
	_, err := s.UpdateJob(t.Context(), reserved, func(j *api.Job) error {
		called = true
		return nil
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateJob of an unknown id = %v, want store.ErrNotFound", err)
	}
	if called {
		t.Error("UpdateJob called fn for a job that does not exist")
	}
	if _, err := s.Job(t.Context(), reserved); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Job(%d) after UpdateJob of the unknown id = %v, want store.ErrNotFound", reserved, err)
	}
}

// testUpdateConcurrent: the watcher, the scheduler and API calls update
// the same job at once; no update may be lost.
func testUpdateConcurrent(t *testing.T, e *env) {
	s := e.store()
	a := minimalJob(nextID(t, s), "alice", api.Running)
	b := minimalJob(nextID(t, s), "bob", api.Running)
	create(t, s, a)
	create(t, s, b)

	const workers, each = 8, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				id := a.ID
				if (w+i)%2 == 1 {
					id = b.ID
				}
				got, err := s.UpdateJob(t.Context(), id, func(j *api.Job) error {
					j.Attempt++
					j.Usage.CPUSeconds += 0.5
					j.Groups = append(j.Groups, w)
					return nil
				})
				if err != nil {
					t.Errorf("UpdateJob(%d): %v", id, err)
					return
				}
				if got.ID != id {
					t.Errorf("UpdateJob(%d) returned job %d", id, got.ID)
				}
			}
		})
		// Readers alongside the writers.
		wg.Go(func() {
			for range each / 5 {
				if _, err := s.Job(t.Context(), a.ID); err != nil {
					t.Errorf("Job: %v", err)
					return
				}
				if _, err := s.Jobs(t.Context(), store.Query{States: []api.State{api.Running}}); err != nil {
					t.Errorf("Jobs: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()

	total := 0
	for _, id := range []int64{a.ID, b.ID} {
		j := get(t, s, id)
		if j.Attempt != len(j.Groups) || float64(j.Attempt)*0.5 != j.Usage.CPUSeconds {
			t.Errorf("job %d: Attempt %d, %d groups, %v cpu·s: the fields of one update were not written together",
				id, j.Attempt, len(j.Groups), j.Usage.CPUSeconds)
		}
		total += j.Attempt
	}
	if total != workers*each {
		t.Errorf("%d increments stored, want %d: concurrent updates were lost", total, workers*each)
	}
}

func testDurability(t *testing.T, e *env) {
	s, closeStore := e.openClosable()
	full := fullJob(nextID(t, s))
	created := minimalJob(nextID(t, s), "bob", api.Pending)
	reserved := nextID(t, s)
	create(t, s, full)
	create(t, s, created)
	if _, err := s.UpdateJob(t.Context(), full.ID, func(j *api.Job) error {
		j.Attempt = 7
		j.State = api.Failed
		return nil
	}); err != nil {
		t.Fatalf("UpdateJob: %v", err)
	}
	full.Attempt, full.State = 7, api.Failed
	closeStore()

	for round := range 2 {
		s, closeStore := e.openClosable()
		what := fmt.Sprintf("after reopening (%d)", round+1)
		checkJob(t, "Job "+what, get(t, s, full.ID), full)
		checkJob(t, "Job "+what, get(t, s, created.ID), created)
		if _, err := s.Job(t.Context(), reserved); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Job(%d) of a reserved, unused id %s = %v, want store.ErrNotFound", reserved, what, err)
		}
		checkIDs(t, "Jobs "+what, list(t, s, store.Query{}), []int64{full.ID, created.ID})
		checkIDs(t, "Jobs(failed) "+what, list(t, s, store.Query{States: []api.State{api.Failed}}), []int64{full.ID})
		if id := nextID(t, s); id <= reserved {
			t.Errorf("NextID %s = %d, want more than %d", what, id, reserved)
		} else {
			reserved = id
		}
		closeStore()
	}
}

func testCopies(t *testing.T, e *env) {
	s := e.store()
	id := nextID(t, s)
	given := fullJob(id)
	create(t, s, given)
	scribble(given)
	want := fullJob(id)
	checkJob(t, "Job after the caller changed the job it gave CreateJob", get(t, s, id), want)

	scribble(get(t, s, id))
	checkJob(t, "Job after the caller changed what Job returned", get(t, s, id), want)

	for _, j := range list(t, s, store.Query{}) {
		scribble(j)
	}
	checkJob(t, "Job after the caller changed what Jobs returned", get(t, s, id), want)

	var kept *api.Job
	got, err := s.UpdateJob(t.Context(), id, func(j *api.Job) error {
		kept = j
		j.Attempt++
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateJob: %v", err)
	}
	want.Attempt++
	scribble(got)
	scribble(kept)
	checkJob(t, "Job after the caller changed what UpdateJob returned and what fn got", get(t, s, id), want)

	// Two reads are two copies.
	a, b := get(t, s, id), get(t, s, id)
	scribble(a)
	checkJob(t, "second of two reads after the first was changed", b, want)
}

// testSharedData: two stores open on the same data at once, as several
// godockerd share one database, hand out distinct ids and lose no update.
func testSharedData(t *testing.T, e *env) {
	s1, close1 := e.openClosable()
	s2 := e.store()
	stores := []store.Store{s1, s2}

	j := minimalJob(nextID(t, s1), "alice", api.Running)
	create(t, s1, j)
	checkJob(t, "Job through the other store", get(t, s2, j.ID), j)

	const workers, each = 4, 20
	var (
		mu   sync.Mutex
		seen = map[int64]bool{}
		wg   sync.WaitGroup
	)
	for w := range 2 * workers {
		s := stores[w%2]
		wg.Go(func() {
			for range each {
				id, err := s.NextID(t.Context())
				if err != nil {
					t.Errorf("NextID: %v", err)
					return
				}
				mu.Lock()
				if seen[id] {
					t.Errorf("id %d handed out twice", id)
				}
				seen[id] = true
				mu.Unlock()
				if _, err := s.UpdateJob(t.Context(), j.ID, func(j *api.Job) error {
					j.Attempt++
					return nil
				}); err != nil {
					t.Errorf("UpdateJob: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	for i, s := range stores {
		if got := get(t, s, j.ID).Attempt; got != 2*workers*each {
			t.Errorf("store %d: Attempt = %d, want %d: updates through two stores were lost", i+1, got, 2*workers*each)
		}
	}

	close1()
	if _, err := s2.UpdateJob(t.Context(), j.ID, func(j *api.Job) error { return nil }); err != nil {
		t.Errorf("UpdateJob after the other store closed: %v", err)
	}
}

// testCanceledContext: a request whose client went away stops, and a
// method that failed changed nothing.
func testCanceledContext(t *testing.T, e *env) {
	s := e.store()
	j := minimalJob(nextID(t, s), "alice", api.Pending)
	create(t, s, j)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if id, err := s.NextID(ctx); err == nil {
		t.Errorf("NextID with a canceled context = %d, want an error", id)
	}
	fresh := minimalJob(nextID(t, s), "alice", api.Pending)
	if err := s.CreateJob(ctx, fresh); err == nil {
		t.Error("CreateJob with a canceled context succeeded, want an error")
	} else if _, err := s.Job(t.Context(), fresh.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Job(%d) after the failed CreateJob = %v, want store.ErrNotFound", fresh.ID, err)
	}
	if _, err := s.Job(ctx, j.ID); err == nil {
		t.Error("Job with a canceled context succeeded, want an error")
	}
	if _, err := s.Jobs(ctx, store.Query{}); err == nil {
		t.Error("Jobs with a canceled context succeeded, want an error")
	}
	if _, err := s.UpdateJob(ctx, j.ID, func(j *api.Job) error {
		j.State = api.Running
		return nil
	}); err == nil {
		t.Error("UpdateJob with a canceled context succeeded, want an error")
	}
	checkJob(t, "Job after the failed UpdateJob", get(t, s, j.ID), j)
}

// testSettings: server-wide settings are stored, replaced, removed, and
// survive a reopen.
func testSettings(t *testing.T, e *env) {
	ctx := context.Background()
	s, closeStore := e.openClosable()
	if v, err := s.Setting(ctx, "maintenance"); err != nil || v != "" {
		t.Fatalf("unset setting = %q, %v; want \"\", nil", v, err)
	}
	for _, v := range []string{"on: upgrading", "on: moved to 14:00 ✓"} {
		if err := s.SetSetting(ctx, "maintenance", v); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Setting(ctx, "maintenance"); err != nil || got != v {
			t.Fatalf("Setting = %q, %v; want %q", got, err, v)
		}
	}
	if err := s.SetSetting(ctx, "other", "x"); err != nil {
		t.Fatal(err)
	}
	closeStore()
	s = e.store()
	if got, _ := s.Setting(ctx, "maintenance"); got != "on: moved to 14:00 ✓" {
		t.Errorf("after reopen: %q", got)
	}
	if err := s.SetSetting(ctx, "maintenance", ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Setting(ctx, "maintenance"); got != "" {
		t.Errorf("removed setting = %q", got)
	}
	if got, _ := s.Setting(ctx, "other"); got != "x" {
		t.Errorf("another setting changed: %q", got)
	}
}

// testInstallation: the store has an installation id from the start, the
// same through every store open on the data, and after a reopen.
func testInstallation(t *testing.T, e *env) {
	ctx := context.Background()
	s1, close1 := e.openClosable()
	id, err := s1.Setting(ctx, store.SettingInstallation)
	if err != nil || id == "" {
		t.Fatalf("installation of a new store = %q, %v; want an id", id, err)
	}
	s2, close2 := e.openClosable()
	if got, err := s2.Setting(ctx, store.SettingInstallation); err != nil || got != id {
		t.Errorf("installation through a second store on the same data = %q, %v; want %q", got, err, id)
	}
	close2()
	if got, err := s1.Setting(ctx, store.SettingInstallation); err != nil || got != id {
		t.Errorf("installation after a second store opened and closed = %q, %v; want %q", got, err, id)
	}
	close1()
	s := e.store()
	if got, err := s.Setting(ctx, store.SettingInstallation); err != nil || got != id {
		t.Errorf("installation after reopening = %q, %v; want %q", got, err, id)
	}
}
