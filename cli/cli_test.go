package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/client"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestMain(m *testing.M) {
	time.Local = time.UTC // the golden files are in UTC
	os.Exit(m.Run())
}

// fake is an in-memory godockerd for the commands' tests: their subject is
// parsing and printing, not the server.
type fake struct {
	mu      sync.Mutex
	me      string
	jobs    map[int64]*api.Job
	next    int64
	specs   []api.Spec
	deleted []api.JobRef
	submitE error
	events  chan api.Event
	maint   api.Maintenance
	admin   bool
	gateway string // what Info says of the SSH gateway
	status  api.Status

	// Projects (the default one always there), accounts, and the canned
	// reports of Quotas and Usage.
	projects map[string]*api.Project
	accounts map[string]*api.Account
	quotas   api.QuotaReport
	usage    api.UsageReport
	// What was written, in order, for the tests to assert.
	projectWrites  []api.Project // CreateProject and UpdateProject
	accountWrites  []api.Account // PutAccount
	removedProject []string      // DeleteProject
	controls       []string      // Control: "hold 12"
	alters         []alterCall   // Alter

	keys []*api.Key // registered SSH keys (fake_keys_test.go)
}

// alterCall is one Alter the fake received.
type alterCall struct {
	ref api.JobRef
	a   api.Alter
}

func newFake(me string, jobs ...*api.Job) *fake {
	f := &fake{me: me, jobs: map[int64]*api.Job{}, next: 100,
		projects: map[string]*api.Project{api.DefaultProject: {Name: api.DefaultProject, Priority: api.DefaultPriority}},
		accounts: map[string]*api.Account{},
	}
	for _, j := range jobs {
		f.jobs[j.ID] = j
	}
	return f
}

func (f *fake) Submit(_ context.Context, spec api.Spec) (*api.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.submitE != nil {
		return nil, f.submitE
	}
	f.specs = append(f.specs, spec)
	f.next++
	j := &api.Job{ID: f.next, Name: spec.Name, User: f.me, State: api.Pending, Spec: spec}
	if spec.Array != nil {
		j.Tasks = &api.Tasks{Next: spec.Array.First}
	}
	f.jobs[j.ID] = j
	return j.Clone(), nil
}

// find returns the job ref names, as godockerd resolves it: a job or an
// array by its id, a task by its array's id and its number (a task's own
// id names nothing). A task of an array not created yet is a conflict,
// anything else not found. Call with f.mu held.
func (f *fake) find(ref api.JobRef) (*api.Job, error) {
	if ref.Task == 0 {
		if j, ok := f.jobs[ref.ID]; ok && j.ArrayID == 0 {
			return j, nil
		}
		return nil, api.NotFound(fmt.Sprintf("job %s does not exist", ref))
	}
	for _, j := range f.jobs {
		if j.ArrayID == ref.ID && j.TaskID == ref.Task {
			return j, nil
		}
	}
	if a, ok := f.jobs[ref.ID]; ok && a.Tasks != nil && a.Spec.Array.Has(ref.Task) && ref.Task >= a.Tasks.Next {
		return nil, api.Conflict(fmt.Sprintf("task %s has not started yet: act on the whole array (%d) or wait", ref, ref.ID))
	}
	return nil, api.NotFound(fmt.Sprintf("job %s does not exist", ref))
}

func (f *fake) Job(_ context.Context, ref api.JobRef) (*api.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, err := f.find(ref)
	if err != nil {
		return nil, err
	}
	return j.Clone(), nil
}

func (f *fake) Jobs(_ context.Context, q client.Query) ([]*api.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*api.Job
	for _, j := range f.jobs {
		users := q.Users
		if len(users) == 0 {
			users = []string{f.me}
		}
		if !slices.Contains(users, "*") && !slices.Contains(users, j.User) {
			continue
		}
		if len(q.States) > 0 && !slices.Contains(q.States, j.State) {
			continue
		}
		out = append(out, j.Clone())
	}
	slices.SortFunc(out, func(a, b *api.Job) int { return int(a.ID - b.ID) })
	return out, nil
}

