package server

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
	"github.com/godocker/godocker/store/sqlite"
)

// storeOf opens an empty store and stores jobs in it, each under a fresh
// id.
func storeOf(t *testing.T, jobs ...*api.Job) store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "godocker.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, j := range jobs {
		if j.ID, err = st.NextID(ctx); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// The use of a requeued job's earlier attempts is read back from the
// store (a restart, a new leader), whatever state the job is in now, and
// each attempt counts once however often it reaches the ledger.
func TestLedgerLoadsEarlierAttempts(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC()
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	job := func(user string, state api.State, cpus int, attempts ...api.Attempt) *api.Job {
		return &api.Job{User: user, Group: "lab", Project: "bio", State: state, Attempt: len(attempts) + 1, Attempts: attempts,
			Spec: api.Spec{CPUs: cpus, Memory: gib}, Run: &api.Run{CPUs: cpus, Memory: gib}, Submitted: ago(4 * time.Hour)}
	}
	// alice's job was killed to be requeued and waits again: 2 cpus × 1 h.
	alice := job("alice", api.Pending, 2, api.Attempt{Attempt: 1, State: api.Killed, Started: ago(2 * time.Hour), Ended: ago(time.Hour)})
	// bob's failed, was requeued, and is done: 1 cpu × (1 h + 30 min).
	bob := job("bob", api.Done, 1, api.Attempt{Attempt: 1, State: api.Failed, Started: ago(3 * time.Hour), Ended: ago(2 * time.Hour)})
	bob.Started, bob.Ended = ago(time.Hour), ago(30*time.Minute)
	// carol's first attempt ended before the window; her second runs.
	carol := job("carol", api.Running, 1, api.Attempt{Attempt: 1, State: api.Failed, Started: ago(50 * time.Hour), Ended: ago(49 * time.Hour)})
	carol.Started = ago(time.Minute)
	// dave's ran, was requeued, then deleted before it ran again.
	dave := job("dave", api.Cancelled, 1, api.Attempt{Attempt: 1, State: api.Done, Started: ago(2 * time.Hour), Ended: ago(time.Hour)})
	dave.Ended = ago(time.Minute)
	st := storeOf(t, alice, bob, carol, dave)
	want := map[string]float64{"alice": 7200, "bob": 5400, "dave": 3600}

	check := func(what string, l *ledger) {
		t.Helper()
		users, _ := l.totals(now, nil)
		for user, cpuSeconds := range want {
			if got := users[user].CPUSeconds; got != cpuSeconds {
				t.Errorf("%s: %s used %v cpu·s; want %v", what, user, got, cpuSeconds)
			}
		}
		if u, ok := users["carol"]; ok {
			t.Errorf("%s: carol used %+v; want nothing (her first attempt left the window, her second runs)", what, u)
		}
	}
	l := newLedger(24*time.Hour, 0)
	if err := l.load(ctx, st, now); err != nil {
		t.Fatal(err)
	}
	check("loaded", l)
	if err := l.load(ctx, st, now); err != nil {
		t.Fatal(err)
	}
	check("loaded twice", l)

	// What the bus carried first (a requeue seen by another process),
	// then the store read by that process as it becomes the leader.
	l = newLedger(24*time.Hour, 0)
	for _, j := range []*api.Job{alice, bob, dave} {
		l.add(j, now)
	}
	check("from the bus", l)
	if err := l.load(ctx, st, now); err != nil {
		t.Fatal(err)
	}
	check("from the bus, then loaded", l)
}

// Another process counts the attempt that a requeue ended, from the
// requeued job's event on the bus.
func TestOtherProcessCountsRequeuedAttempt(t *testing.T) {
	h := newHarness(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	other := New(h.cfg, h.st, nil, h.bus, slog.New(slog.NewTextHandler(testLog(), nil)))
	subscribed, followed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(followed)
		other.follow(ctx, subscribed)
	}()
	t.Cleanup(func() { cancel(); <-followed })
	<-subscribed

	j := h.waitState(h.submit(h.alice, script("sleep")).ID, api.Running)
	if _, err := h.srv.control(ctx, h.alice, j.ID, api.ControlRequeue); err != nil {
		t.Fatal(err)
	}
	h.wait(j.ID, func(j *api.Job) bool { return j.Attempt == 2 && j.State == api.Running })
	first := attempt{j.ID, 1}
	deadline := time.Now().Add(10 * time.Second)
	for !counted(other.ledger, first) {
		if time.Now().After(deadline) {
			t.Fatal("the other process never counted the attempt the requeue ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := other.ledger.load(ctx, h.st, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := records(other.ledger, first); n != 1 {
		t.Errorf("the first attempt is counted %d times; want once", n)
	}
}

// counted reports whether l has a record of attempt a.
func counted(l *ledger, a attempt) bool { return records(l, a) > 0 }

// records counts l's records of attempt a.
func records(l *ledger, a attempt) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.records {
		if r.of == a {
			n++
		}
	}
	return n
}

// An attempt keeps what it held and how long it was suspended, and the
// ledger counts that, not what the job asks for now (it may have been
// altered before its next attempt).
func TestAttemptKeepsWhatItHeld(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	j := h.waitState(h.submit(h.alice, script("sleep")).ID, api.Running)
	if _, err := h.srv.control(ctx, h.alice, j.ID, api.ControlSuspend); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if _, err := h.srv.control(ctx, h.alice, j.ID, api.ControlRequeue); err != nil {
		t.Fatal(err)
	}
	again := h.wait(j.ID, func(j *api.Job) bool { return j.Attempt == 2 && j.State == api.Running })
	a := again.Attempts[0]
	if a.Held != (api.Limit{CPUs: 1, Memory: j.Run.Memory}) || a.SuspendedSeconds < 0.02 || a.SuspendedSeconds > a.Ended.Sub(a.Started).Seconds() {
		t.Errorf("first attempt held %+v, suspended %v s of %v; want 1 cpu, %d bytes, suspended since the suspension",
			a.Held, a.SuspendedSeconds, a.Ended.Sub(a.Started).Seconds(), j.Run.Memory)
	}

	now := time.Now().UTC()
	altered := &api.Job{ID: 7, User: "bob", Attempt: 2, Spec: api.Spec{CPUs: 1}, Run: &api.Run{CPUs: 1, Memory: gib},
		Attempts: []api.Attempt{{Attempt: 1, State: api.Killed, Started: now.Add(-time.Hour), Ended: now,
			Held: api.Limit{CPUs: 4, Memory: 8 * gib}, SuspendedSeconds: 1800}}}
	l := newLedger(24*time.Hour, 0)
	l.add(altered, now)
	if users, _ := l.totals(now, nil); users["bob"].CPUSeconds != 4*1800 || users["bob"].Memory != 8*float64(gib) {
		t.Errorf("bob used %+v; want 4 cpus × 30 min active, 8G", users["bob"])
	}
}
