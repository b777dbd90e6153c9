package tui

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/client"
)

var _ Source = (*client.Client)(nil)

// t0 is the tests' fixed clock.
var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// fake is a Source in memory. Tests drive its event stream and read
// what was asked of it.
type fake struct {
	mu       sync.Mutex
	me       api.Identity
	info     api.ServerInfo
	jobs     []*api.Job
	nodes    []*api.NodeStatus
	usage    *api.UsageReport
	quotas   *api.QuotaReport
	output   map[string][]byte // by stream
	whoErr   error             // Whoami fails with it
	eventErr error             // Events fails with it
	ctlErr   error             // Control and Delete fail with it

	// What was asked.
	jobsCalls, eventsCalls int
	deleted                []api.JobRef
	controls               []string // "ACTION REF"
	outputs                []string // "STREAM OFFSET MAX"

	ch    chan api.Event
	close func()
}

var _ Source = (*fake)(nil)

func (f *fake) Whoami(context.Context) (*api.Identity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.whoErr != nil {
		return nil, f.whoErr
	}
	me := f.me
	return &me, nil
}

func (f *fake) Info(context.Context) (*api.ServerInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in := f.info
	return &in, nil
}

func (f *fake) Jobs(_ context.Context, q client.Query) ([]*api.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jobsCalls++
	var out []*api.Job
	for _, j := range f.jobs {
		if (len(q.States) == 0 || slices.Contains(q.States, j.State)) && (slices.Contains(q.Users, "*") || slices.Contains(q.Users, j.User)) {
			out = append(out, j.Clone())
		}
	}
	return out, nil
}

func (f *fake) Job(_ context.Context, ref api.JobRef) (*api.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, j := range f.jobs {
		if jobRef(j) == ref {
			return j.Clone(), nil
		}
	}
	return nil, api.NotFound(fmt.Sprintf("job %s does not exist", ref))
}

// Events opens a stream the test feeds with send and ends with drop.
func (f *fake) Events(ctx context.Context, _ ...int64) (<-chan api.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.eventsCalls++
	if f.eventErr != nil {
		return nil, f.eventErr
	}
	ch := make(chan api.Event, 64)
	var once sync.Once
	closeCh := func() { once.Do(func() { close(ch) }) }
	f.ch, f.close = ch, closeCh
	go func() {
		<-ctx.Done()
		closeCh()
	}()
	return ch, nil
}

// send delivers events on the open stream.
func (f *fake) send(evs ...api.Event) {
	f.mu.Lock()
	ch := f.ch
	f.mu.Unlock()
	for _, ev := range evs {
		ch <- ev
	}
}

// drop ends the open stream, as the server does with a slow subscriber.
func (f *fake) drop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.close()
}

func (f *fake) Delete(_ context.Context, ref api.JobRef) (*api.DeleteResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ctlErr != nil {
		return nil, f.ctlErr
	}
	f.deleted = append(f.deleted, ref)
	return &api.DeleteResult{ID: ref.ID, Action: api.ActionDeleted, User: f.me.User}, nil
}

func (f *fake) Control(_ context.Context, ref api.JobRef, action string) (*api.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.controls = append(f.controls, action+" "+ref.String())
	if f.ctlErr != nil {
		return nil, f.ctlErr
	}
	for _, j := range f.jobs {
		if jobRef(j) == ref {
			c := j.Clone()
			switch action {
			case api.ControlSuspend:
				c.State = api.Suspended
			case api.ControlResume:
				c.State = api.Running
			case api.ControlHold:
				c.State = api.Held
			case api.ControlRelease:
				c.State = api.Pending
			}
			return c, nil
		}
	}
	return nil, api.NotFound("no such job")
}

func (f *fake) Nodes(context.Context) ([]*api.NodeStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nodes, nil
}

func (f *fake) Usage(context.Context) (*api.UsageReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.usage, nil
}

func (f *fake) Quotas(context.Context) (*api.QuotaReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.quotas, nil
}