func (f *fake) Delete(_ context.Context, ref api.JobRef) (*api.DeleteResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, err := f.find(ref)
	switch {
	case err != nil:
		return nil, err
	case j.User != f.me:
		return nil, api.Denied("not yours")
	case j.State.Finished():
		return nil, api.Conflict("finished")
	}
	f.deleted = append(f.deleted, ref)
	res := &api.DeleteResult{ID: ref.ID, Action: api.ActionDeleted, User: f.me}
	if j.Tasks != nil {
		// An array: no more tasks; its running ones are killed.
		a := j.Spec.Array
		if j.Tasks.Next <= a.Last {
			j.Tasks.Failed += (a.Last-j.Tasks.Next)/a.Step + 1
			j.Tasks.Next = a.Last + 1
		}
		for _, t := range f.jobs {
			if t.ArrayID == j.ID && t.State.Active() {
				t.Deleting, res.Action = true, api.ActionRegistered
			}
		}
		if res.Action == api.ActionDeleted {
			j.State = api.Cancelled
		}
		return res, nil
	}
	if j.State.Active() {
		j.Deleting, res.Action = true, api.ActionRegistered
		return res, nil
	}
	j.State = api.Cancelled
	return res, nil
}

func (f *fake) Events(ctx context.Context, _ ...int64) (<-chan api.Event, error) {
	if f.events != nil {
		return f.events, nil
	}
	return make(chan api.Event), nil
}

func (f *fake) Maintenance(context.Context) (*api.Maintenance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.maint
	return &m, nil
}

func (f *fake) SetMaintenance(_ context.Context, m api.Maintenance) (*api.Maintenance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.admin {
		return nil, api.Denied(f.me + " may not change maintenance mode: only admins may")
	}
	f.maint = m
	return &m, nil
}

func (f *fake) Whoami(context.Context) (*api.Identity, error) {
	return &api.Identity{User: f.me}, nil
}

func (f *fake) Status(context.Context) (*api.Status, error) {
	st := f.status
	return &st, nil
}

func (f *fake) Info(context.Context) (*api.ServerInfo, error) {
	return &api.ServerInfo{SSHGateway: f.gateway}, nil
}

// writes is how many changes reached the fake server.
func (f *fake) writes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.projectWrites) + len(f.accountWrites) + len(f.removedProject)
}

// mayChange is the server's authorization, as the commands see it.
func (f *fake) mayChange(what string) error {
	if !f.admin {
		return api.Denied(fmt.Sprintf("%s may not change %s: only admins may", f.me, what))
	}
	return nil
}

