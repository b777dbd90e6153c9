package sim

import (
	"context"
	"sync"
	"time"

	"github.com/godocker/godocker/executor"
)

// sub is one Events stream. Events queue without bound, so that Start,
// Kill and Finish never block on a reader that is slow or gone; the
// forwarding goroutine delivers them in order until ctx ends.
type sub struct {
	mu    sync.Mutex
	queue []executor.Event
	wake  chan struct{} // 1-buffered: something was queued
}

// Events streams the simulated containers' changes from now until ctx
// ends, when the channel is closed.
func (s *Sim) Events(ctx context.Context) (<-chan executor.Event, error) {
	b := &sub{wake: make(chan struct{}, 1)}
	out := make(chan executor.Event)
	s.mu.Lock()
	s.subs[b] = struct{}{}
	s.mu.Unlock()
	go func() {
		defer close(out)
		defer func() {
			s.mu.Lock()
			delete(s.subs, b)
			s.mu.Unlock()
		}()
		for {
			b.mu.Lock()
			q := b.queue
			b.queue = nil
			b.mu.Unlock()
			for _, ev := range q {
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-b.wake:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// emit queues an event for every stream. s.mu is held.
func (s *Sim) emit(k key, kind executor.EventKind, t time.Time) {
	ev := executor.Event{JobID: k.job, Attempt: k.attempt, Kind: kind, Time: t}
	for b := range s.subs {
		b.mu.Lock()
		b.queue = append(b.queue, ev)
		b.mu.Unlock()
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
}
