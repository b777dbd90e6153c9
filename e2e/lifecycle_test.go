package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
)

// TestSuspendResumeRequeue: gctl suspend really stops the process (a
// counter it writes stops advancing), resume lets it go on, and a failed
// job requeued runs again under the same id, its first output kept.
func TestSuspendResumeRequeue(t *testing.T) {
	s := startServer(t, "")
	alice, bob := lookup(t, "gdtest-alice"), lookup(t, "gdtest-bob")
	id := s.submit(alice, "i=0; while :; do i=$((i+1)); echo $i > count; sleep 0.1; done\n")
	j := s.waitState(id, api.Running)
	count := filepath.Join(j.Dir, "count")
	read := func() int {
		b, _ := os.ReadFile(count)
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return n
	}
	s.wait(id, 30*time.Second, "counting", func(*api.Job) bool { return read() > 3 })
	ids := strconv.FormatInt(id, 10)
	if r := s.run(bob, "", "gctl", "suspend", ids); r.code == 0 {
		t.Errorf("bob suspended alice's job: %q", r.stdout)
	}
	if r := s.run(alice, "", "gctl", "suspend", ids); r.code != 0 {
		t.Fatalf("gctl suspend: %d %s%s", r.code, r.stdout, r.stderr)
	}
	time.Sleep(300 * time.Millisecond) // a write in flight lands
	frozen := read()
	time.Sleep(time.Second)
	if n := read(); n != frozen {
		t.Errorf("the counter went from %d to %d while suspended", frozen, n)
	}
	if r := s.run(alice, "", "gstat"); !regexp.MustCompile(`(?m)^ *` + ids + ` .* s `).MatchString(r.stdout) {
		t.Errorf("gstat does not show the job suspended (s):\n%s", r.stdout)
	}
	if r := s.run(alice, "", "gctl", "resume", ids); r.code != 0 {
		t.Fatalf("gctl resume: %d %s%s", r.code, r.stdout, r.stderr)
	}
	s.wait(id, 30*time.Second, "counting again", func(*api.Job) bool { return read() > frozen+3 })
	s.run(alice, "", "gdel", ids)
	s.waitState(id, api.Killed)

	// A job that fails, requeued, runs again under the same id.
	id = s.submit(alice, "echo attempt; test -e again\n")
	failed := s.waitState(id, api.Failed)
	if err := os.WriteFile(filepath.Join(failed.Dir, "again"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := s.run(alice, "", "gctl", "requeue", strconv.FormatInt(id, 10)); r.code != 0 {
		t.Fatalf("gctl requeue: %d %s%s", r.code, r.stdout, r.stderr)
	}
	done := s.wait(id, 60*time.Second, "done, second attempt", func(j *api.Job) bool { return j.State == api.Done })
	if done.Attempt != 2 || len(done.Attempts) != 1 || done.Attempts[0].State != api.Failed {
		t.Errorf("attempt %d, attempts %+v; want the second, after a failed first", done.Attempt, done.Attempts)
	}
	if got := readFile(t, filepath.Join(done.Dir, "stdout.1")); got != "attempt\n" {
		t.Errorf("first attempt's output kept: %q", got)
	}
}

// TestDependenciesAndWalltime: afterok/afternotok chains after a parent
// that fails, -hold_jid, and -l h_rt=5 killing a sleep 60.
func TestDependenciesAndWalltime(t *testing.T) {
	s := startServer(t, "")
	alice := lookup(t, "gdtest-alice")
	parent := s.submit(alice, "sleep 1; exit 2\n")
	p := strconv.FormatInt(parent, 10)
	ok := s.submit(alice, "true\n", "--dependency", "afterok:"+p)
	notok := s.submit(alice, "true\n", "--dependency", "afternotok:"+p)
	anyway := s.submit(alice, "true\n", "-hold_jid", p)
	chained := s.submit(alice, "true\n", "--dependency", "afterok:"+strconv.FormatInt(notok, 10))
	wall := s.submit(alice, "sleep 60\n", "-l", "h_rt=5")

	par := s.waitState(parent, api.Failed)
	if j := s.waitState(ok, api.Failed); j.Reason.Code != api.ReasonDependencyNeverSatisfied {
		t.Errorf("afterok on a failed parent: %+v", j.Reason)
	} else if !j.Started.IsZero() {
		t.Errorf("afterok on a failed parent started at %v", j.Started)
	}
	done := map[int64]*api.Job{}
	for _, id := range []int64{notok, anyway, chained} {
		done[id] = s.waitState(id, api.Done)
	}
	// Each started only once what it waited for had ended.
	for _, c := range []struct {
		what     string
		job, was *api.Job
	}{
		{"afternotok", done[notok], par},
		{"-hold_jid", done[anyway], par},
		{"afterok on the afternotok job", done[chained], done[notok]},
	} {
		if c.was.Ended.IsZero() || c.job.Started.Before(c.was.Ended) {
			t.Errorf("%s: job %d started at %v, before job %d ended at %v", c.what, c.job.ID, c.job.Started, c.was.ID, c.was.Ended)
		}
	}
	j := s.waitState(wall, api.Killed)
	if j.Reason.Code != api.ReasonWalltime {
		t.Errorf("h_rt=5: %+v", j.Reason)
	}
	if ran := j.Ended.Sub(j.Started); ran < 5*time.Second || ran > 15*time.Second {
		t.Errorf("the h_rt=5 job ran %v", ran)
	}
}