func (f *fake) Projects(context.Context) ([]*api.Project, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*api.Project
	for _, p := range f.projects {
		out = append(out, p.Clone())
	}
	slices.SortFunc(out, func(a, b *api.Project) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (f *fake) Project(_ context.Context, name string) (*api.Project, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.projects[name]
	if !ok {
		return nil, api.NotFound(fmt.Sprintf("project %q does not exist", name))
	}
	return p.Clone(), nil
}

func (f *fake) CreateProject(_ context.Context, p api.Project) (*api.Project, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.mayChange("projects"); err != nil {
		return nil, err
	}
	if _, ok := f.projects[p.Name]; ok {
		return nil, api.Conflict(fmt.Sprintf("project %q already exists", p.Name))
	}
	f.projectWrites = append(f.projectWrites, *p.Clone())
	f.projects[p.Name] = p.Clone()
	return p.Clone(), nil
}

func (f *fake) UpdateProject(_ context.Context, p api.Project) (*api.Project, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.mayChange("projects"); err != nil {
		return nil, err
	}
	if _, ok := f.projects[p.Name]; !ok {
		return nil, api.NotFound(fmt.Sprintf("project %q does not exist", p.Name))
	}
	f.projectWrites = append(f.projectWrites, *p.Clone())
	f.projects[p.Name] = p.Clone()
	return p.Clone(), nil
}

func (f *fake) DeleteProject(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.mayChange("projects"); err != nil {
		return err
	}
	if _, ok := f.projects[name]; !ok {
		return api.NotFound(fmt.Sprintf("project %q does not exist", name))
	}
	if name == api.DefaultProject {
		return api.Invalid("the default project cannot be removed")
	}
	f.removedProject = append(f.removedProject, name)
	delete(f.projects, name)
	return nil
}

func (f *fake) Accounts(context.Context) ([]*api.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*api.Account
	for _, a := range f.accounts {
		c := *a
		out = append(out, &c)
	}
	slices.SortFunc(out, func(a, b *api.Account) int { return strings.Compare(a.User, b.User) })
	return out, nil
}

func (f *fake) Account(_ context.Context, user string) (*api.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a, ok := f.accounts[user]; ok {
		c := *a
		return &c, nil
	}
	return &api.Account{User: user, Priority: api.DefaultPriority}, nil
}

func (f *fake) PutAccount(_ context.Context, a api.Account) (*api.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.mayChange("accounts"); err != nil {
		return nil, err
	}
	f.accountWrites = append(f.accountWrites, a)
	c := a
	f.accounts[a.User] = &c
	return &a, nil
}

func (f *fake) Usage(context.Context) (*api.UsageReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.usage
	return &u, nil
}

func (f *fake) Quotas(context.Context) (*api.QuotaReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.quotas
	return &q, nil
}

var t0 = time.Date(2026, 11, 23, 10, 1, 2, 0, time.UTC)

func exitCode(n int) *int { return &n }

// sampleJobs cover every state letter and the columns' truncation.
func sampleJobs() []*api.Job {
	return []*api.Job{
		{ID: 12, Name: "align-reads-chr1", User: "alice", State: api.Running, Executor: "docker", Node: "node1",
			Submitted: t0, Started: t0.Add(time.Minute), Spec: api.Spec{CPUs: 4}, Attempt: 1},
		{ID: 13, Name: "arr", User: "alice", State: api.Pending, Submitted: t0.Add(2 * time.Minute),
			Reason:   api.Reason{Code: api.ReasonResources, Message: "needs 4 cpus and 1G memory; the largest free node has 0 cpus and 7G memory"},
			Priority: api.Priority{Value: 0.61875, Parts: []api.PriorityPart{{Name: "waiting_time", Weight: 0.5, Factor: 0.8}, {Name: "user_time", Weight: 0.3, Factor: -0.27083}}}},
		{ID: 14, Name: "held", User: "alice", State: api.Held, Submitted: t0, Spec: api.Spec{Priority: -100}},
		{ID: 15, Name: "deleting", User: "alice", State: api.Running, Deleting: true, Executor: "docker", Node: "node1", Submitted: t0, Started: t0},
		{ID: 1234567, Name: "longuser", User: "a-very-long-user-name", State: api.Suspended, Executor: "docker", Node: "node2", Submitted: t0, Started: t0},
		{ID: 16, Name: "done", User: "alice", State: api.Done, Executor: "docker", Node: "node1", Submitted: t0, Started: t0, Ended: t0.Add(time.Hour), ExitCode: exitCode(0)},
	}
}

func detailedJob() *api.Job {
	return &api.Job{
		ID: 42, Name: "blast", User: "alice", UID: 1000, GID: 1000, Group: "alice", Project: "default",
		State: api.Failed, Reason: api.Reason{Code: api.ReasonExit, Message: "exited with code 3"},
		Spec: api.Spec{
			Image: "godocker/base:latest", Script: "#!/bin/sh\nexit 3\n", ScriptName: "blast.sh", Args: []string{"a", "b"},
			CPUs: 2, Memory: 4 << 30, Walltime: 3600, Env: map[string]string{"B": "2", "A": "1"},
			SubmitDir: "/home/alice/work", SubmitHost: "login1", SubmitEnv: map[string]string{"HOME": "/home/alice", "PATH": "/usr/bin:/bin", "LOGNAME": "alice", "SHELL": "/bin/bash"},
		},
		Dir: "/var/lib/godocker/jobs/alice/42", Stdout: "/var/lib/godocker/jobs/alice/42/stdout", Stderr: "/var/lib/godocker/jobs/alice/42/stderr",
		Submitted: t0, Started: t0.Add(time.Second), Ended: t0.Add(time.Hour), Attempt: 1, Executor: "docker", Node: "node1",
		ExitCode: exitCode(3), Usage: api.Usage{WallSeconds: 3599, CPUSeconds: 7000, MaxMemory: 3 << 30},
	}
}

// golden compares got with testdata/NAME.golden (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cli -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n--- got\n%s--- want\n%s", name, path, got, want)
	}
}

type run struct {
	code           int
	stdout, stderr string
}

func gstat(f *fake, args ...string) run {
	var out, errb bytes.Buffer
	code := Gstat(context.Background(), f, args, &out, &errb)
	return run{code, out.String(), errb.String()}
}

func gdel(f *fake, args ...string) run {
	var out, errb bytes.Buffer
	code := Gdel(context.Background(), f, args, &out, &errb)
	return run{code, out.String(), errb.String()}
}

func gsub(f *fake, stdin string, args ...string) run {
	var out, errb bytes.Buffer
	code := Gsub(context.Background(), f, args, strings.NewReader(stdin), &out, &errb)
	return run{code, out.String(), errb.String()}
}

