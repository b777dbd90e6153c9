// Package executortest is the conformance suite of executor.Executor: one
// set of tests that every implementation passes, run from each
// implementation's own test file against the real platform (the docker
// executor against a real engine) or, for the simulator, against itself.
//
// An implementation's test calls Run with a Harness:
//
//	func TestConformance(t *testing.T) {
//		ex := ... // the executor under test
//		executortest.Run(t, executortest.Harness{
//			Executor: ex,
//			NewJob: func(t *testing.T, p executortest.Program) *api.Job {
//				j := &api.Job{ID: executortest.NewID(), Attempt: 1, User: "alice", Run: &api.Run{...}}
//				if p.Forever {
//					j.Run.Argv = []string{"sleep", "300"}
//				} else {
//					j.Run.Argv = []string{"sh", "-c", fmt.Sprintf("exit %d", p.Exit)}
//				}
//				return j
//			},
//		})
//	}
//
// The suite describes what each job must do as a Program and leaves it to
// NewJob to express that on the platform (a shell command for docker,
// GODOCKER_SIM_* variables for the simulator), so the suite never needs to
// know how a platform runs things, and an executor that records the wrong
// exit code, restarts an attempt or loses an event fails it.
//
// The subtests run in parallel, each with its own job ids and its own
// event stream, and remove every container they start.
package executortest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
)

// Program is what the suite asks of a job made by Harness.NewJob.
type Program struct {
	// Exit is the code the job exits with, soon (well within
	// Harness.Timeout) after it started. Ignored when Forever is set.
	Exit int
	// Forever: the job runs until it is killed, at least five minutes.
	Forever bool
}

// String describes the program for test logs.
func (p Program) String() string {
	if p.Forever {
		return "run until killed"
	}
	return fmt.Sprintf("exit %d", p.Exit)
}

// Harness is what Run needs to drive an executor.
type Harness struct {
	// Executor is the implementation under test. It must be safe for
	// concurrent use.
	Executor executor.Executor
	// NewJob returns a job that does what p says once started: ID unique
	// (NewID), Attempt 1, and a resolved Run. It is called once per job
	// the suite starts, from parallel subtests.
	NewJob func(t *testing.T, p Program) *api.Job
	// Timeout bounds each wait for an event and each call to the
	// executor. Zero: 60 seconds.
	Timeout time.Duration
}

// NewID returns a job id no other test is likely to use, even in another
// process running the same tests against the same engine: a random number
// well above the ids a real server hands out.
func NewID() int64 {
	return 1<<40 + rand.Int64N(1<<40)
}

// Run runs the conformance suite against h.Executor as parallel subtests
// of t. Parallel subtests run after the calling test function returns:
// release the executor with t.Cleanup, not defer.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Executor == nil || h.NewJob == nil {
		t.Fatal("executortest.Run: Harness needs an Executor and a NewJob")
	}
	if h.Timeout == 0 {
		h.Timeout = 60 * time.Second
	}
	for _, tc := range []struct {
		name string
		f    func(*testing.T, Harness)
	}{
		{"Nodes", testNodes},
		{"ExitZero", func(t *testing.T, h Harness) { testExit(t, h, 0) }},
		{"ExitNonZero", func(t *testing.T, h Harness) { testExit(t, h, 3) }},
		{"InspectMissing", testInspectMissing},
		{"StartIdempotentRunning", testStartIdempotentRunning},
		{"StartIdempotentExited", testStartIdempotentExited},
		{"NewAttempt", testNewAttempt},
		{"KillRunning", testKillRunning},
		{"KillMissing", testKillMissing},
		{"SuspendResume", testSuspendResume},
		{"Remove", testRemove},
		{"RemoveRunning", testRemoveRunning},
		{"Usage", testUsage},
		{"EventsCloseOnCancel", testEventsClose},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.f(t, h)
		})
	}
}

