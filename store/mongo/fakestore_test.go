package mongo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
	"github.com/godocker/godocker/store/storetest"
)

// openFake opens a store on database db of the fake server, closed when
// the test ends.
func openFake(t *testing.T, srv *fakeServer, db string) *Store {
	t.Helper()
	s, err := Open(t.Context(), srv.dsn(db))
	if err != nil {
		t.Fatal(err)
	}
	s.backoff = backoff{initial: time.Millisecond, max: 10 * time.Millisecond, limit: 10 * time.Second}
	s.log = slog.New(slog.NewTextHandler(t.Output(), nil))
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// TestConformanceFake runs store/storetest through the real driver
// against fakeServer, an in-memory stand-in for mongod: every method's
// commands, documents, cursors and errors, end to end. It shows this
// package and the driver agree; that MongoDB answers as the fake does is
// TestConformance's to show.
func TestConformanceFake(t *testing.T) {
	srv := newFakeServer(t)
	var n atomic.Int64
	storetest.Run(t, func(t *testing.T) func() store.Store {
		dsn := srv.dsn(fmt.Sprintf("conformance_%d", n.Add(1)))
		return func() store.Store {
			s, err := Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	})
}

// TestOpenPrepares: Open creates the indexes and the id counter, and
// opening again changes nothing.
func TestOpenPrepares(t *testing.T) {
	srv := newFakeServer(t)
	openFake(t, srv, "lab")
	openFake(t, srv, "lab")
	created := srv.commands("createIndexes", jobsColl)
	if len(created) != 2 {
		t.Fatalf("%d createIndexes of jobs for two Opens, want 2", len(created))
	}
	if got := len(asDocs(must(get(created[0], "indexes")))); got != len(Indexes()[jobsColl]) {
		t.Errorf("createIndexes of jobs sent %d indexes, want %d", got, len(Indexes()[jobsColl]))
	}
	if n := len(srv.commands("createIndexes", keysColl)); n != 2 {
		t.Errorf("%d createIndexes of keys, want 2", n)
	}
	counters := srv.docs("lab", countersColl)
	if len(counters) != 1 || fmt.Sprint(counters[0]) != fmt.Sprint(bson.D{{Key: "_id", Value: "jobs"}, {Key: "seq", Value: int64(0)}}) {
		t.Errorf("counters after Open: %v", counters)
	}
}

// TestInstallationOnce: Open makes the installation id once (an upsert
// that sets it only where it inserts): a second store of the database
// reads the id the first made, another database gets its own.
func TestInstallationOnce(t *testing.T) {
	srv := newFakeServer(t)
	first := openFake(t, srv, "lab")
	id, err := first.Setting(t.Context(), store.SettingInstallation)
	if err != nil || !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(id) {
		t.Fatalf("installation = %q, %v; want 12 lowercase hex digits", id, err)
	}
	second := openFake(t, srv, "lab")
	if again, err := second.Setting(t.Context(), store.SettingInstallation); err != nil || again != id {
		t.Errorf("installation through a second store = %q, %v; want %q", again, err, id)
	}
	if docs := srv.docs("lab", settingsColl); len(docs) != 1 {
		t.Errorf("settings after two Opens: %v, want the installation alone", docs)
	}
	other := openFake(t, srv, "other")
	if o, _ := other.Setting(t.Context(), store.SettingInstallation); o == "" || o == id {
		t.Errorf("installation of another database = %q; want another than %q", o, id)
	}
}

// TestCounterRebuilt: a counter removed by hand comes back past the
// highest stored job, so that no stored job's id is handed out again.
func TestCounterRebuilt(t *testing.T) {
	srv := newFakeServer(t)
	s := openFake(t, srv, "lab")
	for range 3 {
		id, err := s.NextID(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateJob(t.Context(), &api.Job{ID: id, User: "alice", State: api.Pending}); err != nil {
			t.Fatal(err)
		}
	}
	srv.mu.Lock()
	srv.dbs["lab"][countersColl].docs = nil
	srv.mu.Unlock()

	s2 := openFake(t, srv, "lab")
	if id, err := s2.NextID(t.Context()); err != nil || id != 4 {
		t.Errorf("NextID after the counter was lost = %d, %v; want 4", id, err)
	}
}

// TestCommands: what the server is asked, for the options only the wire
// shows: majority writes, journaled; majority reads; retryable writes
// (a transaction number); Jobs' sort and limit.
func TestCommands(t *testing.T) {
	srv := newFakeServer(t)
	s := openFake(t, srv, "lab")
	id, err := s.NextID(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateJob(t.Context(), &api.Job{ID: id, User: "alice", State: api.Pending}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Jobs(t.Context(), store.Query{Users: []string{"alice"}, States: []api.State{api.Pending, api.Held}, Limit: 5}); err != nil {
		t.Fatal(err)
	}

	inserts := srv.commands("insert", jobsColl)
	if len(inserts) != 1 {
		t.Fatalf("%d inserts of jobs", len(inserts))
	}
	wc, _ := get(inserts[0], "writeConcern")
	if fmt.Sprint(wc) != fmt.Sprint(bson.D{{Key: "w", Value: "majority"}, {Key: "j", Value: true}}) {
		t.Errorf("insert's writeConcern %v, want majority, journaled", wc)
	}
	if _, ok := get(inserts[0], "txnNumber"); !ok {
		t.Error("insert carries no txnNumber: retryable writes are off")
	}
	finds := srv.commands("find", jobsColl)
	last := finds[len(finds)-1]
	filter, _ := get(last, "filter")
	sort, _ := get(last, "sort")
	limit, _ := get(last, "limit")
	rc, _ := get(last, "readConcern")
	want := bson.D{{Key: "user", Value: "alice"}, {Key: "state", Value: bson.D{{Key: "$in", Value: bson.A{"pending", "held"}}}}}
	if fmt.Sprint(filter) != fmt.Sprint(want) || fmt.Sprint(sort) != fmt.Sprint(bson.D{{Key: "_id", Value: int32(1)}}) || toInt(limit) != 5 {
		t.Errorf("find: filter %v sort %v limit %v", filter, sort, limit)
	}
	if fmt.Sprint(rc) != fmt.Sprint(bson.D{{Key: "level", Value: "majority"}}) {
		t.Errorf("find's readConcern %v, want majority", rc)
	}
}

// stepDownWCE is the reply of a write that was applied by a primary that
// then stepped down before a majority acknowledged it.
var stepDownWCE = bson.D{
	{Key: "n", Value: int32(1)}, {Key: "nModified", Value: int32(1)},
	{Key: "writeConcernError", Value: bson.D{{Key: "code", Value: int32(11602)}, {Key: "codeName", Value: "InterruptedDueToReplStateChange"}, {Key: "errmsg", Value: "operation was interrupted"}}},
	{Key: "errorLabels", Value: bson.A{"RetryableWriteError"}},
	{Key: "ok", Value: 1.0},
}

// TestUpdateJobAppliedBeforeStepDown: the replace lands, then the primary
// steps down and the driver's own retry fails too. UpdateJob's retry
// finds its write on the job and does not apply fn a second time.
func TestUpdateJobAppliedBeforeStepDown(t *testing.T) {
	srv := newFakeServer(t)
	s := openFake(t, srv, "lab")
	if err := s.CreateJob(t.Context(), fullJob(1)); err != nil {
		t.Fatal(err)
	}
	srv.inject(fault{cmd: "update", coll: jobsColl, apply: true, reply: stepDownWCE, times: 2})
	calls := 0
	got, err := s.UpdateJob(t.Context(), 1, func(j *api.Job) error {
		calls++
		j.Attempt++
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateJob: %v", err)
	}
	if calls != 1 || got.Attempt != 3 {
		t.Errorf("fn ran %d times, Attempt %d; want once, 3", calls, got.Attempt)
	}
	if j, err := s.Job(t.Context(), 1); err != nil || j.Attempt != 3 {
		t.Errorf("stored Attempt %v, %v; want 3", j.Attempt, err)
	}
	if n := len(srv.commands("update", jobsColl)); n != 2 {
		t.Errorf("%d updates, want 2 (the driver's retry, not UpdateJob's)", n)
	}
}

// TestCreateJobAppliedBeforeStepDown: an insert that landed, retried,
// meets its own document: no store.ErrExists.
func TestCreateJobAppliedBeforeStepDown(t *testing.T) {
	srv := newFakeServer(t)
	s := openFake(t, srv, "lab")
	srv.inject(fault{cmd: "insert", coll: jobsColl, apply: true, reply: stepDownWCE, times: 2})
	if err := s.CreateJob(t.Context(), fullJob(1)); err != nil {
		t.Fatalf("CreateJob: %v", err)
	}
	if n := srv.count("insert"); n != 3 {
		t.Errorf("%d inserts, want 3 (the first, the driver's retry, CreateJob's)", n)
	}
	// Another's job of that id is still ErrExists.
	if err := s.CreateJob(t.Context(), fullJob(1)); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateJob of a taken id = %v, want store.ErrExists", err)
	}
	// And so is a key, a project.
	srv.inject(fault{cmd: "insert", coll: keysColl, apply: true, reply: stepDownWCE, times: 2})
	if err := s.AddKey(t.Context(), fullKey("alice", "SHA256:x")); err != nil {
		t.Errorf("AddKey: %v", err)
	}
	srv.inject(fault{cmd: "insert", coll: projectsColl, apply: true, reply: stepDownWCE, times: 2})
	if err := s.CreateProject(t.Context(), fullProject("genomics")); err != nil {
		t.Errorf("CreateProject: %v", err)
	}
	srv.inject(fault{cmd: "delete", coll: projectsColl, apply: true, reply: stepDownWCE, times: 2})
	if err := s.DeleteProject(t.Context(), "genomics"); err != nil {
		t.Errorf("DeleteProject: %v", err)
	}
}

// TestElection: a primary that is not writable for a while (an election)
// fails commands with NotWritablePrimary; the store retries them until it
// is back, logging each retry.
func TestElection(t *testing.T) {
	srv := newFakeServer(t)
	s := openFake(t, srv, "lab")
	notPrimary := fail(10107, "NotWritablePrimary", "not primary", "RetryableWriteError")
	srv.inject(fault{cmd: "findAndModify", coll: countersColl, reply: notPrimary, times: 5})
	id, err := s.NextID(t.Context())
	if err != nil || id != 1 {
		t.Fatalf("NextID across an election = %d, %v; want 1", id, err)
	}
	if n := srv.count("findAndModify"); n != 6 {
		t.Errorf("%d findAndModify, want 6", n)
	}
	// Reads too.
	if err := s.CreateJob(t.Context(), &api.Job{ID: id, User: "alice", State: api.Pending}); err != nil {
		t.Fatal(err)
	}
	srv.inject(fault{cmd: "find", coll: jobsColl, reply: fail(13436, "NotPrimaryOrSecondary", "node is recovering"), times: 4})
	if j, err := s.Job(t.Context(), id); err != nil || j.ID != id {
		t.Errorf("Job across an election = %v, %v", j, err)
	}
}

// TestElectionOutlastsContext: a deployment without a primary fails the
// store's methods when their context ends, not later.
func TestElectionOutlastsContext(t *testing.T) {
	srv := newFakeServer(t)
	s := openFake(t, srv, "lab")
	s.backoff = retryBackoff
	srv.inject(fault{cmd: "findAndModify", coll: countersColl, reply: fail(10107, "NotWritablePrimary", "not primary", "RetryableWriteError"), times: 1 << 30})
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.NextID(ctx)
	if err == nil {
		t.Fatal("NextID without a primary succeeded")
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("NextID took %v with a 500ms context", elapsed)
	}
	t.Logf("%v: %v", time.Since(start), err)
}

// TestUpdateJobFnErrorWritesNothing: with fn failing, no replace is sent.
func TestUpdateJobFnErrorWritesNothing(t *testing.T) {
	srv := newFakeServer(t)
	s := openFake(t, srv, "lab")
	if err := s.CreateJob(t.Context(), fullJob(1)); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if _, err := s.UpdateJob(t.Context(), 1, func(j *api.Job) error { j.Attempt = 99; return boom }); err != boom {
		t.Errorf("UpdateJob = %v, want fn's error itself", err)
	}
	if n := len(srv.commands("update", jobsColl)); n != 0 {
		t.Errorf("%d updates after fn failed", n)
	}
	if _, err := s.UpdateJob(t.Context(), 1, func(j *api.Job) error { j.ID = 2; return nil }); err == nil {
		t.Error("UpdateJob that changed the id succeeded")
	}
}