func TestGstatTable(t *testing.T) {
	f := newFake("alice", sampleJobs()...)
	r := gstat(f, "-u", "*")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	golden(t, "gstat-table", r.stdout)
	for _, line := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")[2:] {
		// Grid Engine's parsers split on blanks: column 5 is the state.
		if f := strings.Fields(line); len(f) < 5 || !strings.ContainsAny(f[4], "qrhsdz") {
			t.Errorf("row %q: column 5 is not a state", line)
		}
	}
	// Default: the caller's unfinished jobs only.
	r = gstat(f)
	if strings.Contains(r.stdout, "longuser") || strings.Contains(r.stdout, " done ") {
		t.Errorf("default gstat shows others' or finished jobs:\n%s", r.stdout)
	}
	golden(t, "gstat-finished", gstat(f, "-s", "z").stdout)
	golden(t, "gstat-r", gstat(f, "-r").stdout)
	golden(t, "gstat-ext", gstat(f, "-ext").stdout)
}

// gstat -ext, the wide view, shows each job's project and, for a job that
// waits, the code of why in a column of its own.
func TestGstatExtReason(t *testing.T) {
	jobs := sampleJobs()
	for _, j := range jobs {
		j.Project = "default"
		if j.ID == 13 {
			j.Project = "bio"
		}
	}
	f := newFake("alice", jobs...)
	r := gstat(f, "-ext")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) < 3 || len(lines[1]) != len(lines[0])-1 {
		t.Fatalf("header and dashes do not match:\n%s", r.stdout)
	}
	col := strings.Index(lines[0], "reason")
	reasons := map[string]string{}
	for _, line := range lines[2:] {
		f := strings.Fields(line)
		reasons[f[0]] = strings.TrimSpace(line[col : col+20])
		if want := map[bool]string{true: "bio", false: "default"}[f[0] == "13"]; f[4] != want {
			t.Errorf("row %q: column 5 is %q, not the project %q", line, f[4], want)
		}
	}
	for id, want := range map[string]string{"12": "-", "13": api.ReasonResources} {
		if reasons[id] != want {
			t.Errorf("job %s: reason column %q; want %q\n%s", id, reasons[id], want, r.stdout)
		}
	}
}

// gstat -q lists the jobs of some executors (Grid Engine's queues), and
// the queue column says where each one runs.
func TestGstatQueue(t *testing.T) {
	jobs := sampleJobs()
	for _, j := range jobs {
		if j.ID == 1234567 || j.ID == 13 {
			j.Executor = "swarm"
		}
	}
	f := newFake("alice", jobs...)
	var ids []int64
	r := gstat(f, "-u", "*", "-q", "swarm")
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n")[2:] {
		fields := strings.Fields(line)
		id, _ := strconv.ParseInt(fields[0], 10, 64)
		ids = append(ids, id)
		if id == 1234567 && !strings.Contains(line, " swarm@node2 ") {
			t.Errorf("the suspended job's row has no queue swarm@node2: %q", line)
		}
	}
	if r.code != 0 || !slices.Equal(ids, []int64{13, 1234567}) {
		t.Errorf("gstat -u '*' -q swarm: exit %d, jobs %v, want [13 1234567]:\n%s%s", r.code, ids, r.stdout, r.stderr)
	}
	if r := gstat(f, "-u", "*", "-q", "kube,nope"); r.code != 0 || r.stdout != "" {
		t.Errorf("gstat -q of executors with no jobs: exit %d, %q; want nothing", r.code, r.stdout)
	}
	placed := 0
	for _, j := range jobs {
		if j.Executor != "" {
			placed++
		}
	}
	if r := gstat(f, "-u", "*", "-s", "a", "-q", "docker", "-q", "swarm", "--json"); strings.Count(r.stdout, `"executor"`) != placed-1 { // less the finished one
		t.Errorf("gstat -q docker -q swarm --json: want the %d unfinished jobs that have an executor:\n%s", placed-1, r.stdout)
	}
}

func TestGstatEmptyPrintsNothing(t *testing.T) {
	r := gstat(newFake("bob", sampleJobs()...))
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Errorf("no jobs: exit %d, %q %q; want no output at all and 0", r.code, r.stdout, r.stderr)
	}
}