// ctx returns a context bounded by the harness's timeout, cancelled when
// the test ends.
func (h Harness) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), h.Timeout)
	t.Cleanup(cancel)
	return ctx
}

// job makes a job with h.NewJob and removes its container when the test
// ends.
func (h Harness) job(t *testing.T, p Program) *api.Job {
	t.Helper()
	j := h.NewJob(t, p)
	if j == nil || j.Run == nil {
		t.Fatalf("NewJob(%v) returned a job without a Run", p)
	}
	h.cleanup(t, j)
	return j
}

// cleanup removes j's container when the test ends.
func (h Harness) cleanup(t *testing.T, j *api.Job) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
		defer cancel()
		if err := h.Executor.Remove(ctx, j); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
}

// start starts j where the executor's first node is, failing the test on
// error.
func (h Harness) start(t *testing.T, j *api.Job) {
	t.Helper()
	if err := h.Executor.Start(h.ctx(t), j, executor.Placement{}); err != nil {
		t.Fatalf("Start: %v", err)
	}
}

// inspect inspects j, failing the test on error.
func (h Harness) inspect(t *testing.T, j *api.Job) executor.Status {
	t.Helper()
	st, err := h.Executor.Inspect(h.ctx(t), j)
	if err != nil {
		t.Fatalf("Inspect job %d attempt %d: %v", j.ID, j.Attempt, err)
	}
	return st
}

// wantState fails the test unless st is in state want.
func wantState(t *testing.T, what string, st executor.Status, want executor.ContainerState) {
	t.Helper()
	if st.State != want {
		t.Fatalf("%s: Inspect state %q, want %q (status %+v)", what, st.State, want, st)
	}
}

func testNodes(t *testing.T, h Harness) {
	nodes, err := h.Executor.Nodes(h.ctx(t))
	if err != nil {
		t.Fatalf("Nodes: %v", err)
	}
	if len(nodes) == 0 {
		t.Fatal("Nodes: none")
	}
	for _, n := range nodes {
		if n.Name == "" || n.CPUs <= 0 || n.Memory <= 0 {
			t.Errorf("Nodes: %+v: want a name, cpus > 0 and memory > 0", n)
		}
	}
}

// testExit runs a job that exits with code and checks the events and
// what Inspect reports afterwards.
func testExit(t *testing.T, h Harness, code int) {
	ev := h.watch(t)
	j := h.job(t, Program{Exit: code})
	before := time.Now().Add(-time.Second) // slack for the platform's clock
	h.start(t, j)
	ev.Expect(t, j, executor.Started, executor.Exited)
	st := h.inspect(t, j)
	wantState(t, "after Exited", st, executor.StateExited)
	if st.ExitCode != code {
		t.Errorf("exit code %d, want %d", st.ExitCode, code)
	}
	if st.Container == "" {
		t.Error("Inspect: no container id")
	}
	if st.StartedAt.Before(before) || st.FinishedAt.Before(st.StartedAt) {
		t.Errorf("Inspect: started %v, finished %v: want started after %v and finished after started", st.StartedAt, st.FinishedAt, before)
	}
	nodes, err := h.Executor.Nodes(h.ctx(t))
	if err != nil {
		t.Fatalf("Nodes: %v", err)
	}
	if !slices.ContainsFunc(nodes, func(n executor.Node) bool { return n.Name == st.Node }) {
		t.Errorf("Inspect: node %q is not one of Nodes %v", st.Node, nodes)
	}
}

func testInspectMissing(t *testing.T, h Harness) {
	j := h.job(t, Program{Exit: 0})
	wantState(t, "never started", h.inspect(t, j), executor.StateMissing)
}