// Output serves f.output as the server does: a negative offset counts
// from the end.
func (f *fake) Output(_ context.Context, _ api.JobRef, stream string, offset int64, n int) (*api.Output, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.outputs = append(f.outputs, fmt.Sprintf("%s %d %d", stream, offset, n))
	data := f.output[stream]
	size := int64(len(data))
	if offset < 0 {
		offset = max(size+offset, 0)
	}
	offset = min(offset, size)
	end := min(offset+int64(n), size)
	return &api.Output{Stream: stream, Offset: offset, Size: size, Data: data[offset:end]}, nil
}

// newFake is a small cluster: alice (the caller), bob and carol's jobs
// on two nodes.
func newFake() *fake {
	gi := int64(1 << 30)
	job := func(id int64, name, user string, state api.State) *api.Job {
		return &api.Job{
			ID: id, Name: name, User: user, UID: 1000, GID: 1000, Group: user, Project: "default", State: state,
			Spec:      api.Spec{Name: name, Image: "godocker/base:latest", Script: "#!/bin/sh\necho hi\n", ScriptName: name + ".sh", CPUs: 1},
			Dir:       "/var/lib/godocker/jobs/" + user + "/" + fmt.Sprint(id),
			Stdout:    "/var/lib/godocker/jobs/" + user + "/" + fmt.Sprint(id) + "/stdout",
			Stderr:    "/var/lib/godocker/jobs/" + user + "/" + fmt.Sprint(id) + "/stderr",
			Submitted: t0.Add(-time.Duration(id) * 10 * time.Minute),
			Attempt:   1,
		}
	}
	run := func(j *api.Job, node string, since time.Duration) *api.Job {
		j.Executor, j.Node, j.Started = "docker", node, t0.Add(-since)
		return j
	}

	align := run(job(12, "align-genome-hg38", "alice", api.Running), "node1", time.Hour+2*time.Minute)
	align.Project, align.Spec.CPUs, align.Spec.Memory, align.Spec.Walltime = "bio", 4, 8*gi, 7200
	align.Spec.Env = map[string]string{"REF": "hg38", "THREADS": "4"}
	align.Spec.SubmitDir, align.Spec.SubmitHost = "/home/alice/work", "login1"
	align.Spec.SubmitEnv = map[string]string{"HOME": "/home/alice", "LOGNAME": "alice", "PATH": "/usr/bin:/bin", "SHELL": "/bin/bash"}
	align.Usage = api.Usage{WallSeconds: 3720, CPUSeconds: 14000, Memory: 6 * gi, MaxMemory: 7 * gi}

	merge := job(13, "merge", "alice", api.Pending)
	merge.Spec.Dependencies = []api.Dependency{{Type: api.AfterOK, Jobs: []int64{12}}}
	merge.Reason = api.Reason{Code: api.ReasonDependency, Message: "waiting for job 12 (afterok)"}

	report := job(14, "report", "alice", api.Held)
	report.Reason = api.Reason{Code: api.ReasonHeld, Message: "held by alice (gctl release 14)"}

	blast := job(15, "blast", "bob", api.Pending)
	blast.Spec.CPUs, blast.Spec.Memory, blast.Spec.Image = 8, 16*gi, "ncbi/blast:2.15"
	blast.Reason = api.Reason{Code: api.ReasonResources, Message: "needs 8 cpus; the largest free node has 7 (node1)"}
	blast.Priority = api.Priority{Value: 0.61875, Parts: []api.PriorityPart{{Name: "waiting_time", Weight: 0.5, Factor: 0.8}, {Name: "user_time", Weight: 0.3, Factor: -0.27083}}}

	shell := run(job(16, "shell", "alice", api.Running), "node2", 5*time.Minute+3*time.Second)
	shell.Spec.Interactive, shell.Spec.Script, shell.Spec.Memory = true, "", 512<<20

	sim := run(job(17, "sim", "carol", api.Suspended), "node1", 3*24*time.Hour+4*time.Hour)
	sim.Spec.CPUs = 2
	sim.SuspendedAt, sim.SuspendedSeconds = t0.Add(-20*time.Minute), 60

	arr := job(20, "arr", "alice", api.Pending)
	arr.Spec.Array = &api.Array{First: 1, Last: 100, Step: 1, Limit: 2}
	arr.Tasks = &api.Tasks{Next: 3, Running: 2}
	arr.Reason = api.Reason{Code: api.ReasonTaskLimit, Message: "2 tasks running: -tc 2"}
	task := func(id, n int64, node string) *api.Job {
		t := run(job(id, "arr", "alice", api.Running), node, time.Duration(n)*time.Minute)
		t.ArrayID, t.TaskID = 20, n
		return t
	}

	return &fake{
		me:   api.Identity{User: "alice", UID: 1000, GID: 1000},
		info: api.ServerInfo{SSHGateway: "gw.example.org:2222"},
		jobs: []*api.Job{align, merge, report, blast, shell, sim, arr, task(21, 1, "node1"), task(22, 2, "node2")},
		nodes: []*api.NodeStatus{
			{Executor: "docker", Name: "node2", CPUs: 8, Memory: 32 * gi, GPUs: 2, UsedCPUs: 2, UsedMemory: gi + 512<<20, UsedGPUs: 1, Jobs: 2, Labels: map[string]string{"gpu": "a100"}},
			{Executor: "docker", Name: "node1", CPUs: 16, Memory: 64 * gi, UsedCPUs: 7, UsedMemory: 8 * gi, Jobs: 3, Labels: map[string]string{"zone": "a", "disk": "ssd"}},
		},
		usage: &api.UsageReport{
			Window: 30 * 86400, HalfLife: 7 * 86400,
			Users: []api.UsageEntry{
				{Name: "alice", Priority: 50, Used: api.Quota{CPUSeconds: 44640, MemorySeconds: 90000 * float64(gi)}, Share: 0.62, Running: 4, CPUs: 7, Memory: 9 * gi},
				{Name: "bob", Priority: 70, Used: api.Quota{CPUSeconds: 18000}, Share: 0.25},
				{Name: "carol", Priority: 50, Used: api.Quota{CPUSeconds: 9360, GPUSeconds: 3600}, Share: 0.13, Running: 1, CPUs: 2, Memory: gi},
			},
			Projects: []api.UsageEntry{
				{Name: "bio", Priority: 70, Used: api.Quota{CPUSeconds: 44640}, Share: 0.62, Running: 1, CPUs: 4, Memory: 8 * gi},
				{Name: "default", Priority: 50, Used: api.Quota{CPUSeconds: 27360}, Share: 0.38, Running: 4, CPUs: 5, Memory: gi},
			},
		},
		quotas: &api.QuotaReport{
			Start: t0.Add(-20 * 24 * time.Hour), Resets: t0.Add(9*24*time.Hour + 12*time.Hour),
			Quotas: []api.QuotaEntry{
				{Kind: api.KindUser, Name: "alice", Quota: api.Quota{CPUSeconds: 1000 * 3600}, Used: api.Quota{CPUSeconds: 44640}},
				{Kind: api.KindUser, Name: "dave", Quota: api.Quota{CPUSeconds: 10 * 3600}, Used: api.Quota{CPUSeconds: 36000}},
				{Kind: api.KindProject, Name: "bio", Quota: api.Quota{CPUSeconds: 1000 * 3600, MemorySeconds: 20000 * 3600 * float64(gi)}, Used: api.Quota{CPUSeconds: 44640, MemorySeconds: 24.8 * 3600 * float64(gi)}},
			},
		},
		output: map[string][]byte{
			api.Stdout: []byte("loading reference hg38\nmapping reads: 10%\rmapping reads: 55%\n\x1b[31mchunk 1 done\x1b[0m\n\tchunk 2\tdone\npartial line"),
			api.Stderr: []byte("warning: low memory on node1\n"),
		},
	}
}

