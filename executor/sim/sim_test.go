package sim_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/executor/executortest"
	"github.com/godocker/godocker/executor/sim"
)

// newJob makes a job of the simulator: a Program is expressed with the
// GODOCKER_SIM_* variables.
func newJob(_ *testing.T, p executortest.Program) *api.Job {
	j := &api.Job{
		ID: executortest.NewID(), Attempt: 1, User: "alice", UID: 1000, GID: 1000,
		Run: &api.Run{Image: "godocker/base:latest", Argv: []string{"true"}, UID: 1000, GID: 1000, CPUs: 1},
	}
	if !p.Forever {
		j.Run.Env = []string{sim.EnvSeconds + "=0", fmt.Sprintf("%s=%d", sim.EnvExit, p.Exit)}
	}
	return j
}

func TestConformance(t *testing.T) {
	s := sim.New()
	t.Cleanup(func() { s.Close() })
	executortest.Run(t, executortest.Harness{Executor: s, NewJob: newJob, Timeout: 10 * time.Second})
}

func TestOpen(t *testing.T) {
	ex, err := executor.Open(t.Context(), "test", executor.Config{Type: "sim", CPUs: 16, Memory: "64G"})
	if err != nil {
		t.Fatal(err)
	}
	if ex.Name() != "test" {
		t.Errorf("Name %q, want test", ex.Name())
	}
	nodes, err := ex.Nodes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := executor.Node{Name: sim.DefaultNode, CPUs: 16, Memory: 64 << 30}
	if len(nodes) != 1 || nodes[0].Name != want.Name || nodes[0].CPUs != want.CPUs || nodes[0].Memory != want.Memory {
		t.Errorf("Nodes %+v, want [%+v]", nodes, want)
	}
	if _, err := sim.Open("bad", executor.Config{Memory: "lots"}); err == nil {
		t.Error("Open with memory \"lots\": no error")
	}
	s, err := sim.Open("default", executor.Config{})
	if err != nil {
		t.Fatal(err)
	}
	nodes, _ = s.Nodes(t.Context())
	if nodes[0].CPUs != sim.DefaultCPUs || nodes[0].Memory != sim.DefaultMemory {
		t.Errorf("default Nodes %+v", nodes)
	}
}

func TestFinish(t *testing.T) {
	s := sim.New()
	ev := executortest.Watch(t, s)
	j := newJob(t, executortest.Program{Forever: true})
	if err := s.Start(t.Context(), j, executor.Placement{}); err != nil {
		t.Fatal(err)
	}
	ev.Expect(t, j, executor.Started)
	if err := s.Finish(j.ID, 42); err != nil {
		t.Fatal(err)
	}
	ev.Expect(t, j, executor.Exited)
	st, _ := s.Inspect(t.Context(), j)
	if st.State != executor.StateExited || st.ExitCode != 42 {
		t.Errorf("after Finish(42): %+v", st)
	}
	if err := s.Finish(j.ID, 1); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Finish of an exited job: %v, want ErrNotFound", err)
	}

	// Finish ends the latest attempt.
	j2 := j.Clone()
	j2.Attempt = 2
	if err := s.Start(t.Context(), j2, executor.Placement{}); err != nil {
		t.Fatal(err)
	}
	ev.Expect(t, j2, executor.Started)
	if err := s.Finish(j.ID, 0); err != nil {
		t.Fatal(err)
	}
	ev.Expect(t, j2, executor.Exited)
}

// TestDuration runs in a synctest bubble: fake time, and a failure if a
// goroutine is left blocked.
func TestDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := sim.New()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		events, err := s.Events(ctx)
		if err != nil {
			t.Fatal(err)
		}
		j := newJob(t, executortest.Program{Forever: true})
		j.Run.Env = []string{sim.EnvSeconds + "=30", sim.EnvExit + "=9"}
		if err := s.Start(ctx, j, executor.Placement{}); err != nil {
			t.Fatal(err)
		}
		state := func() executor.ContainerState {
			synctest.Wait()
			st, err := s.Inspect(ctx, j)
			if err != nil {
				t.Fatal(err)
			}
			return st.State
		}
		time.Sleep(20 * time.Second)
		if err := s.Suspend(ctx, j); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour) // suspended time does not count
		if st := state(); st != executor.StatePaused {
			t.Fatalf("after 20s running and an hour suspended: %s, want paused", st)
		}
		if err := s.Resume(ctx, j); err != nil {
			t.Fatal(err)
		}
		time.Sleep(9 * time.Second)
		if st := state(); st != executor.StateRunning {
			t.Fatalf("after 29s running: %s, want running", st)
		}
		time.Sleep(2 * time.Second)
		if st := state(); st != executor.StateExited {
			t.Fatalf("after 31s running: %s, want exited", st)
		}
		if st, _ := s.Inspect(ctx, j); st.ExitCode != 9 || st.FinishedAt.Sub(st.StartedAt) != time.Hour+30*time.Second {
			t.Errorf("exit %d after %v, want 9 after 1h0m30s", st.ExitCode, st.FinishedAt.Sub(st.StartedAt))
		}
		var kinds []executor.EventKind
		for range 4 {
			kinds = append(kinds, (<-events).Kind)
		}
		want := []executor.EventKind{executor.Started, executor.Paused, executor.Resumed, executor.Exited}
		if fmt.Sprint(kinds) != fmt.Sprint(want) {
			t.Errorf("events %v, want %v", kinds, want)
		}
		cancel()
		if _, ok := <-events; ok {
			t.Error("event stream still open after cancel")
		}
	})
}

// TestCloseStopsTimers: after Close, a job that would end by itself does
// not.
func TestCloseStopsTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := sim.New()
		j := newJob(t, executortest.Program{})
		j.Run.Env = []string{sim.EnvSeconds + "=5"}
		if err := s.Start(t.Context(), j, executor.Placement{}); err != nil {
			t.Fatal(err)
		}
		s.Close()
		time.Sleep(time.Minute)
		synctest.Wait()
		if st, _ := s.Inspect(t.Context(), j); st.State != executor.StateRunning {
			t.Errorf("after Close and a minute: %s, want running (timer stopped)", st.State)
		}
		if err := s.Start(t.Context(), newJob(t, executortest.Program{}), executor.Placement{}); err == nil {
			t.Error("Start after Close: no error")
		}
	})
}

func TestPlacement(t *testing.T) {
	s := sim.New(executor.Node{Name: "a", CPUs: 2, Memory: 1 << 30}, executor.Node{Name: "b", CPUs: 8, Memory: 1 << 30})
	j := newJob(t, executortest.Program{Forever: true})
	if err := s.Start(t.Context(), j, executor.Placement{Node: "b"}); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Inspect(t.Context(), j); st.Node != "b" {
		t.Errorf("placed on b, Inspect says node %q", st.Node)
	}
	if err := s.Start(t.Context(), newJob(t, executortest.Program{}), executor.Placement{Node: "c"}); err == nil {
		t.Error("Start on unknown node c: no error")
	}
	bad := newJob(t, executortest.Program{})
	bad.Run.Env = []string{sim.EnvSeconds + "=soon"}
	if err := s.Start(t.Context(), bad, executor.Placement{}); err == nil {
		t.Errorf("Start with %s=soon: no error", sim.EnvSeconds)
	}
}

func TestExecUnsupported(t *testing.T) {
	s := sim.New()
	if _, err := s.Exec(t.Context(), newJob(t, executortest.Program{}), executor.ExecRequest{Cmd: []string{"sh"}}); !errors.Is(err, executor.ErrUnsupported) {
		t.Errorf("Exec: %v, want ErrUnsupported", err)
	}
}