func testStartIdempotentRunning(t *testing.T, h Harness) {
	ev := h.watch(t)
	j := h.job(t, Program{Forever: true})
	h.start(t, j)
	ev.Expect(t, j, executor.Started)
	first := h.inspect(t, j)
	wantState(t, "started", first, executor.StateRunning)
	h.start(t, j)
	ev.quiet(t, h, j)
	again := h.inspect(t, j)
	wantState(t, "started twice", again, executor.StateRunning)
	if again.Container != first.Container || !again.StartedAt.Equal(first.StartedAt) {
		t.Errorf("second Start replaced the container: %s started %v, then %s started %v", first.Container, first.StartedAt, again.Container, again.StartedAt)
	}
	if err := h.Executor.Kill(h.ctx(t), j); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	ev.Expect(t, j, executor.Exited)
}

func testStartIdempotentExited(t *testing.T, h Harness) {
	ev := h.watch(t)
	j := h.job(t, Program{Exit: 5})
	h.start(t, j)
	ev.Expect(t, j, executor.Started, executor.Exited)
	first := h.inspect(t, j)
	h.start(t, j)
	ev.quiet(t, h, j)
	again := h.inspect(t, j)
	wantState(t, "exited, then started again", again, executor.StateExited)
	if again.Container != first.Container || again.ExitCode != 5 || !again.FinishedAt.Equal(first.FinishedAt) {
		t.Errorf("second Start of an exited attempt changed it: %+v, then %+v", first, again)
	}
}

// testNewAttempt checks that attempts are separate containers and that
// events say which attempt they are about.
func testNewAttempt(t *testing.T, h Harness) {
	ev := h.watch(t)
	j1 := h.job(t, Program{Exit: 4})
	h.start(t, j1)
	ev.Expect(t, j1, executor.Started, executor.Exited)
	j2 := h.NewJob(t, Program{Exit: 6})
	j2.ID, j2.Attempt = j1.ID, j1.Attempt+1
	h.cleanup(t, j2)
	wantState(t, "next attempt before its Start", h.inspect(t, j2), executor.StateMissing)
	h.start(t, j2)
	ev.Expect(t, j2, executor.Started, executor.Exited)
	if st := h.inspect(t, j2); st.ExitCode != 6 {
		t.Errorf("attempt %d: exit code %d, want 6", j2.Attempt, st.ExitCode)
	}
	if st := h.inspect(t, j1); st.State != executor.StateExited || st.ExitCode != 4 {
		t.Errorf("attempt %d after attempt %d ran: %+v, want exited with 4", j1.Attempt, j2.Attempt, st)
	}
	ev.quiet(t, h, j1)
}

func testKillRunning(t *testing.T, h Harness) {
	ev := h.watch(t)
	j := h.job(t, Program{Forever: true})
	h.start(t, j)
	ev.Expect(t, j, executor.Started)
	if err := h.Executor.Kill(h.ctx(t), j); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	ev.Expect(t, j, executor.Exited)
	st := h.inspect(t, j)
	wantState(t, "killed", st, executor.StateExited)
	if st.ExitCode != 137 {
		t.Errorf("killed: exit code %d, want 137 (SIGKILL)", st.ExitCode)
	}
	if err := h.Executor.Kill(h.ctx(t), j); err != nil {
		t.Errorf("Kill of an exited container: %v, want nil", err)
	}
}

func testKillMissing(t *testing.T, h Harness) {
	j := h.job(t, Program{Forever: true})
	if err := h.Executor.Kill(h.ctx(t), j); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Kill of a job never started: %v, want ErrNotFound", err)
	}
}