// testConfig is a model's configuration for tests: the fixed clock, UTC,
// no colour, whatever the terminal running the tests.
func testConfig(f *fake, w, h int) config {
	me := f.me
	info := f.info
	return config{
		me:     &me,
		info:   &info,
		styles: newStyles(newRenderer(io.Discard, []string{"TERM=xterm-256color", "NO_COLOR=1"})),
		now:    func() time.Time { return t0 },
		loc:    time.UTC,
		size:   Size{Width: w, Height: h},
	}
}

// harness runs a model as Bubble Tea would, in the test's goroutine:
// commands run on their own goroutines and their messages come back
// through waitFor; timers are only recorded (fire sends one).
type harness struct {
	t      *testing.T
	f      *fake
	m      *model
	msgs   chan tea.Msg
	timers []tea.Msg
	delays []time.Duration // of the retries, when a test records them
}

func newHarness(t *testing.T, f *fake, w, h int) *harness {
	t.Helper()
	hs := &harness{t: t, f: f, msgs: make(chan tea.Msg, 1024)}
	cfg := testConfig(f, w, h)
	cfg.after = func(_ time.Duration, msg tea.Msg) tea.Cmd {
		hs.timers = append(hs.timers, msg)
		return nil
	}
	hs.m = newModel(t.Context(), f, cfg)
	hs.run(hs.m.Init())
	hs.waitFor("the queue listed and the stream live", func() bool {
		return hs.m.stream.listed && hs.m.stream.live && hs.m.quotas != nil && hs.m.nodes != nil && hs.m.usage != nil
	})
	return hs
}

