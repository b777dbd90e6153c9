package cli

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
)

// gctl status lists the live processes, their roles, and marks the one
// that schedules.
func TestGctlStatus(t *testing.T) {
	f := newFake("alice")
	now := time.Now().UTC()
	f.status = api.Status{Leader: "h2:20:b", Processes: []api.Process{
		{ID: "h1:10:a", Host: "h1", PID: 10, Roles: []string{"api", "watcher"}, Started: now.Add(-time.Hour), Seen: now.Add(-2 * time.Second)},
		{ID: "h2:20:b", Host: "h2", PID: 20, Roles: []string{"api", "scheduler", "watcher", "sshgw"}, Started: now.Add(-time.Minute), Seen: now},
	}}
	out := gctlOK(t, f, "status")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "PROCESS") {
		t.Fatalf("gctl status:\n%s", out)
	}
	if !regexp.MustCompile(`^h1:10:a +h1 +10 +api,watcher +\S+ \S+ +2s ago *$`).MatchString(lines[1]) {
		t.Errorf("follower's line: %q", lines[1])
	}
	if !regexp.MustCompile(`^h2:20:b +h2 +20 +api,scheduler,watcher,sshgw +\S+ \S+ +0s ago +\*$`).MatchString(lines[2]) {
		t.Errorf("leader's line: %q", lines[2])
	}

	f.status.Leader = ""
	if out := gctlOK(t, f, "status"); !strings.Contains(out, "no process leads: no job is being scheduled") {
		t.Errorf("gctl status without a leader:\n%s", out)
	}
	if r := gctl(f, "status", "extra"); r.code != 2 {
		t.Errorf("gctl status extra: exit %d", r.code)
	}
}