func testSuspendResume(t *testing.T, h Harness) {
	ev := h.watch(t)
	j := h.job(t, Program{Forever: true})
	h.start(t, j)
	ev.Expect(t, j, executor.Started)
	err := h.Executor.Suspend(h.ctx(t), j)
	if errors.Is(err, executor.ErrUnsupported) {
		t.Skipf("Suspend: %v", err)
	}
	if err != nil {
		t.Fatalf("Suspend: %v", err)
	}
	ev.Expect(t, j, executor.Paused)
	wantState(t, "suspended", h.inspect(t, j), executor.StatePaused)
	if err := h.Executor.Suspend(h.ctx(t), j); err != nil {
		t.Errorf("Suspend of a suspended container: %v, want nil", err)
	}
	if err := h.Executor.Resume(h.ctx(t), j); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	ev.Expect(t, j, executor.Resumed)
	wantState(t, "resumed", h.inspect(t, j), executor.StateRunning)
	if err := h.Executor.Resume(h.ctx(t), j); err != nil {
		t.Errorf("Resume of a running container: %v, want nil", err)
	}

	// Kill works on a suspended container too.
	if err := h.Executor.Suspend(h.ctx(t), j); err != nil {
		t.Fatalf("Suspend: %v", err)
	}
	ev.Expect(t, j, executor.Paused)
	if err := h.Executor.Kill(h.ctx(t), j); err != nil {
		t.Fatalf("Kill of a suspended container: %v", err)
	}
	// A platform may have to thaw the container to kill it.
	if e := ev.Next(t, j); e.Kind == executor.Resumed {
		ev.Expect(t, j, executor.Exited)
	} else if e.Kind != executor.Exited {
		t.Fatalf("after Kill of a suspended container: event %s, want exited (or resumed, exited)", e.Kind)
	}
	st := h.inspect(t, j)
	wantState(t, "killed while suspended", st, executor.StateExited)
	if st.ExitCode != 137 {
		t.Errorf("killed while suspended: exit code %d, want 137", st.ExitCode)
	}

	other := h.job(t, Program{Forever: true})
	if err := h.Executor.Suspend(h.ctx(t), other); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Suspend of a job never started: %v, want ErrNotFound", err)
	}
}

func testRemove(t *testing.T, h Harness) {
	ev := h.watch(t)
	j := h.job(t, Program{Exit: 0})
	h.start(t, j)
	ev.Expect(t, j, executor.Started, executor.Exited)
	if err := h.Executor.Remove(h.ctx(t), j); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	wantState(t, "removed", h.inspect(t, j), executor.StateMissing)
	if err := h.Executor.Remove(h.ctx(t), j); err != nil {
		t.Errorf("Remove of a removed container: %v, want nil", err)
	}
	if err := h.Executor.Kill(h.ctx(t), j); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Kill of a removed container: %v, want ErrNotFound", err)
	}
}

func testRemoveRunning(t *testing.T, h Harness) {
	ev := h.watch(t)
	j := h.job(t, Program{Forever: true})
	h.start(t, j)
	ev.Expect(t, j, executor.Started)
	if err := h.Executor.Remove(h.ctx(t), j); err != nil {
		t.Fatalf("Remove of a running container: %v", err)
	}
	wantState(t, "removed while running", h.inspect(t, j), executor.StateMissing)
}

func testUsage(t *testing.T, h Harness) {
	ev := h.watch(t)
	j := h.job(t, Program{Forever: true})
	h.start(t, j)
	ev.Expect(t, j, executor.Started)
	u, err := h.Executor.Usage(h.ctx(t), j)
	if err != nil {
		t.Fatalf("Usage of a running job: %v", err)
	}
	if u.CPUSeconds < 0 || u.Memory < 0 || u.MaxMemory < 0 {
		t.Errorf("Usage: %+v: negative", u)
	}
}

func testEventsClose(t *testing.T, h Harness) {
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := h.Executor.Events(ctx)
	if err != nil {
		cancel()
		t.Fatalf("Events: %v", err)
	}
	cancel()
	if !drained(ch, h.Timeout) {
		t.Fatalf("Events: channel still open %v after its context was cancelled", h.Timeout)
	}
}

// watch subscribes to the executor's events for the rest of the test,
// waiting at most h.Timeout for each.
func (h Harness) watch(t *testing.T) *Stream {
	t.Helper()
	s := Watch(t, h.Executor)
	s.Timeout = h.Timeout
	return s
}