func TestGstatStates(t *testing.T) {
	f := newFake("alice", sampleJobs()...)
	for letters, want := range map[string][]int64{
		"p": {13, 14}, "r": {12, 15}, "h": {14}, "z": {16}, "pr": {12, 13, 14, 15}, "a": {12, 13, 14, 15},
	} {
		r := gstat(f, "-s", letters, "--json")
		var ids []int64
		for _, line := range strings.Split(r.stdout, "\n") {
			var id int64
			if _, err := fmt.Sscanf(strings.TrimSpace(line), `"id": %d,`, &id); err == nil {
				ids = append(ids, id)
			}
		}
		if !slices.Equal(ids, want) {
			t.Errorf("-s %s: jobs %v; want %v", letters, ids, want)
		}
	}
	if r := gstat(f, "-s", "q"); r.code != 2 || !strings.Contains(r.stderr, "unknown state letter") {
		t.Errorf("-s q: exit %d %q", r.code, r.stderr)
	}
}

func TestGstatDetail(t *testing.T) {
	f := newFake("alice", detailedJob(), sampleJobs()[1])
	r := gstat(f, "-j", "42,13")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	golden(t, "gstat-j", r.stdout)

	r = gstat(f, "-j", "42,999")
	if r.code != 1 || r.stderr != "Following jobs do not exist: \n999\n" || !strings.Contains(r.stdout, "job_number:                 42") {
		t.Errorf("-j with a missing id: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = gstat(f, "-j", "42", "--json")
	golden(t, "gstat-j-json", r.stdout)

	// GPUs are shown with the other requested resources, when asked for.
	gpu := detailedJob()
	gpu.Spec.GPUs = 2
	r = gstat(newFake("alice", gpu), "-j", "42")
	if !strings.Contains(r.stdout, "hard resource_list:         h_rt=3600,mem=4G,cpu=2,gpu=2\n") {
		t.Errorf("gstat -j of a job with 2 gpus:\n%s", r.stdout)
	}
	gpu.State = api.Pending
	if r := gstat(newFake("alice", gpu), "-r"); !strings.Contains(r.stdout, "Hard Resources:   h_rt=3600,mem=4G,cpu=2,gpu=2\n") {
		t.Errorf("gstat -r of a job with 2 gpus:\n%s", r.stdout)
	}
}

func TestGstatJSON(t *testing.T) {
	r := gstat(newFake("alice", sampleJobs()[:2]...), "--json")
	golden(t, "gstat-json", r.stdout)
	if r := gstat(newFake("bob"), "--json"); strings.TrimSpace(r.stdout) != "null" && strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("empty --json = %q", r.stdout)
	}
}

func TestGsubOutput(t *testing.T) {
	f := newFake("alice")
	var b strings.Builder
	b.WriteString(gsub(f, "echo hi\n", "-N", "hello").stdout)
	b.WriteString(gsub(f, "echo hi\n", "-terse").stdout)
	b.WriteString(gsub(f, "#$ -terse\necho hi\n").stdout)
	b.WriteString(gsub(f, "", "-b", "y", "/bin/echo", "x").stdout)
	golden(t, "gsub", b.String())

	f.submitE = api.Invalid(`image "evil" is not allowed; allowed: godocker/base:latest`)
	r := gsub(f, "echo\n", "--image", "evil")
	if r.code != 1 || r.stderr != "Unable to run job: image \"evil\" is not allowed; allowed: godocker/base:latest\nExiting.\n" {
		t.Errorf("refusal: exit %d, %q", r.code, r.stderr)
	}
	f.submitE = &api.Error{Code: api.CodeUnavailable, Message: "too many pending jobs"}
	if r := gsub(f, "echo\n"); r.code != 25 {
		t.Errorf("unavailable: exit %d; want 25 (Grid Engine's try again later)", r.code)
	}
}

func TestGsubParse(t *testing.T) {
	dir := t.TempDir()
	scriptPath := filepath.Join(dir, "job.sh")
	script := "#!/bin/bash\n#$ -N fromdirective\n#$ -l h_rt=1:00:00 -pe smp 2   # comment here\necho\n#$ -l h_vmem=1G\n#$ -o 'out.txt'\n"
	if err := os.WriteFile(scriptPath, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cwd, _ := os.Getwd()
	getenv := func(k string) string { return map[string]string{"HOME": "/home/alice", "FOO": "from-env"}[k] }
	environ := func() []string { return []string{"HOME=/home/alice", "FOO=from-env", "BAR=b"} }
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		check func(t *testing.T, s api.Spec, r *gsubRequest)
	}{
		{"directives anywhere, comments, quotes, per-slot memory", []string{scriptPath, "x", "-y"}, "", func(t *testing.T, s api.Spec, _ *gsubRequest) {
			if s.Name != "fromdirective" || s.Walltime != 3600 || s.CPUs != 2 || s.Memory != 2<<30 || s.Stdout != "out.txt" {
				t.Errorf("spec = %+v", s)
			}
			if !slices.Equal(s.Args, []string{"x", "-y"}) || s.Script != script || s.ScriptName != scriptPath {
				t.Errorf("args %q script name %q", s.Args, s.ScriptName)
			}
		}},
		{"command line wins over directives", []string{"-N", "cmdline", "-l", "h_rt=60", scriptPath}, "", func(t *testing.T, s api.Spec, _ *gsubRequest) {
			if s.Name != "cmdline" || s.Walltime != 60 {
				t.Errorf("name %q walltime %d", s.Name, s.Walltime)
			}
		}},
		{"-C '' disables directives", []string{"-C", "", scriptPath}, "", func(t *testing.T, s api.Spec, _ *gsubRequest) {
			if s.Name != "job.sh" || s.Walltime != 0 {
				t.Errorf("name %q walltime %d", s.Name, s.Walltime)
			}
		}},
		{"stdin, -cwd, -v, -j, -h, -terse, -sync", []string{"-cwd", "-v", "FOO,X=1", "-j", "y", "-h", "-terse", "-sync", "y", "-p", "-5", "-P", "default"}, "#$ -S /bin/sh\necho\n", func(t *testing.T, s api.Spec, r *gsubRequest) {
			if s.ScriptName != "STDIN" || s.Name != "STDIN" || s.Cwd != cwd || !s.Join || !s.Hold || s.Priority != -5 || s.Shell != "/bin/sh" || s.Project != "default" {
				t.Errorf("spec = %+v", s)
			}
			if s.Env["FOO"] != "from-env" || s.Env["X"] != "1" || len(s.Env) != 2 {
				t.Errorf("env = %v", s.Env)
			}
			if !r.terse || !r.sync {
				t.Errorf("terse %v sync %v", r.terse, r.sync)
			}
		}},
		{"-V, -wd relative, image, volumes, mem, root", []string{"-V", "-wd", "sub", "--image", "debian:12", "--volume", "data", "--volume", "ref:ro", "-l", "mem=3G,cpu=3", "--root", "-"}, "echo\n", func(t *testing.T, s api.Spec, _ *gsubRequest) {
			if s.Env["BAR"] != "b" || s.Cwd != filepath.Join(cwd, "sub") || s.Image != "debian:12" || s.Memory != 3<<30 || s.CPUs != 3 || !s.Root {
				t.Errorf("spec = %+v", s)
			}
			if !slices.Equal(s.Volumes, []string{"data", "ref:ro"}) {
				t.Errorf("volumes = %q", s.Volumes)
			}
		}},
		{"-b y runs as is, not scanned", []string{"-b", "y", "/bin/sh", "-c", "#$ -N no; echo"}, "", func(t *testing.T, s api.Spec, _ *gsubRequest) {
			if s.Script != "" || !slices.Equal(s.Command, []string{"/bin/sh", "-c", "#$ -N no; echo"}) || s.Name != "sh" {
				t.Errorf("spec = %+v", s)
			}
		}},
		{"-l image and slots", []string{"-l", "image=debian:12", "-l", "slots=4,h_vmem=1G"}, "echo\n", func(t *testing.T, s api.Spec, _ *gsubRequest) {
			if s.Image != "debian:12" || s.CPUs != 4 || s.Memory != 4<<30 {
				t.Errorf("spec = %+v", s)
			}
		}},
		{"-l gpu and gpus", []string{"-l", "gpu=2"}, "#$ -l gpus=1\n", func(t *testing.T, s api.Spec, _ *gsubRequest) {
			if s.GPUs != 2 {
				t.Errorf("gpus = %d; want 2 (the command line wins)", s.GPUs)
			}
		}},
		{"-l gpus=0", []string{"-l", "gpus=0,cpu=2"}, "echo\n", func(t *testing.T, s api.Spec, _ *gsubRequest) {
			if s.GPUs != 0 || s.CPUs != 2 {
				t.Errorf("spec = %+v", s)
			}
		}},
		{"-q chooses the executor", []string{"-q", "swarm"}, "echo\n", func(t *testing.T, s api.Spec, _ *gsubRequest) {
			if s.Executor != "swarm" {
				t.Errorf("executor = %q, want swarm", s.Executor)
			}
		}},
		{"--executor, and the command line wins over #$ -q", []string{"--executor", "kube"}, "#$ -q swarm\necho\n", func(t *testing.T, s api.Spec, _ *gsubRequest) {
			if s.Executor != "kube" {
				t.Errorf("executor = %q, want kube", s.Executor)
			}
		}},
		{"#$ -q", nil, "#$ -q swarm\necho\n", func(t *testing.T, s api.Spec, _ *gsubRequest) {
			if s.Executor != "swarm" {
				t.Errorf("executor = %q, want swarm", s.Executor)
			}
		}},
		{"submit context", nil, "echo\n", func(t *testing.T, s api.Spec, _ *gsubRequest) {
			if s.SubmitDir != cwd || s.SubmitEnv["HOME"] != "/home/alice" || s.SubmitHost == "" {
				t.Errorf("submit dir %q env %v host %q", s.SubmitDir, s.SubmitEnv, s.SubmitHost)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := parseGsub(tc.args, strings.NewReader(tc.stdin), getenv, environ)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, r.spec, r)
		})
	}
}

func TestGsubBadInput(t *testing.T) {
	f := newFake("alice")
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"#!/bin/sh\necho\n#$ -foo\n", nil, "STDIN:3: unknown option -foo in #$ directive"},
		{"#$ -l h_rt=soon\n", nil, "STDIN:1: -l h_rt"},
		{"#$ -l license=2\n", nil, "unknown resource"},
		{"#$ -pe smp zero\n", nil, "want a number of slots"},
		{"echo\n", []string{"-l", "h_vmem=lots"}, "-l h_vmem"},
		{"echo\n", []string{"-l", "gpu=x"}, "-l gpu=x: want a number of gpus of 0 or more"},
		{"echo\n", []string{"-l", "gpus=-1"}, "-l gpus=-1: want a number of gpus"},
		{"#$ -l gpu=1.5\n", nil, "STDIN:1: -l gpu=1.5"},
		{"echo\n", []string{"-bogus"}, "unknown option -bogus"},
		{"echo\n", []string{"-N"}, "needs a value"},
		{"", []string{"-b", "y"}, "needs a command"},
		{"echo\n", []string{"-p", "high"}, "want an integer priority"},
		{"", []string{"/nonexistent/script.sh"}, "read script"},
		{"echo\n", []string{"-q", "all.q@node1"}, "-q all.q@node1: GoDocker's scheduler chooses the node; give the executor's name alone (-q all.q)"},
		{"echo\n", []string{"-q", "a,b"}, "-q a,b: give one executor"},
	} {
		r := gsub(f, tc.stdin, tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("gsub %v with %q: exit %d, stderr %q; want non-zero and %q", tc.args, tc.stdin, r.code, r.stderr, tc.want)
		}
	}
	if len(f.specs) != 0 {
		t.Errorf("bad input reached the server %d times", len(f.specs))
	}
}

