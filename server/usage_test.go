package server

import (
	"testing"
	"time"

	"github.com/godocker/godocker/api"
)

func TestLedger(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	l := newLedger(24*time.Hour, 0)
	var id int64
	job := func(user, group string, cpus int, started, ended time.Time) *api.Job {
		id++
		return &api.Job{ID: id, User: user, Group: group, Spec: api.Spec{CPUs: cpus, Memory: 1 << 30}, Run: &api.Run{CPUs: cpus, Memory: 1 << 30}, Started: started, Ended: ended}
	}
	l.add(job("alice", "lab", 2, now.Add(-2*time.Hour), now.Add(-time.Hour)), now)     // 2 cpus × 3600 s
	l.add(job("alice", "lab", 1, now.Add(-50*time.Hour), now.Add(-49*time.Hour)), now) // outside the window
	bobs := job("bob", "lab", 4, now.Add(-10*time.Minute), now.Add(-5*time.Minute))
	l.add(bobs, now)
	l.add(bobs, now) // its end came twice (where it happened, and on the bus): counted once
	running := []*api.Job{job("carol", "other", 1, now.Add(-100*time.Second), time.Time{})}

	users, groups := l.totals(now, running)
	if u := users["alice"]; u.CPUSeconds != 7200 || u.CPUs != 2 || u.Memory != 1<<30 {
		t.Errorf("alice = %+v; want 7200 cpu·s (the old job forgotten)", u)
	}
	if u := users["carol"]; u.CPUSeconds != 100 {
		t.Errorf("carol (running) = %+v; want 100 cpu·s so far", u)
	}
	if g := groups["lab"]; g.CPUSeconds != 7200+1200 || g.CPUs != 6 {
		t.Errorf("group lab = %+v", g)
	}
	// A day later alice's job has left the window.
	users, _ = l.totals(now.Add(24*time.Hour), nil)
	if _, ok := users["alice"]; ok {
		t.Errorf("alice's use is still counted after the window: %+v", users["alice"])
	}
}

func TestLedgerDecay(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	l := newLedger(30*24*time.Hour, 24*time.Hour)
	var id int64
	job := func(user string, endedAgo time.Duration) *api.Job {
		id++
		return &api.Job{ID: id, User: user, Group: "lab", Project: "bio", Spec: api.Spec{CPUs: 1}, Run: &api.Run{CPUs: 1, Memory: 1 << 30},
			Started: now.Add(-endedAgo - time.Hour), Ended: now.Add(-endedAgo)}
	}
	l.add(job("fresh", 0), now)
	l.add(job("day-old", 24*time.Hour), now)
	l.add(job("week-old", 7*24*time.Hour), now)
	users, _ := l.totals(now, nil)
	for user, want := range map[string]float64{"fresh": 3600, "day-old": 1800, "week-old": 3600.0 / 128} {
		if got := users[user].CPUSeconds; got < want*0.999 || got > want*1.001 {
			t.Errorf("%s: %v cpu·s; want %v (one hour, halved per day since it ended)", user, got, want)
		}
	}
	// Quotas do not decay: what was held in the period counts fully.
	byUser, byProject := l.held(now, now.Add(-48*time.Hour), nil, false)
	if byUser["day-old"].CPUSeconds != 3600 || byUser["week-old"].CPUSeconds != 0 || byProject["bio"].CPUSeconds != 7200 {
		t.Errorf("held since two days ago: users %v projects %v; want the two recent jobs, undecayed", byUser, byProject)
	}
	if got := byUser["fresh"].MemorySeconds; got != 3600*(1<<30) {
		t.Errorf("memory·seconds = %v; want 1G × 3600 s", got)
	}
}

// Time spent suspended counts for nothing: a job that ran 100 s, 60 of
// them suspended, used 40 cpu·s, for fair share and for quotas, whether
// it was resumed, ended suspended, or still runs.
func TestLedgerSuspendedTime(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	l := newLedger(24*time.Hour, 0)
	job := func(id int64, user string) *api.Job {
		return &api.Job{ID: id, User: user, Group: "lab", Project: "bio", Spec: api.Spec{CPUs: 1}, Run: &api.Run{CPUs: 1, Memory: 1 << 30},
			Started: now.Add(-100 * time.Second), Ended: now}
	}
	resumed := job(1, "resumed")
	resumed.SuspendedSeconds = 60
	endedSuspended := job(2, "ended-suspended") // killed while suspended for the last 60 s
	endedSuspended.SuspendedAt = now.Add(-60 * time.Second)
	running := job(3, "running") // suspended 50 s, then again for the last 10 s
	running.Ended, running.SuspendedSeconds, running.SuspendedAt = time.Time{}, 50, now.Add(-10*time.Second)
	l.add(resumed, now)
	l.add(endedSuspended, now)

	users, _ := l.totals(now, []*api.Job{running})
	byUser, byProject := l.held(now, now.Add(-time.Hour), []*api.Job{running}, false)
	for _, user := range []string{"resumed", "ended-suspended", "running"} {
		if got := users[user].CPUSeconds; got != 40 {
			t.Errorf("fair share: %s used %v cpu·s; want 40", user, got)
		}
		if got := byUser[user].CPUSeconds; got != 40 {
			t.Errorf("quota: %s used %v cpu·s; want 40", user, got)
		}
		if got := byUser[user].MemorySeconds; got != 40*(1<<30) {
			t.Errorf("quota: %s used %v memory·s; want 1G × 40 s", user, got)
		}
	}
	if got := byProject["bio"].CPUSeconds; got != 120 {
		t.Errorf("quota: project bio used %v cpu·s; want 3 × 40", got)
	}
}
