package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/config"
	"github.com/godocker/godocker/quota"
)

// do calls the API as c.
func (h *harness) do(c *caller, method, path, body string) (int, string) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req = req.WithContext(context.WithValue(req.Context(), callerKey, c))
	rec := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// must calls the API as c and fails the test unless it answers want.
func (h *harness) must(c *caller, method, path, body string, want int) string {
	h.t.Helper()
	code, out := h.do(c, method, path, body)
	if code != want {
		h.t.Fatalf("%s %s %s as %s: %d %s; want %d", method, path, body, c.User, code, out, want)
	}
	return out
}

// withVolume configures a read-write volume "ref" that nobody may mount
// on their own (its only user is nobody).
func withVolume(dir string) func(*config.Config) {
	return func(c *config.Config) {
		c.Volumes = []config.Volume{{Name: "ref", Path: dir, Mount: "/ref", ACL: "rw", Users: []string{"nobody"}}}
	}
}

func TestProjects(t *testing.T) {
	ref := t.TempDir()
	h := newHarness(t, withVolume(ref))
	ctx := context.Background()
	bio := `{"name":"bio","owner":"carol","members":["alice","@lab"],"priority":70,"volumes":["ref:ro"],"limit":{"cpus":1}}`

	// Only admins create projects; bad projects are refused and nothing is stored.
	if code, body := h.do(h.alice, "POST", "/api/v1/projects", bio); code != 403 || !strings.Contains(body, "only admins") {
		t.Errorf("alice creating a project: %d %s", code, body)
	}
	for _, bad := range []string{
		`{"name":"bio","priority":101}`,
		`{"name":"bio","volumes":["nosuch"]}`,
		`{"name":"x y"}`,
		`{"name":"bio","members":["a,b"]}`,
		`{"name":"bio","limit":{"cpus":-1}}`,
		`{"name":"bio","quota":{"cpu_seconds":-5}}`,
		`{"name":"bio","bogus":1}`,
	} {
		if code, body := h.do(h.admin, "POST", "/api/v1/projects", bad); code != 400 {
			t.Errorf("creating %s: %d %s; want 400", bad, code, body)
		}
	}
	if ps, _ := h.st.Projects(ctx); len(ps) != 0 {
		t.Fatalf("refused projects were stored: %v", ps)
	}
	h.must(h.admin, "POST", "/api/v1/projects", bio, 201)
	if code, body := h.do(h.admin, "POST", "/api/v1/projects", bio); code != 409 {
		t.Errorf("creating bio twice: %d %s", code, body)
	}
	var ps []*api.Project
	if err := json.Unmarshal([]byte(h.must(h.bob, "GET", "/api/v1/projects", "", 200)), &ps); err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Name != "bio" || ps[1].Name != "default" || ps[1].Priority != 50 || ps[0].Owner != "carol" {
		t.Errorf("projects = %+v; want bio and default (priority 50)", ps)
	}

	// Membership decides who may submit to it.
	in := func(project string, cpus int) api.Spec {
		s := script("x")
		s.Project, s.CPUs = project, cpus
		return s
	}
	if _, err := h.srv.submit(ctx, h.bob, in("bio", 1)); !errors.Is(err, api.ErrDenied) || !strings.Contains(err.Error(), "not a member of project bio") {
		t.Errorf("bob submitting to bio: %v; want denied", err)
	}
	if _, err := h.srv.submit(ctx, h.alice, in("nosuch", 1)); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), `project "nosuch" does not exist`) {
		t.Errorf("submitting to a missing project: %v", err)
	}
	// A member through a group: the caller's groups are looked up by id,
	// so make dave a member of a group this machine knows.
	g, ok := knownGroup()
	if !ok {
		t.Fatal("no group in /etc/group to test membership through a group")
	}
	dave := h.user("dave", 5004)
	if _, err := h.srv.submit(ctx, dave, in("bio", 1)); !errors.Is(err, api.ErrDenied) {
		t.Errorf("dave, in no group of bio's: %v; want denied", err)
	}
	h.must(h.admin, "PUT", "/api/v1/projects/bio", strings.Replace(bio, "@lab", "@"+g.name, 1), 200)
	dave = h.user("dave", 5004) // as looked up again once in the group
	dave.Groups = []int{g.id}
	held := in("bio", 1)
	held.Hold = true
	daves, err := h.srv.submit(ctx, dave, held)
	if err != nil {
		t.Fatalf("dave, in group %s, submitting to bio: %v", g.name, err)
	}
	if _, err := h.srv.submit(ctx, h.alice, in("bio", 2)); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "project bio may never hold more than 1 at once") {
		t.Errorf("a job over the project's limit: %v; want refused at submission", err)
	}

	// The project's volume is mounted, read-only as the project says,
	// though the volume's own users do not include alice.
	first := h.waitState(h.submit(h.alice, in("bio", 1)).ID, api.Running)
	var mounted *api.Mount
	for i, m := range first.Run.Mounts {
		if m.Target == "/ref" {
			mounted = &first.Run.Mounts[i]
		}
	}
	if mounted == nil || mounted.Source != ref || !mounted.ReadOnly {
		t.Errorf("mounts of a bio job = %+v; want %s at /ref read-only", first.Run.Mounts, ref)
	}
	if _, err := h.srv.submit(ctx, h.alice, api.Spec{Name: "j", Script: "x", Volumes: []string{"ref"}}); !errors.Is(err, api.ErrDenied) {
		t.Errorf("alice mounting ref outside the project: %v; want denied", err)
	}

	// The limit holds at run time: one cpu at once in bio.
	second := h.submit(h.alice, in("bio", 1))
	h.waitState(first.ID, api.Running)
	waiting := h.waitReason(second.ID, api.ReasonProjectLimit)
	if want := "project bio at its limit of 1 cpu (1 in use, the job needs 1)"; waiting.Reason.Message != want {
		t.Errorf("reason = %q; want %q", waiting.Reason.Message, want)
	}

	// A project with jobs cannot be removed.
	if code, body := h.do(h.admin, "DELETE", "/api/v1/projects/bio", ""); code != 409 || !strings.Contains(body, "jobs waiting or running") {
		t.Errorf("removing bio with jobs: %d %s", code, body)
	}

	// Lowering the limit under what a waiting job needs rejects it.
	h.must(h.admin, "PUT", "/api/v1/projects/bio", `{"members":["alice"],"limit":{"cpus":1,"memory":536870912}}`, 200)
	rejected := h.waitState(second.ID, api.Rejected)
	if rejected.Reason.Code != api.ReasonProjectLimit || !strings.Contains(rejected.Reason.Message, "may never hold more than 512M") {
		t.Errorf("rejected job's reason = %+v", rejected.Reason)
	}
	if code, _ := h.do(h.admin, "PUT", "/api/v1/projects/bio", `{"name":"other"}`); code != 400 {
		t.Errorf("renaming through PUT: %d; want 400", code)
	}

	// Once its jobs are over, it can go.
	h.finish(first.ID, 0)
	h.waitState(first.ID, api.Done)
	if _, err := h.srv.delete(ctx, dave, daves.ID); err != nil {
		t.Fatal(err)
	}
	h.must(h.admin, "DELETE", "/api/v1/projects/bio", "", 204)
	h.must(h.admin, "GET", "/api/v1/projects/bio", "", 404)

	// The default project can change but not go.
	h.must(h.admin, "PUT", "/api/v1/projects/default", `{"priority":80}`, 200)
	if body := h.must(h.bob, "GET", "/api/v1/projects/default", "", 200); !strings.Contains(body, `"priority":80`) {
		t.Errorf("default after change: %s", body)
	}
	if code, _ := h.do(h.admin, "DELETE", "/api/v1/projects/default", ""); code != 409 {
		t.Errorf("removing default: %d; want 409", code)
	}
	if code, _ := h.do(h.admin, "PUT", "/api/v1/projects/default", `{"quota":{"cpu_seconds":5}}`); code != 400 {
		t.Errorf("a quota on default: %d; want 400 (default has no quota)", code)
	}
}