func TestGsubHoldIsNotHelp(t *testing.T) {
	f := newFake("alice")
	r := gsub(f, "echo\n", "-h")
	if r.code != 0 || strings.Contains(r.stdout, "USAGE") || len(f.specs) != 1 || !f.specs[0].Hold {
		t.Errorf("gsub -h: exit %d, %q; want a held job, not help", r.code, r.stdout)
	}
}

func TestHelp(t *testing.T) {
	for name, r := range map[string]run{
		"gsub":  gsub(newFake("a"), "", "--help"),
		"gstat": gstat(newFake("a"), "--help"),
		"gdel":  gdel(newFake("a"), "-h"),
	} {
		if r.code != 0 || !strings.Contains(r.stdout, "USAGE") || !strings.Contains(r.stdout, name) {
			t.Errorf("%s --help: exit %d\n%s%s", name, r.code, r.stdout, r.stderr)
		}
	}
	h := gsub(newFake("a"), "", "--help").stdout
	for _, opt := range []string{"-N", "-cwd", "-terse", "-sync", "-pe", "--image", "--volume", "-hold"} {
		if opt == "-hold" {
			continue
		}
		if !strings.Contains(h, opt) {
			t.Errorf("gsub --help does not mention %s", opt)
		}
	}
}

func TestGsubSync(t *testing.T) {
	f := newFake("alice")
	f.events = make(chan api.Event, 1)
	done := make(chan run)
	go func() { done <- gsub(f, "exit 3\n", "-sync", "y", "-N", "s") }()
	// Finish the job once it exists, and tell gsub.
	var id int64
	for id == 0 {
		f.mu.Lock()
		for k := range f.jobs {
			id = k
		}
		f.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	f.mu.Lock()
	f.jobs[id].State, f.jobs[id].ExitCode = api.Failed, exitCode(3)
	f.mu.Unlock()
	f.events <- api.Event{Kind: api.EventFinished, Job: &api.Job{ID: id}}
	select {
	case r := <-done:
		want := fmt.Sprintf("Your job %d (\"s\") has been submitted\nJob %d exited with exit code 3.\n", id, id)
		if r.code != 3 || r.stdout != want {
			t.Errorf("gsub -sync y: exit %d, %q; want 3, %q", r.code, r.stdout, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("gsub -sync y did not return after the job ended")
	}
}

func TestGsubSyncInterruptDeletes(t *testing.T) {
	f := newFake("alice")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb bytes.Buffer
	done := make(chan int)
	go func() { done <- Gsub(ctx, f, []string{"-sync", "y"}, strings.NewReader("sleep 100\n"), &out, &errb) }()
	for {
		f.mu.Lock()
		n := len(f.jobs)
		f.mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if code := <-done; code != 130 || len(f.deleted) != 1 {
		t.Errorf("interrupted gsub -sync y: exit %d, deleted %v; want 130 and the job deleted", code, f.deleted)
	}
}

func TestGdel(t *testing.T) {
	jobs := sampleJobs()
	jobs = append(jobs, &api.Job{ID: 20, Name: "arr", User: "alice", State: api.Pending})
	f := newFake("alice", jobs...)
	r := gdel(f, "13,12", "1234567", "16", "999", "arr")
	golden(t, "gdel", r.stdout)
	if r.code != 1 {
		t.Errorf("exit %d; want 1 since some deletions failed", r.code)
	}
	if !slices.Contains(f.deleted, api.JobRef{ID: 13}) || !slices.Contains(f.deleted, api.JobRef{ID: 12}) || !slices.Contains(f.deleted, api.JobRef{ID: 20}) {
		t.Errorf("deleted %v; the valid ids and the name must still be processed", f.deleted)
	}
	if r := gdel(newFake("alice", &api.Job{ID: 3, User: "alice", State: api.Pending})); r.code != 2 {
		t.Errorf("gdel with nothing: exit %d", r.code)
	}
	f2 := newFake("alice", &api.Job{ID: 3, User: "alice", State: api.Pending}, &api.Job{ID: 4, User: "alice", State: api.Running})
	if r := gdel(f2, "-u", "alice"); r.code != 0 || r.stdout != "alice has deleted job 3\nalice has registered the job 4 for deletion\n" {
		t.Errorf("gdel -u: exit %d %q", r.code, r.stdout)
	}
}

func gctl(f *fake, args ...string) run {
	var out, errb bytes.Buffer
	code := Gctl(context.Background(), f, args, &out, &errb)
	return run{code, out.String(), errb.String()}
}

func TestGctlMaintenance(t *testing.T) {
	f := newFake("root")
	f.admin = true
	var b strings.Builder
	for _, args := range [][]string{
		{"maintenance"}, {"maintenance", "on", "disk", "upgrade"}, {"maintenance", "status"}, {"maintenance", "off"},
	} {
		r := gctl(f, args...)
		if r.code != 0 {
			t.Fatalf("gctl %v: exit %d %s", args, r.code, r.stderr)
		}
		b.WriteString(r.stdout)
	}
	golden(t, "gctl-maintenance", b.String())

	user := newFake("alice")
	if r := gctl(user, "maintenance", "on"); r.code != 1 || r.stderr != "gctl: alice may not change maintenance mode: only admins may\n" {
		t.Errorf("a user turning maintenance on: exit %d %q", r.code, r.stderr)
	}
	if r := gctl(user, "maintenance", "sideways"); r.code != 2 || !strings.Contains(r.stderr, "want status, on [MESSAGE] or off") {
		t.Errorf("bad subcommand argument: exit %d %q", r.code, r.stderr)
	}
	if r := gctl(user, "frobnicate"); r.code == 0 {
		t.Errorf("unknown command: exit %d", r.code)
	}
	if r := gctl(user, "--help"); r.code != 0 || !strings.Contains(r.stdout, "maintenance") {
		t.Errorf("gctl --help: %d %q", r.code, r.stdout)
	}
}
