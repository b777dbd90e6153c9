package cluster

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/godocker/godocker/api"
)

// Elector decides which one of several godockerd processes leads: runs
// the scheduler. One process leads at a time; a leader that stops
// renewing its lease (crashed, cut off) loses it once the lease's time
// to live has passed, and another takes over.
type Elector interface {
	// Lead blocks until this process leads, or ctx ends (then it returns
	// ctx's error). The returned context ends when the lead is lost (the
	// lease could not be renewed before it expired) or ctx ends; the
	// caller must stop acting as leader then. Lead may be called again
	// after a lost lead.
	Lead(ctx context.Context) (context.Context, error)
	// Leader returns the id of the process that leads now ("" if none).
	Leader(ctx context.Context) (string, error)
}

// Process is one godockerd as it announces itself (api.Process, the
// wire form gctl status reads).
type Process = api.Process

// Registry keeps the list of live processes: each announces itself
// periodically, and one that stops doing so leaves the list once its
// announcement has expired.
type Registry interface {
	// Announce records p as alive until ttl from now (p.Seen is set to
	// now). A process calls it every ttl/3 or so.
	Announce(ctx context.Context, p Process, ttl time.Duration) error
	// Withdraw removes p at once (a clean stop).
	Withdraw(ctx context.Context, id string) error
	// Processes returns the processes whose announcement has not
	// expired, by id.
	Processes(ctx context.Context) ([]Process, error)
}

// Single is the Elector and Registry of a server that runs alone: it
// always leads, and knows only the processes of its own memory (itself).
type Single struct {
	ID string

	mu    sync.Mutex
	procs map[string]Process
	until map[string]time.Time
}

// NewSingle returns the coordination of a lone process of that id.
func NewSingle(id string) *Single {
	return &Single{ID: id, procs: map[string]Process{}, until: map[string]time.Time{}}
}

// Lead returns at once: a lone process always leads.
func (s *Single) Lead(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return ctx, nil
}

// Leader is the process itself.
func (s *Single) Leader(context.Context) (string, error) { return s.ID, nil }

// Announce implements Registry.
func (s *Single) Announce(_ context.Context, p Process, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.Seen = time.Now().UTC()
	s.procs[p.ID], s.until[p.ID] = p, p.Seen.Add(ttl)
	return nil
}

// Withdraw implements Registry.
func (s *Single) Withdraw(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.procs, id)
	delete(s.until, id)
	return nil
}

// Processes implements Registry.
func (s *Single) Processes(context.Context) ([]Process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	var out []Process
	for id, p := range s.procs {
		if now.Before(s.until[id]) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b Process) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
