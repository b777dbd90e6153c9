package server

import (
	"testing"
	"time"

	"github.com/godocker/godocker/api"
)

func TestLedger(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	l := newLedger(24 * time.Hour)
	job := func(user, group string, cpus int, started, ended time.Time) *api.Job {
		return &api.Job{User: user, Group: group, Spec: api.Spec{CPUs: cpus, Memory: 1 << 30}, Run: &api.Run{CPUs: cpus, Memory: 1 << 30}, Started: started, Ended: ended}
	}
	l.add(job("alice", "lab", 2, now.Add(-2*time.Hour), now.Add(-time.Hour)), now)     // 2 cpus × 3600 s
	l.add(job("alice", "lab", 1, now.Add(-50*time.Hour), now.Add(-49*time.Hour)), now) // outside the window
	l.add(job("bob", "lab", 4, now.Add(-10*time.Minute), now.Add(-5*time.Minute)), now)
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
