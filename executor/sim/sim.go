// Package sim is an in-memory executor, registered as the type "sim", for
// tests and benchmarks whose subject is the scheduler or the server. It
// runs nothing: Start records a container as running, and the job ends
// when the test says so (Finish) or after a simulated duration. Never use
// it as a stand-in in a test whose subject is a real executor: those run
// against the real platform (see executor/executortest).
//
// A job's Run.Env can steer the simulation:
//
//	GODOCKER_SIM_SECONDS=N  the job exits N seconds (a decimal) after it
//	                        started; without it the job runs until Finish,
//	                        Kill or Remove. Time spent suspended does not
//	                        count.
//	GODOCKER_SIM_EXIT=N     the exit code it ends with then (default 0).
//
// Kill ends a job with exit code 137, as SIGKILL does. Exec is
// executor.ErrUnsupported and Usage reports zeros.
package sim

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
)

// Environment variables of job.Run.Env that the simulator honours.
const (
	EnvSeconds = "GODOCKER_SIM_SECONDS"
	EnvExit    = "GODOCKER_SIM_EXIT"
)

// Default capacity of the one node of a simulator opened from a
// configuration that does not say.
const (
	DefaultNode   = "sim1"
	DefaultCPUs   = 4
	DefaultMemory = 8 << 30
)

func init() {
	executor.Register("sim", func(_ context.Context, name string, cfg executor.Config) (executor.Executor, error) {
		return Open(name, cfg)
	})
}

// Sim is the simulated executor. It is safe for concurrent use. Close it
// to stop the timers of jobs that end by themselves.
type Sim struct {
	name  string
	nodes []executor.Node

	mu     sync.Mutex
	conts  map[key]*cont
	subs   map[*sub]struct{}
	seq    int
	closed bool
}

var _ executor.Executor = (*Sim)(nil)

type key struct {
	job     int64
	attempt int
}

// cont is a simulated container.
type cont struct {
	id        string
	node      string
	state     executor.ContainerState
	exit      int
	started   time.Time
	finished  time.Time
	autoExit  int
	remaining time.Duration // of the simulated run; < 0: runs until told
	resumedAt time.Time     // when remaining started counting down
	timer     *time.Timer
}

// New returns a simulator with the given nodes, or with one node
// DefaultNode of DefaultCPUs and DefaultMemory if none are given. Its name
// is "sim".
func New(nodes ...executor.Node) *Sim {
	if len(nodes) == 0 {
		nodes = []executor.Node{{Name: DefaultNode, CPUs: DefaultCPUs, Memory: DefaultMemory}}
	}
	return &Sim{
		name:  "sim",
		nodes: append([]executor.Node(nil), nodes...),
		conts: map[key]*cont{},
		subs:  map[*sub]struct{}{},
	}
}

// Open returns a simulator named name with one node DefaultNode whose
// capacity is cfg.CPUs and cfg.Memory (defaults DefaultCPUs and
// DefaultMemory).
func Open(name string, cfg executor.Config) (*Sim, error) {
	n := executor.Node{Name: DefaultNode, CPUs: DefaultCPUs, Memory: DefaultMemory}
	if cfg.CPUs < 0 {
		return nil, fmt.Errorf("executor %s: cpus %d: want 0 (the default, %d) or more", name, cfg.CPUs, DefaultCPUs)
	}
	if cfg.CPUs > 0 {
		n.CPUs = cfg.CPUs
	}
	if cfg.Memory != "" {
		m, err := api.ParseMemory(cfg.Memory)
		if err != nil {
			return nil, fmt.Errorf("executor %s: %w", name, err)
		}
		if m > 0 {
			n.Memory = m
		}
	}
	s := New(n)
	s.name = name
	return s, nil
}

// Name is the name the simulator was configured under.
func (s *Sim) Name() string { return s.name }

// Nodes returns the simulated nodes.
func (s *Sim) Nodes(context.Context) ([]executor.Node, error) {
	out := make([]executor.Node, len(s.nodes))
	for i, n := range s.nodes {
		n.Labels = maps.Clone(n.Labels)
		out[i] = n
	}
	return out, nil
}

// Start records the attempt's container as running on p.Node (empty: the
// first node) and emits Started. Starting an attempt that has a container
// already changes nothing.
func (s *Sim) Start(_ context.Context, j *api.Job, p executor.Placement) error {
	if j.Run == nil || len(j.Run.Argv) == 0 {
		return fmt.Errorf("start job %d: no resolved execution (job.Run with an argv)", j.ID)
	}
	node := s.nodes[0].Name
	if p.Node != "" {
		node = ""
		for _, n := range s.nodes {
			if n.Name == p.Node {
				node = n.Name
			}
		}
		if node == "" {
			return fmt.Errorf("start job %d: no node %q in simulator %s", j.ID, p.Node, s.name)
		}
	}
	secs, exit, err := simParams(j.Run.Env)
	if err != nil {
		return fmt.Errorf("start job %d: %w", j.ID, err)
	}
	k := key{j.ID, j.Attempt}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("start job %d: simulator %s is closed", j.ID, s.name)
	}
	if _, ok := s.conts[k]; ok {
		return nil
	}
	s.seq++
	now := time.Now()
	c := &cont{
		id:        fmt.Sprintf("sim-%d-%d-%d", j.ID, j.Attempt, s.seq),
		node:      node,
		state:     executor.StateRunning,
		started:   now,
		autoExit:  exit,
		remaining: secs,
	}
	s.conts[k] = c
	s.emit(k, executor.Started, now)
	s.arm(k, c)
	return nil
}