// waitReason waits (bounded) for a pending job to carry reason code.
func (h *harness) waitReason(id int64, code string) *api.Job {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err := h.st.Job(context.Background(), id)
		if err != nil {
			h.t.Fatal(err)
		}
		if j.Reason.Code == code {
			return j
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("job %d is %s with reason %+v; want reason %s", id, j.State, j.Reason, code)
		}
		h.srv.poke()
		time.Sleep(20 * time.Millisecond)
	}
}

type group struct {
	name string
	id   int
}

// knownGroup returns a group of this machine other than root's.
func knownGroup() (group, bool) {
	b, err := os.ReadFile("/etc/group")
	if err != nil {
		return group{}, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 3 || f[0] == "root" {
			continue
		}
		var id int
		if _, err := fmt.Sscan(f[2], &id); err == nil && id > 0 {
			return group{f[0], id}, true
		}
	}
	return group{}, false
}

func TestQuotas(t *testing.T) {
	const period = 3 * time.Second
	h := newHarness(t, func(c *config.Config) { c.Scheduler.UserResetUsageDuration = config.Duration(period) })
	ctx := context.Background()

	// Users may not give themselves budgets, or change priorities.
	if code, _ := h.do(h.alice, "PUT", "/api/v1/accounts/alice", `{"priority":100}`); code != 403 {
		t.Errorf("alice changing her own account: %d; want 403", code)
	}
	for _, bad := range []string{`{"priority":101}`, `{"quota":{"cpu_seconds":-1}}`, `{"user":"bob"}`} {
		if code, _ := h.do(h.admin, "PUT", "/api/v1/accounts/alice", bad); code != 400 {
			t.Errorf("account %s: %d; want 400", bad, code)
		}
	}
	if as, _ := h.st.Accounts(ctx); len(as) != 0 {
		t.Fatalf("refused accounts were stored: %+v", as)
	}

	// A job of alice's waits behind bob's, which fills the node.
	b := h.fillNode(h.bob)
	queued := h.submit(h.alice, script("x"))

	// Start well inside a period, so that the period does not end
	// between the refusal and its check.
	start, resets := quota.Period(time.Now(), period)
	if time.Until(resets) < period/2 {
		time.Sleep(time.Until(resets))
		start, resets = quota.Period(time.Now(), period)
	}
	time.Sleep(time.Until(start.Add(100 * time.Millisecond))) // 100 ms × 1000 cpus > 36 cpu·s
	// alice spent 0.01 cpu·h (36 cpu·s) in this period: 1000 cpus since it started.
	h.must(h.admin, "PUT", "/api/v1/accounts/alice", `{"priority":50,"quota":{"cpu_seconds":36}}`, 200)
	h.srv.ledger.add(&api.Job{ID: 1099511627777, User: "alice", Group: "alice", Project: "default", Spec: api.Spec{CPUs: 1000}, Run: &api.Run{CPUs: 1000},
		Started: start, Ended: time.Now()}, time.Now())

	_, err := h.srv.submit(ctx, h.alice, script("x"))
	want := "user alice has spent its cpu quota of 0.01h"
	when := "it resets at " + resets.Format("2006-01-02 15:04 MST")
	if !errors.Is(err, api.ErrUnavailable) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), when) {
		t.Errorf("alice submitting over her quota: %v; want unavailable, %q, %q", err, want, when)
	}
	if _, err := h.srv.submit(ctx, h.bob, script("x")); err != nil {
		t.Errorf("bob, who has no quota: %v", err)
	}
	// Her queued job waits for the quota, not for resources, even once
	// the node is free.
	h.finish(b.ID, 0)
	h.waitState(b.ID, api.Done)
	waiting := h.waitReason(queued.ID, api.ReasonQuota)
	if waiting.State != api.Pending || !strings.Contains(waiting.Reason.Message, want) {
		t.Errorf("queued job: %s %+v", waiting.State, waiting.Reason)
	}

	var rep api.QuotaReport
	if err := json.Unmarshal([]byte(h.must(h.bob, "GET", "/api/v1/quotas", "", 200)), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Quotas) != 1 || rep.Quotas[0].Name != "alice" || rep.Quotas[0].Used.CPUSeconds < 36 || !rep.Resets.Equal(resets) {
		t.Errorf("quota report = %+v; want alice's budget, spent, resetting at %v", rep, resets)
	}

	// The period ends: the budget is whole again, her job runs and she
	// may submit.
	time.Sleep(time.Until(resets))
	h.srv.poke()
	h.waitState(queued.ID, api.Running)
	if _, err := h.srv.submit(ctx, h.alice, script("x")); err != nil {
		t.Errorf("alice after the reset: %v", err)
	}
}

