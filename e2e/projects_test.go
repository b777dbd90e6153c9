package e2e

import (
	"regexp"
	"strings"
	"testing"

	"github.com/godocker/godocker/api"
)

// TestProjectsAndQuotas: root manages a project and a quota with gctl;
// the members, the refusals and the budget hold for real users, real
// containers and real commands.
func TestProjectsAndQuotas(t *testing.T) {
	refdata := t.TempDir()
	s := startServer(t, "volumes:\n  - name: refdata\n    path: "+refdata+"\n    mount: /refdata\n    acl: ro\n    users: [nobody]\n")
	alice, bob := lookup(t, "gdtest-alice"), lookup(t, "gdtest-bob")
	root := account{name: "root", uid: 0, gid: 0, home: "/root"}

	if r := s.run(alice, "", "gctl", "project", "add", "bio", "--members", "gdtest-alice"); r.code != 1 || !strings.Contains(r.stderr, "only admins") {
		t.Errorf("alice adding a project: %d %q", r.code, r.stderr)
	}
	if r := s.run(root, "", "gctl", "project", "add", "bio", "--owner", "carol", "--members", "gdtest-alice", "--volumes", "refdata", "--max-cpus", "1"); r.code != 0 {
		t.Fatalf("gctl project add: %d %s%s", r.code, r.stdout, r.stderr)
	}
	r := s.run(bob, "", "gctl", "project", "list")
	if r.code != 0 || !regexp.MustCompile(`(?m)^bio +50 +carol +gdtest-alice +cpus=1 +refdata$`).MatchString(r.stdout) {
		t.Errorf("gctl project list:\n%s%s", r.stdout, r.stderr)
	}

	// A member's job mounts the project's volume; a stranger is refused.
	id := s.submit(alice, "ls -d /refdata\n", "-P", "bio")
	if j := s.waitState(id, api.Done); readFile(t, j.Stdout) != "/refdata\n" {
		t.Errorf("a bio job does not see the project's volume: %q %q", readFile(t, j.Stdout), readFile(t, j.Stderr))
	}
	if r := s.run(bob, "true\n", "gsub", "-P", "bio"); r.code != 1 || !strings.Contains(r.stderr, "not a member of project bio") {
		t.Errorf("bob submitting to bio: %d %q", r.code, r.stderr)
	}
	if r := s.run(alice, "true\n", "gsub", "-P", "bio", "-pe", "smp", "2"); r.code != 1 || !strings.Contains(r.stderr, "may never hold more than 1") {
		t.Errorf("a job larger than the project's limit: %d %q", r.code, r.stderr)
	}

	// bob's budget: 0.0001 cpu·h (0.36 cpu·s); a second-long job spends it.
	if r := s.run(root, "", "gctl", "quota", "set", "-u", "gdtest-bob", "--cpu", "0.0001"); r.code != 0 {
		t.Fatalf("gctl quota set: %d %s%s", r.code, r.stdout, r.stderr)
	}
	s.waitState(s.submit(bob, "sleep 1\n"), api.Done)
	r = s.run(bob, "true\n", "gsub")
	if r.code != 25 || !strings.Contains(r.stderr, "user gdtest-bob has spent its cpu quota of 0.0001h") || !strings.Contains(r.stderr, "it resets at ") {
		t.Errorf("bob over his quota: exit %d %q; want 25 and which budget, and when it resets", r.code, r.stderr)
	}
	if r := s.run(bob, "", "gctl", "quota", "show"); r.code != 0 || !strings.Contains(r.stdout, "user gdtest-bob") || !strings.Contains(r.stdout, "spent") {
		t.Errorf("gctl quota show:\n%s%s", r.stdout, r.stderr)
	}
	if r := s.run(alice, "true\n", "gsub", "-terse"); r.code != 0 {
		t.Errorf("alice, who has no quota: %d %q", r.code, r.stderr)
	}
	if r := s.run(bob, "", "gctl", "usage", "-u", "gdtest-bob"); r.code != 0 || !strings.Contains(r.stdout, "gdtest-bob") {
		t.Errorf("gctl usage -u gdtest-bob:\n%s%s", r.stdout, r.stderr)
	}

	// Removing the budget lets him submit again.
	s.run(root, "", "gctl", "quota", "set", "-u", "gdtest-bob", "--cpu", "0")
	if r := s.run(bob, "true\n", "gsub", "-terse"); r.code != 0 {
		t.Errorf("bob after his quota is lifted: %d %q", r.code, r.stderr)
	}
}