// simParams reads the simulation's parameters from a job's environment.
func simParams(env []string) (d time.Duration, exit int, err error) {
	d = -1
	for _, kv := range env {
		name, val, _ := strings.Cut(kv, "=")
		switch name {
		case EnvSeconds:
			f, err := strconv.ParseFloat(val, 64)
			if err != nil || f < 0 {
				return 0, 0, fmt.Errorf("%s=%q: want a number of seconds", EnvSeconds, val)
			}
			d = time.Duration(f * float64(time.Second))
		case EnvExit:
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 || n > 255 {
				return 0, 0, fmt.Errorf("%s=%q: want an exit code 0-255", EnvExit, val)
			}
			exit = n
		}
	}
	return d, exit, nil
}

// arm starts the timer of a running container that ends by itself.
// s.mu is held.
func (s *Sim) arm(k key, c *cont) {
	if c.remaining < 0 {
		return
	}
	c.resumedAt = time.Now()
	var t *time.Timer
	t = time.AfterFunc(c.remaining, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if c.timer != t || s.conts[k] != c {
			return // stopped, re-armed or removed meanwhile
		}
		s.exit(k, c, c.autoExit)
	})
	c.timer = t
}

// disarm stops a container's timer, keeping what is left of its run.
// s.mu is held.
func (s *Sim) disarm(c *cont) {
	if c.timer == nil {
		return
	}
	c.timer.Stop()
	c.timer = nil
	c.remaining = max(0, c.remaining-time.Since(c.resumedAt))
}

// exit ends a running or paused container with code. s.mu is held.
func (s *Sim) exit(k key, c *cont, code int) {
	s.disarm(c)
	now := time.Now()
	c.state = executor.StateExited
	c.exit = code
	c.finished = now
	s.emit(k, executor.Exited, now)
}

// Finish ends the current (highest) attempt of job id that is running or
// suspended with exitCode and emits Exited. It returns
// executor.ErrNotFound if no attempt of the job is running.
func (s *Sim) Finish(id int64, exitCode int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var k key
	var c *cont
	for ck, cc := range s.conts {
		if ck.job == id && cc.state != executor.StateExited && (c == nil || ck.attempt > k.attempt) {
			k, c = ck, cc
		}
	}
	if c == nil {
		return fmt.Errorf("finish job %d: no running container: %w", id, executor.ErrNotFound)
	}
	s.exit(k, c, exitCode)
	return nil
}

// lookup returns the container of the job's current attempt. s.mu is
// held.
func (s *Sim) lookup(op string, j *api.Job) (key, *cont, error) {
	k := key{j.ID, j.Attempt}
	c, ok := s.conts[k]
	if !ok {
		return k, nil, fmt.Errorf("%s job %d: %s: %w", op, j.ID, executor.ContainerOf("", j), executor.ErrNotFound)
	}
	return k, c, nil
}

// Kill ends a running or suspended job with exit code 137.
func (s *Sim) Kill(_ context.Context, j *api.Job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, c, err := s.lookup("kill", j)
	if err != nil {
		return err
	}
	if c.state == executor.StateExited {
		return nil
	}
	s.exit(k, c, 137) // a suspended one too, with no Resumed, as Docker does

	return nil
}

// Suspend pauses a running job: its simulated duration stops counting.
func (s *Sim) Suspend(_ context.Context, j *api.Job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, c, err := s.lookup("suspend", j)
	if err != nil {
		return err
	}
	switch c.state {
	case executor.StatePaused:
		return nil
	case executor.StateRunning:
		s.disarm(c)
		c.state = executor.StatePaused
		s.emit(k, executor.Paused, time.Now())
		return nil
	}
	return fmt.Errorf("suspend job %d: container is %s", j.ID, c.state)
}

// Resume thaws a suspended job.
func (s *Sim) Resume(_ context.Context, j *api.Job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, c, err := s.lookup("resume", j)
	if err != nil {
		return err
	}
	switch c.state {
	case executor.StateRunning:
		return nil
	case executor.StatePaused:
		c.state = executor.StateRunning
		s.emit(k, executor.Resumed, time.Now())
		s.arm(k, c)
		return nil
	}
	return fmt.Errorf("resume job %d: container is %s", j.ID, c.state)
}

// Inspect reports the simulated container of the job's current attempt.
func (s *Sim) Inspect(_ context.Context, j *api.Job) (executor.Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.conts[key{j.ID, j.Attempt}]
	if !ok {
		return executor.Status{State: executor.StateMissing}, nil
	}
	return executor.Status{
		State:      c.state,
		ExitCode:   c.exit,
		Node:       c.node,
		Container:  c.id,
		StartedAt:  c.started,
		FinishedAt: c.finished,
	}, nil
}

// Remove deletes the container. A running or suspended one is killed
// first (Exited, code 137), as a forced removal does on a real engine.
func (s *Sim) Remove(_ context.Context, j *api.Job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{j.ID, j.Attempt}
	c, ok := s.conts[k]
	if !ok {
		return nil
	}
	if c.state != executor.StateExited {
		s.exit(k, c, 137)
	}
	delete(s.conts, k)
	return nil
}

// Exec is not supported: nothing runs in a simulated container.
func (s *Sim) Exec(_ context.Context, j *api.Job, _ executor.ExecRequest) (executor.Session, error) {
	return nil, fmt.Errorf("exec in job %d: %w", j.ID, executor.ErrUnsupported)
}

// Usage reports zeros for a job that has a container.
func (s *Sim) Usage(_ context.Context, j *api.Job) (api.Usage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, _, err := s.lookup("usage of", j); err != nil {
		return api.Usage{}, err
	}
	return api.Usage{}, nil
}

// Close stops the timers of all jobs; the simulator starts no more jobs.
// Event streams end with their contexts.
func (s *Sim) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, c := range s.conts {
		s.disarm(c)
	}
	return nil
}