// run runs cmd as Bubble Tea does, on its own goroutine.
func (hs *harness) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	go func() {
		switch msg := cmd().(type) {
		case nil:
		case tea.BatchMsg:
			for _, c := range msg {
				hs.run(c)
			}
		default:
			hs.msgs <- msg
		}
	}()
}

// send gives msg to the model.
func (hs *harness) send(msg tea.Msg) {
	_, cmd := hs.m.Update(msg)
	hs.run(cmd)
}

// keys types keys: names as Bubble Tea's (enter, esc, tab, ctrl+c) or
// runes.
func (hs *harness) keys(keys ...string) {
	for _, k := range keys {
		hs.send(keyMsg(k))
	}
}

func keyMsg(k string) tea.KeyMsg {
	types := map[string]tea.KeyType{"enter": tea.KeyEnter, "esc": tea.KeyEsc, "tab": tea.KeyTab, "ctrl+c": tea.KeyCtrlC,
		"backspace": tea.KeyBackspace, "up": tea.KeyUp, "down": tea.KeyDown, "end": tea.KeyEnd}
	if t, ok := types[k]; ok {
		return tea.KeyMsg{Type: t}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// waitFor handles the messages that come back until cond holds.
func (hs *harness) waitFor(what string, cond func() bool) {
	hs.t.Helper()
	deadline := time.After(5 * time.Second)
	for !cond() {
		select {
		case msg := <-hs.msgs:
			hs.send(msg)
		case <-deadline:
			hs.t.Fatalf("timed out waiting for %s; screen:\n%s", what, hs.m.View())
		}
	}
}

// fire sends the recorded timer messages of msg's type.
func (hs *harness) fire(msg tea.Msg) bool {
	for i, tm := range hs.timers {
		if fmt.Sprintf("%T", tm) == fmt.Sprintf("%T", msg) {
			hs.timers = slices.Delete(hs.timers, i, i+1)
			hs.send(tm)
			return true
		}
	}
	return false
}

// calls reads the fake's counters under its lock.
func (f *fake) calls() (jobs, events int, deleted []api.JobRef, controls []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.jobsCalls, f.eventsCalls, slices.Clone(f.deleted), slices.Clone(f.controls)
}
