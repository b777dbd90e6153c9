package executortest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/executor/executortest"
	"github.com/godocker/godocker/executor/sim"
)

// The suite must be able to fail: each mutant below is the simulator with
// one contract violation, and TestSuiteCatchesMutants checks that the
// suite fails against each of them, in a child process (a failing suite
// fails its *testing.T).

// mutants are contract violations, keyed by the name passed to the child
// process in mutantEnv.
var mutants = map[string]func(*sim.Sim) executor.Executor{
	// Records every exit as 0.
	"exit-code": func(s *sim.Sim) executor.Executor { return exitZero{s} },
	// Replaces the container when an attempt is started again.
	"not-idempotent": func(s *sim.Sim) executor.Executor { return restart{s} },
	// Kill of a missing container succeeds.
	"kill-missing": func(s *sim.Sim) executor.Executor { return killMissing{s} },
	// Remove leaves the container behind.
	"remove-noop": func(s *sim.Sim) executor.Executor { return removeNoop{s} },
	// Events never close their channel.
	"events-open": func(s *sim.Sim) executor.Executor { return eventsOpen{s} },
}

const mutantEnv = "EXECUTORTEST_MUTANT"

type exitZero struct{ *sim.Sim }

func (m exitZero) Inspect(ctx context.Context, j *api.Job) (executor.Status, error) {
	st, err := m.Sim.Inspect(ctx, j)
	st.ExitCode = 0
	return st, err
}

type restart struct{ *sim.Sim }

func (m restart) Start(ctx context.Context, j *api.Job, p executor.Placement) error {
	if err := m.Sim.Remove(ctx, j); err != nil {
		return err
	}
	return m.Sim.Start(ctx, j, p)
}

type killMissing struct{ *sim.Sim }

func (m killMissing) Kill(ctx context.Context, j *api.Job) error {
	m.Sim.Kill(ctx, j)
	return nil
}

type removeNoop struct{ *sim.Sim }

func (removeNoop) Remove(context.Context, *api.Job) error { return nil }

type eventsOpen struct{ *sim.Sim }

func (m eventsOpen) Events(ctx context.Context) (<-chan executor.Event, error) {
	in, err := m.Sim.Events(ctx)
	out := make(chan executor.Event)
	go func() {
		for e := range in {
			out <- e
		}
	}()
	return out, err
}

func newJob(_ *testing.T, p executortest.Program) *api.Job {
	j := &api.Job{ID: executortest.NewID(), Attempt: 1, User: "alice", Run: &api.Run{Image: "x", Argv: []string{"true"}}}
	if !p.Forever {
		j.Run.Env = []string{sim.EnvSeconds + "=0", fmt.Sprintf("%s=%d", sim.EnvExit, p.Exit)}
	}
	return j
}

// TestMutant runs the suite against the mutant named in the environment;
// it is the child process of TestSuiteCatchesMutants.
func TestMutant(t *testing.T) {
	name := os.Getenv(mutantEnv)
	if name == "" {
		t.Skip("run by TestSuiteCatchesMutants")
	}
	s := sim.New()
	t.Cleanup(func() { s.Close() }) // after the parallel subtests, unlike defer
	executortest.Run(t, executortest.Harness{Executor: mutants[name](s), NewJob: newJob, Timeout: time.Second})
}

func TestSuiteCatchesMutants(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process per mutant")
	}
	for name := range mutants {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestMutant$", "-test.count=1", "-test.timeout=2m")
			cmd.Env = append(os.Environ(), mutantEnv+"="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed against mutant %s:\n%s", name, out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestMutant/") {
				t.Fatalf("mutant %s: the child failed, but not in a subtest of the suite: %v\n%s", name, err, out)
			}
			t.Logf("mutant %s caught:\n%s", name, failures(string(out)))
		})
	}
}

// failures picks the failing subtests' lines out of go test output.
func failures(out string) string {
	var b strings.Builder
	for l := range strings.Lines(out) {
		if strings.Contains(l, "--- FAIL") || strings.Contains(l, ".go:") {
			b.WriteString(l)
		}
	}
	return b.String()
}

// TestSuitePassesSim is the control: the simulator itself passes.
func TestSuitePassesSim(t *testing.T) {
	s := sim.New()
	t.Cleanup(func() { s.Close() }) // after the parallel subtests, unlike defer
	executortest.Run(t, executortest.Harness{Executor: s, NewJob: newJob, Timeout: 5 * time.Second})
}