func TestKillOnLimit(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Limits.KillOnLimit = true })
	run := h.submit(h.alice, script("sleep"))
	other := h.submit(h.bob, script("sleep"))
	h.waitState(run.ID, api.Running)
	h.waitState(other.ID, api.Running)
	h.must(h.admin, "PUT", "/api/v1/accounts/alice", `{"priority":50,"quota":{"cpu_seconds":1}}`, 200)
	start, _ := h.srv.period(time.Now())
	h.srv.ledger.add(&api.Job{ID: 1099511627778, User: "alice", Spec: api.Spec{CPUs: 1000}, Started: start, Ended: time.Now()}, time.Now())
	h.srv.poke()
	killed := h.waitState(run.ID, api.Killed)
	if killed.Reason.Code != api.ReasonQuota || !strings.Contains(killed.Reason.Message, "kill_on_limit") {
		t.Errorf("killed job's reason = %+v", killed.Reason)
	}
	if j, _ := h.st.Job(context.Background(), other.ID); j.State != api.Running {
		t.Errorf("bob's job is %s; only alice's budget is spent", j.State)
	}
}

func TestUsageReport(t *testing.T) {
	h := newHarness(t, nil)
	now := time.Now()
	h.srv.ledger.add(&api.Job{ID: 1099511627779, User: "alice", Group: "alice", Project: "default", Spec: api.Spec{CPUs: 3}, Run: &api.Run{CPUs: 3, Memory: gib},
		Started: now.Add(-2 * time.Hour), Ended: now.Add(-time.Hour)}, now)
	h.srv.ledger.add(&api.Job{ID: 1099511627780, User: "bob", Group: "bob", Project: "default", Spec: api.Spec{CPUs: 1}, Run: &api.Run{CPUs: 1, Memory: gib},
		Started: now.Add(-2 * time.Hour), Ended: now.Add(-time.Hour)}, now)
	run := h.submit(h.bob, script("sleep"))
	h.waitState(run.ID, api.Running)
	h.must(h.admin, "PUT", "/api/v1/accounts/alice", `{"priority":90}`, 200)

	var rep api.UsageReport
	if err := json.Unmarshal([]byte(h.must(h.bob, "GET", "/api/v1/usage", "", 200)), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Users) != 2 {
		t.Fatalf("users = %+v", rep.Users)
	}
	alice, bob := rep.Users[0], rep.Users[1]
	if alice.Name != "alice" || alice.Used.CPUSeconds != 3*3600 || alice.Priority != 90 || alice.Running != 0 {
		t.Errorf("alice = %+v; want 3 cpu·h, priority 90", alice)
	}
	// bob: 1 cpu·h, and the job running now (a moment of it).
	if bob.Name != "bob" || bob.Used.CPUSeconds < 3600 || bob.Running != 1 || bob.CPUs != 1 || bob.Memory != gib {
		t.Errorf("bob = %+v; want 1 cpu·h and one running job of 1 cpu, 1G", bob)
	}
	if s := alice.Share + bob.Share; s < 0.999 || s > 1.001 || alice.Share < 0.7 || alice.Share > 0.75 {
		t.Errorf("shares alice %.3f bob %.3f; want about 3/4 and 1/4", alice.Share, bob.Share)
	}
	if len(rep.Projects) != 1 || rep.Projects[0].Name != "default" || rep.Projects[0].Running != 1 {
		t.Errorf("projects = %+v", rep.Projects)
	}
}
