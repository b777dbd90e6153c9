package tui

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"

	"github.com/godocker/godocker/api"
)

// refs is the ID column of the queue's rows, in order.
func refs(m *model) []string {
	out := make([]string, len(m.queue.rows))
	for i, j := range m.queue.rows {
		out[i] = rowRef(j)
	}
	return out
}

// row is the queue's row of job id, or nil.
func row(m *model, id int64) *api.Job {
	for _, j := range m.queue.rows {
		if j.ID == id {
			return j
		}
	}
	return nil
}

func selectedRef(m *model) string {
	if j := m.queue.selected(); j != nil {
		return rowRef(j)
	}
	return ""
}

func TestQueueStartsWithMyJobsByID(t *testing.T) {
	hs := newHarness(t, newFake(), 120, 30)
	if got, want := refs(hs.m), []string{"12", "13", "14", "16", "20.1", "20.2", "20.3-100:1"}; !slices.Equal(got, want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
	if jobs, events, _, _ := hs.f.calls(); jobs != 1 || events != 1 {
		t.Errorf("%d lists and %d subscriptions at start, want 1 and 1", jobs, events)
	}
	if !strings.Contains(hs.m.View(), "u all users") {
		t.Errorf("the help does not say u shows all users:\n%s", hs.m.View())
	}
}

func TestMove(t *testing.T) {
	hs := newHarness(t, newFake(), 120, 30)
	for _, step := range []struct {
		key, want string
	}{
		{"down", "13"}, {"j", "14"}, {"up", "13"}, {"k", "12"}, {"up", "12"},
		{"G", "20.3-100:1"}, {"down", "20.3-100:1"}, {"g", "12"},
	} {
		hs.keys(step.key)
		if got := selectedRef(hs.m); got != step.want {
			t.Fatalf("after %s the cursor is on %s, want %s", step.key, got, step.want)
		}
	}
}

func TestCursorFollowsItsJob(t *testing.T) {
	hs := newHarness(t, newFake(), 120, 30)
	hs.keys("down", "down") // 14
	hs.keys("i")            // reverse: 14 moves, the cursor with it
	if got := selectedRef(hs.m); got != "14" {
		t.Fatalf("the cursor is on %s after reversing, want 14", got)
	}
}

func TestSort(t *testing.T) {
	hs := newHarness(t, newFake(), 120, 30)
	hs.keys(">") // name
	if got, want := refs(hs.m), []string{"12", "20.1", "20.2", "20.3-100:1", "13", "14", "16"}; !slices.Equal(got, want) {
		t.Fatalf("by name: %v, want %v", got, want)
	}
	hs.keys("i")
	if got, want := refs(hs.m), []string{"16", "14", "13", "20.1", "20.2", "20.3-100:1", "12"}; !slices.Equal(got, want) {
		t.Fatalf("by name, reversed: %v, want %v", got, want)
	}
	hs.keys("i", ">", ">") // state, up: running first
	if got, want := refs(hs.m), []string{"12", "16", "20.1", "20.2", "20.3-100:1", "13", "14"}; !slices.Equal(got, want) {
		t.Fatalf("by state: %v, want %v", got, want)
	}
	if !strings.Contains(hs.m.View(), "ST▲") {
		t.Errorf("the sorted column is not marked:\n%s", hs.m.View())
	}
	hs.keys("<", "<", "<", "<") // state, user, name, id, round to the last
	if hs.m.queue.sort != colReason {
		t.Errorf("< from id goes round to the last column, got %v", hs.m.queue.sort)
	}
}

func TestFilterText(t *testing.T) {
	hs := newHarness(t, newFake(), 120, 30)
	hs.keys("/", "M", "e", "r")
	if hs.m.mode != modeFilter || hs.m.queue.filter != "Mer" {
		t.Fatalf("mode %v filter %q, want the filter being typed", hs.m.mode, hs.m.queue.filter)
	}
	if got := refs(hs.m); !slices.Equal(got, []string{"13"}) {
		t.Fatalf("filter mer: %v, want [13] (case-insensitive, as typed)", got)
	}
	if !strings.Contains(hs.m.View(), "/Mer_") {
		t.Errorf("the filter being typed is not shown:\n%s", hs.m.View())
	}
	hs.keys("backspace", "backspace", "enter")
	if hs.m.mode != modeNormal || hs.m.queue.filter != "M" {
		t.Fatalf("mode %v filter %q after enter, want normal and M", hs.m.mode, hs.m.queue.filter)
	}
	hs.keys("/")
	if _, cmd := hs.m.Update(keyMsg("q")); cmd != nil || hs.m.queue.filter != "Mq" {
		t.Fatalf("q in the filter: filter %q, want it typed", hs.m.queue.filter)
	}
	if _, cmd := hs.m.Update(keyMsg("ctrl+c")); cmd == nil || cmd() != tea.Quit() {
		t.Fatal("ctrl+c in the filter does not quit")
	}
	hs.keys("esc")
	if hs.m.mode != modeNormal || hs.m.queue.filter != "" || len(hs.m.queue.rows) != 7 {
		t.Fatalf("esc in the filter: mode %v filter %q %d rows, want it cleared", hs.m.mode, hs.m.queue.filter, len(hs.m.queue.rows))
	}
	// A filter on the reason, and esc clearing it in the queue.
	hs.keys("/", "a", "f", "t", "e", "r", "o", "k", "enter")
	if got := refs(hs.m); !slices.Equal(got, []string{"13"}) {
		t.Fatalf("filter afterok: %v, want [13]", got)
	}
	hs.keys("esc")
	if hs.m.queue.filter != "" {
		t.Fatalf("esc in the queue left the filter %q", hs.m.queue.filter)
	}
}

func TestToggleUsers(t *testing.T) {
	hs := newHarness(t, newFake(), 120, 30)
	hs.keys("u")
	if len(hs.m.queue.rows) != 9 || row(hs.m, 15) == nil || !strings.Contains(hs.m.View(), "all users") {
		t.Fatalf("u: %v, want every user's 9 rows", refs(hs.m))
	}
	if !strings.Contains(hs.m.View(), "u my jobs") {
		t.Errorf("the help does not say u goes back to my jobs:\n%s", hs.m.View())
	}
	hs.keys("u")
	if len(hs.m.queue.rows) != 7 || row(hs.m, 15) != nil {
		t.Fatalf("u again: %v, want my 7 rows", refs(hs.m))
	}
}

func TestStartOnAnotherUser(t *testing.T) {
	f := newFake()
	cfg := testConfig(f, 120, 30)
	cfg.who = "bob"
	m := newModel(t.Context(), f, cfg)
	m.Update(jobsMsg{jobs: f.jobs})
	if got := refs(m); !slices.Equal(got, []string{"15"}) {
		t.Fatalf("gtop -u bob: %v, want [15]", got)
	}
	if !strings.Contains(m.View(), "jobs of bob") {
		t.Errorf("the title does not say whose jobs:\n%s", m.View())
	}
}

func TestStateFilter(t *testing.T) {
	hs := newHarness(t, newFake(), 120, 30)
	for _, step := range []struct {
		state api.State
		want  []string
	}{
		{api.Pending, []string{"13", "20.3-100:1"}},
		{api.Held, []string{"14"}},
		{api.Running, []string{"12", "16", "20.1", "20.2"}},
		{api.Suspended, []string{}},
		{"", []string{"12", "13", "14", "16", "20.1", "20.2", "20.3-100:1"}},
	} {
		hs.keys("f")
		if hs.m.queue.state != step.state || !slices.Equal(refs(hs.m), step.want) {
			t.Fatalf("f: state %q rows %v, want %q %v", hs.m.queue.state, refs(hs.m), step.state, step.want)
		}
	}
	hs.keys("f", "esc")
	if hs.m.queue.state != "" {
		t.Errorf("esc left the state filter %q", hs.m.queue.state)
	}
}

func TestDeleteAsksFirst(t *testing.T) {
	hs := newHarness(t, newFake(), 120, 30)
	hs.keys("d")
	if hs.m.mode != modeConfirm || !strings.Contains(hs.m.View(), "delete job 12 (align-genome-hg38)? y/n") {
		t.Fatalf("d does not ask:\n%s", hs.m.View())
	}
	hs.keys("n")
	if hs.m.mode != modeNormal || hs.m.status.text != "cancelled" {
		t.Fatalf("n: mode %v status %q", hs.m.mode, hs.m.status.text)
	}
	hs.keys("d", "esc")
	hs.keys("d", "x") // not an answer
	if hs.m.mode != modeConfirm {
		t.Fatal("a key that is not y or n answered the question")
	}
	hs.keys("y")
	hs.waitFor("the deletion", func() bool { return strings.Contains(hs.m.status.text, "deleted") })
	if _, _, deleted, _ := hs.f.calls(); !slices.Equal(deleted, []api.JobRef{{ID: 12}}) {
		t.Fatalf("deleted %v, want job 12 once", deleted)
	}
	if hs.m.status.text != "job 12 deleted" {
		t.Errorf("status %q", hs.m.status.text)
	}

	// A task is deleted by ID.TASK, an array as a whole by its id.
	hs.keys("G", "up", "up", "d", "y")
	hs.waitFor("the task's deletion", func() bool { return hs.m.status.text == "job 20.1 deleted" })
	hs.keys("G", "d")
	if !strings.Contains(hs.m.confirm.prompt, "array 20 (all its tasks)") {
		t.Errorf("prompt for an array: %q", hs.m.confirm.prompt)
	}
	hs.keys("y")
	hs.waitFor("the array's deletion", func() bool { return hs.m.status.text == "job 20 deleted" })
	if _, _, deleted, _ := hs.f.calls(); !slices.Equal(deleted, []api.JobRef{{ID: 12}, {ID: 20, Task: 1}, {ID: 20}}) {
		t.Fatalf("deleted %v", deleted)
	}
}

func TestRefusalIsShown(t *testing.T) {
	f := newFake()
	hs := newHarness(t, f, 120, 30)
	f.mu.Lock()
	f.ctlErr = api.Conflict("job 12 is running: only a waiting job can be held")
	f.mu.Unlock()
	hs.keys("h")
	hs.waitFor("the refusal", func() bool { return hs.m.status.err })
	if want := "job 12: job 12 is running: only a waiting job can be held"; hs.m.status.text != want {
		t.Fatalf("status %q, want %q", hs.m.status.text, want)
	}
	if !strings.Contains(hs.m.View(), "only a waiting job can be held") {
		t.Errorf("the refusal is not on the screen:\n%s", hs.m.View())
	}
	hs.keys("d", "y")
	hs.waitFor("the refused deletion", func() bool { return strings.Contains(hs.m.status.text, "job 12: job 12 is running") })
	if _, _, deleted, _ := hs.f.calls(); len(deleted) != 0 {
		t.Errorf("deleted %v", deleted)
	}
}

func TestControlPicksTheAction(t *testing.T) {
	hs := newHarness(t, newFake(), 120, 30)
	hs.keys("s") // 12 runs: suspend
	hs.waitFor("suspend", func() bool { return hs.m.status.text == "job 12 suspended" })
	if row(hs.m, 12).State != api.Suspended {
		t.Fatalf("the answer was not applied: %s", row(hs.m, 12).State)
	}
	hs.keys("s") // now suspended: resume
	hs.waitFor("resume", func() bool { return hs.m.status.text == "job 12 resumed" })
	hs.keys("down", "down", "h") // 14 is held: release
	hs.waitFor("release", func() bool { return hs.m.status.text == "job 14 released" })
	hs.keys("up", "h") // 13 waits: hold
	hs.waitFor("hold", func() bool { return hs.m.status.text == "job 13 held" })
	hs.keys("r") // 13 is held now: requeue at once
	hs.waitFor("requeue", func() bool { return strings.HasPrefix(hs.m.status.text, "job 13 requeued") })
	hs.keys("g", "r") // 12 runs: asks first
	if hs.m.mode != modeConfirm || !strings.Contains(hs.m.confirm.prompt, "requeue job 12") {
		t.Fatalf("r on a running job does not ask: mode %v %q", hs.m.mode, hs.m.confirm.prompt)
	}
	hs.keys("y")
	hs.waitFor("requeue 12", func() bool { return strings.HasPrefix(hs.m.status.text, "job 12 requeued") })
	_, _, _, controls := hs.f.calls()
	want := []string{"suspend 12", "resume 12", "release 14", "hold 13", "requeue 13", "requeue 12"}
	if !slices.Equal(controls, want) {
		t.Fatalf("controls %v, want %v", controls, want)
	}
}

func TestSSHCommand(t *testing.T) {
	hs := newHarness(t, newFake(), 120, 30)
	hs.keys("down", "down", "down", "c") // 16, interactive, running
	if hs.m.mode != modeSSH || hs.m.ssh.command != "ssh -p 2222 job-16@gw.example.org" || !hs.m.ssh.canRun {
		t.Fatalf("c: %+v", hs.m.ssh)
	}
	if v := hs.m.View(); !strings.Contains(v, "ssh -p 2222 job-16@gw.example.org") || !strings.Contains(v, "run ssh here") {
		t.Errorf("the command or the offer to run it is not shown:\n%s", v)
	}
	hs.keys("esc", "g", "c") // 12: a batch job
	if !strings.Contains(hs.m.ssh.note, "batch job") {
		t.Errorf("note for a batch job: %q", hs.m.ssh.note)
	}
	hs.keys("q")
	if hs.m.mode != modeNormal {
		t.Fatal("q does not close the ssh command")
	}

	// Inside the gateway, never a local ssh.
	f := newFake()
	cfg := testConfig(f, 120, 30)
	cfg.remote = true
	m := newModel(t.Context(), f, cfg)
	m.Update(jobsMsg{jobs: f.jobs})
	m.queue.moveTo(slices.IndexFunc(m.queue.rows, func(j *api.Job) bool { return j.ID == 16 }))
	m.Update(keyMsg("c"))
	if m.ssh.canRun || strings.Contains(m.View(), "run ssh here") {
		t.Error("remote gtop offers to run ssh")
	}
	if _, cmd := m.Update(keyMsg("enter")); cmd != nil {
		t.Error("enter ran something remotely")
	}
}

func TestEvents(t *testing.T) {
	f := newFake()
	hs := newHarness(t, f, 120, 30)
	running := hs.m.jobs[13].Clone()
	running.State, running.Reason, running.Node, running.Started = api.Running, api.Reason{}, "node1", t0
	f.send(api.Event{Kind: api.EventStarted, Time: t0, Job: running})
	hs.waitFor("13 running", func() bool { return row(hs.m, 13) != nil && row(hs.m, 13).State == api.Running })
	if !strings.Contains(hs.m.View(), "  13         merge             alice r ") {
		t.Errorf("the row of 13 does not say r:\n%s", hs.m.View())
	}

	done := running.Clone()
	done.State = api.Done
	f.send(api.Event{Kind: api.EventFinished, Time: t0, Job: done})
	hs.waitFor("13 gone", func() bool { return row(hs.m, 13) == nil })

	fresh := hs.m.jobs[16].Clone()
	fresh.ID, fresh.Name, fresh.State, fresh.Node = 30, "newcomer", api.Pending, ""
	f.send(api.Event{Kind: api.EventSubmitted, Time: t0, Job: fresh})
	hs.waitFor("30 added", func() bool { return row(hs.m, 30) != nil })
	if !strings.Contains(hs.m.View(), "newcomer") {
		t.Errorf("the new job is not shown:\n%s", hs.m.View())
	}

	// Everybody's events arrive; another user's job shows with u.
	other := fresh.Clone()
	other.ID, other.User, other.Name = 31, "bob", "bobs"
	f.send(api.Event{Kind: api.EventSubmitted, Time: t0, Job: other})
	hs.waitFor("31 known", func() bool { return hs.m.jobs[31] != nil })
	if row(hs.m, 31) != nil {
		t.Error("bob's job shows among mine")
	}
	hs.keys("u")
	if row(hs.m, 31) == nil {
		t.Error("bob's job does not show with all users")
	}
}

func TestEventsFollowTheDetails(t *testing.T) {
	f := newFake()
	hs := newHarness(t, f, 120, 40)
	hs.keys("enter")
	hs.waitFor("details", func() bool { return hs.m.view == viewDetails })
	done := hs.m.jobs[12].Clone()
	code := 0
	done.State, done.Ended, done.ExitCode = api.Done, t0, &code
	f.send(api.Event{Kind: api.EventFinished, Time: t0, Job: done})
	hs.waitFor("12 done", func() bool { return hs.m.details.job.State == api.Done })
	if v := hs.m.View(); !strings.Contains(v, fmt.Sprintf("%-28s0", "exit_status:")) || !strings.Contains(v, "job 12 · align-genome-hg38 · done") {
		t.Errorf("the details do not show the end:\n%s", v)
	}
	hs.keys("esc")
	if hs.m.view != viewQueue || row(hs.m, 12) != nil {
		t.Error("esc does not go back to the queue, without 12")
	}
}

func TestStreamEndRelists(t *testing.T) {
	f := newFake()
	hs := newHarness(t, f, 120, 30)
	f.mu.Lock()
	f.jobs = append(f.jobs, &api.Job{ID: 40, Name: "missed", User: "alice", State: api.Pending, Submitted: t0})
	f.mu.Unlock()
	f.drop()
	hs.waitFor("the end of the stream", func() bool { return !hs.m.stream.live })
	if !strings.Contains(hs.m.View(), "reconnecting") {
		t.Errorf("the title does not say it reconnects:\n%s", hs.m.View())
	}
	if !hs.fire(retryMsg{}) {
		t.Fatalf("no retry scheduled; timers %v", hs.timers)
	}
	hs.waitFor("the re-list", func() bool { return hs.m.stream.live && row(hs.m, 40) != nil })
	if jobs, events, _, _ := f.calls(); jobs != 2 || events != 2 {
		t.Fatalf("%d lists and %d subscriptions, want 2 and 2", jobs, events)
	}
	if hs.m.stream.backoff != firstRetry {
		t.Errorf("backoff %v", hs.m.stream.backoff)
	}
}

func TestSubscribeFailsRetriesWithBackoff(t *testing.T) {
	f := newFake()
	f.eventErr = api.Denied("no events for you")
	hs := &harness{t: t, f: f, msgs: make(chan tea.Msg, 64)}
	cfg := testConfig(f, 120, 30)
	cfg.after = func(d time.Duration, msg tea.Msg) tea.Cmd {
		hs.timers = append(hs.timers, msg)
		if _, ok := msg.(retryMsg); ok {
			hs.delays = append(hs.delays, d)
		}
		return nil
	}
	hs.m = newModel(t.Context(), f, cfg)
	hs.run(hs.m.Init())
	hs.waitFor("the list without events", func() bool { return hs.m.stream.listed })
	if !hs.m.status.err || !strings.Contains(hs.m.status.text, "no events for you") {
		t.Errorf("status %q", hs.m.status.text)
	}
	for range 6 {
		n := len(hs.delays)
		hs.fire(retryMsg{})
		hs.waitFor("another attempt", func() bool { return len(hs.delays) > n })
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	if !slices.Equal(hs.delays, want) {
		t.Errorf("delays %v, want %v", hs.delays, want)
	}
	// The server is back: the error goes.
	f.mu.Lock()
	f.eventErr = nil
	f.mu.Unlock()
	hs.fire(retryMsg{})
	hs.waitFor("the stream", func() bool { return hs.m.stream.live && hs.m.status.text == "reconnected" })
	if !strings.Contains(hs.m.View(), "live") {
		t.Errorf("the title does not say live:\n%s", hs.m.View())
	}
}

func TestEventsDuringAListAreAppliedAfterIt(t *testing.T) {
	f := newFake()
	m := newModel(t.Context(), f, testConfig(f, 120, 30))
	m.stream.gen, m.stream.listing = 1, true
	started := f.jobs[1].Clone() // 13
	started.State = api.Running
	m.Update(eventsMsg{gen: 1, events: []api.Event{{Kind: api.EventStarted, Job: started}}})
	if len(m.jobs) != 0 {
		t.Fatal("an event was applied before the list")
	}
	m.Update(jobsMsg{jobs: f.jobs}) // still says 13 pends
	if m.jobs[13].State != api.Running {
		t.Fatalf("13 is %s after the list, want the event's running", m.jobs[13].State)
	}
	// Events of an older stream are ignored.
	gone := f.jobs[0].Clone()
	gone.State = api.Done
	m.Update(eventsMsg{gen: 0, events: []api.Event{{Job: gone}}})
	if m.jobs[12] == nil {
		t.Error("an old stream's event was applied")
	}
}

func TestRefreshIsDebounced(t *testing.T) {
	f := newFake()
	hs := newHarness(t, f, 120, 30)
	count := func() int {
		n := 0
		for _, tm := range hs.timers {
			if _, ok := tm.(refreshMsg); ok {
				n++
			}
		}
		return n
	}
	for i := range 3 {
		j := hs.m.jobs[12].Clone()
		j.Name = fmt.Sprint("burst", i)
		f.send(api.Event{Kind: api.EventUpdated, Job: j})
		hs.waitFor("the event", func() bool { return hs.m.jobs[12].Name == j.Name })
	}
	if n := count(); n != 1 {
		t.Fatalf("%d refreshes scheduled for 3 events, want 1", n)
	}
	if !hs.fire(refreshMsg{}) {
		t.Fatal("no refresh")
	}
	if hs.m.refresh.scheduled {
		t.Error("still scheduled after it ran")
	}
	if !slices.ContainsFunc(hs.timers, func(m tea.Msg) bool { _, ok := m.(periodicMsg); return ok }) {
		t.Error("no periodic refresh scheduled")
	}
}

func TestTail(t *testing.T) {
	f := newFake()
	hs := newHarness(t, f, 100, 24)
	hs.keys("l")
	hs.waitFor("the output", func() bool { return hs.m.tail.stdout.started })
	f.mu.Lock()
	first := f.outputs[0]
	f.output[api.Stdout] = append(f.output[api.Stdout], " ends\nnext line\n"...)
	f.mu.Unlock()
	if first != "stdout -16384 16384" {
		t.Fatalf("first read %q, want the last 16 KiB", first)
	}
	if !hs.fire(tailTickMsg{}) {
		t.Fatal("no next read scheduled")
	}
	hs.waitFor("more output", func() bool { return len(hs.m.tail.stdout.lines) == 6 })
	if got := hs.m.tail.stdout.lines[4:]; !slices.Equal(got, []string{"partial line ends", "next line"}) {
		t.Fatalf("lines %q", got)
	}
	f.mu.Lock()
	second := f.outputs[1]
	f.mu.Unlock()
	if want := fmt.Sprintf("stdout %d %d", len("loading reference hg38\nmapping reads: 10%\rmapping reads: 55%\n\x1b[31mchunk 1 done\x1b[0m\n\tchunk 2\tdone\npartial line"), tailChunk); second != want {
		t.Errorf("second read %q, want %q (from where the first stopped)", second, want)
	}
	if strings.Contains(hs.m.View(), "\x1b") {
		t.Error("the job's escape sequences reached the screen")
	}
	hs.keys("tab")
	hs.waitFor("stderr", func() bool { return hs.m.tail.stderr.started })
	if !strings.Contains(hs.m.View(), "warning: low memory on node1") {
		t.Errorf("stderr not shown:\n%s", hs.m.View())
	}
	hs.keys("esc")
	if hs.m.view != viewQueue {
		t.Fatal("esc does not leave the tail")
	}
	if hs.fire(tailTickMsg{}) {
		f.mu.Lock()
		n := len(f.outputs)
		f.mu.Unlock()
		if n != 3 {
			t.Errorf("a closed tail still reads: %d reads", n)
		}
	}
}

func TestTailStartsAtALine(t *testing.T) {
	var s tailStream
	s.add([]byte("rt of a line\nwhole\nhalf"), true)
	if !slices.Equal(s.lines, []string{"whole"}) || !slices.Equal(s.all(), []string{"whole", "half"}) {
		t.Fatalf("lines %q all %q", s.lines, s.all())
	}
}

func TestTailFileReplaced(t *testing.T) {
	f := newFake()
	m := newModel(t.Context(), f, testConfig(f, 100, 24))
	m.openTail(f.jobs[0], viewQueue)
	m.Update(outputMsg{gen: m.tail.gen, stream: api.Stdout, first: true, max: tailStart, out: &api.Output{Offset: 0, Size: 6, Data: []byte("a\nb\nc\n")}})
	_, cmd := m.Update(outputMsg{gen: m.tail.gen, stream: api.Stdout, max: tailChunk, out: &api.Output{Offset: 6, Size: 2}})
	if m.tail.stdout.started || len(m.tail.stdout.lines) != 0 || cmd == nil {
		t.Fatalf("a shorter file was not read again from its end: %+v", m.tail.stdout)
	}
}

func TestWindowSize(t *testing.T) {
	hs := newHarness(t, newFake(), 120, 30)
	if !strings.Contains(hs.m.View(), "IMAGE") {
		t.Fatal("no image column at 120")
	}
	hs.send(tea.WindowSizeMsg{Width: 60, Height: 20})
	v := hs.m.View()
	lines := strings.Split(v, "\n")
	if len(lines) != 20 {
		t.Errorf("%d lines at height 20", len(lines))
	}
	for _, l := range lines {
		if width(l) > 60 {
			t.Errorf("line wider than 60: %q", l)
		}
	}
	for _, gone := range []string{"IMAGE", "NODE", "PRIO", "MEM"} {
		if strings.Contains(lines[4], gone) {
			t.Errorf("%s still shown at 60: %q", gone, lines[4])
		}
	}
	if hs.m.queue.page != 20-3-2-2 {
		t.Errorf("page of %d rows, want %d", hs.m.queue.page, 20-3-2-2)
	}
}

// TestEverythingFits draws every view at many sizes: no line is wider
// than the terminal and there are exactly as many lines as it is high.
func TestEverythingFits(t *testing.T) {
	hs := newHarness(t, newFake(), 120, 30)
	hs.keys("l")
	hs.waitFor("the output", func() bool { return hs.m.tail.stdout.started })
	m := hs.m
	for _, v := range []view{viewQueue, viewDetails, viewTail, viewNodes, viewUsers} {
		m.view = v
		if v == viewDetails {
			m.details = detailsState{job: m.jobs[15]}
		}
		for w := 20; w <= 200; w += 7 {
			for h := 1; h <= 50; h += 3 {
				m.Update(tea.WindowSizeMsg{Width: w, Height: h})
				lines := strings.Split(m.View(), "\n")
				if len(lines) != h {
					t.Fatalf("view %d at %dx%d: %d lines", v, w, h, len(lines))
				}
				for _, l := range lines {
					if width(l) > w {
						t.Fatalf("view %d at %dx%d: line of %d cells: %q", v, w, h, width(l), l)
					}
				}
			}
		}
	}
}

func TestColorProfile(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		want termenv.Profile
	}{
		{[]string{"TERM=xterm-256color", "NO_COLOR=1"}, termenv.Ascii},
		{[]string{"TERM=xterm-256color", "NO_COLOR="}, termenv.ANSI256},
		{[]string{"TERM=dumb", "COLORTERM=truecolor"}, termenv.Ascii},
		{nil, termenv.Ascii},
		{[]string{"TERM=xterm", "COLORTERM=truecolor"}, termenv.TrueColor},
		{[]string{"TERM=xterm"}, termenv.ANSI},
		{[]string{"TERM=screen-256color"}, termenv.ANSI256},
	} {
		if got := colorProfile(tc.env); got != tc.want {
			t.Errorf("colorProfile(%q) = %v, want %v", tc.env, got, tc.want)
		}
	}
}

func TestNoColor(t *testing.T) {
	f := newFake()
	screens := func(env ...string) string {
		cfg := testConfig(f, 120, 30)
		cfg.styles = newStyles(newRenderer(io.Discard, env))
		m := newModel(t.Context(), f, cfg)
		m.Update(jobsMsg{jobs: f.jobs})
		m.Update(nodesMsg{nodes: f.nodes})
		m.Update(usageMsg{usage: f.usage})
		var all strings.Builder
		for _, k := range []string{"1", "2", "3", "1", "enter", "esc", "d"} {
			m.Update(keyMsg(k))
			all.WriteString(m.View())
		}
		return all.String()
	}
	if s := screens("TERM=xterm-256color", "NO_COLOR=1"); strings.Contains(s, "\x1b") {
		t.Errorf("NO_COLOR: escape sequences in the view: %q", s[:200])
	}
	if s := screens("TERM=xterm-256color"); !strings.Contains(s, "\x1b[") {
		t.Error("no colour at all with TERM=xterm-256color: the test proves nothing")
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                     "plain",
		"\x1b[31mred\x1b[0m":        "red",
		"10%\r55%\r":                "55%",
		"a\tb":                      "a       b",
		"bell\a and \x1b]0;title\a": "bell and ",
		"bad \xff byte":             "bad \uFFFD byte",
	} {
		if got := clean([]byte(in)); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestOthersTextCannotDriveTheTerminal: what users chose (a job's name,
// its reason, a node's labels) reaches other users' screens without its
// escape sequences.
func TestOthersTextCannotDriveTheTerminal(t *testing.T) {
	f := newFake()
	evil := "evil\x1b]52;c;ZXZpbA==\a\x1b[2J\r\x9b"
	f.jobs[3].Name = evil                      // bob's
	f.jobs[3].Reason.Message = "reason" + evil // and its reason
	f.nodes[0].Labels["x"] = evil
	hs := newHarness(t, f, 200, 40)
	var all strings.Builder
	for _, k := range []string{"u", "/", "e", "v", "i", "l", "enter", "enter", "esc", "2", "1", "d"} {
		hs.keys(k)
		all.WriteString(hs.m.View())
	}
	hs.keys("esc", "enter")
	hs.waitFor("the details", func() bool { return hs.m.details.job != nil && hs.m.details.job.ID == 15 })
	all.WriteString(hs.m.View())
	if s := all.String(); strings.ContainsAny(s, "\x1b\a\r\u009b") {
		t.Errorf("control characters reached the screen: %q", s)
	}
	if !strings.Contains(all.String(), "evil") {
		t.Error("the name is not shown at all")
	}
}
