// Package cluster coordinates godockerd processes: the job event bus (and,
// in cluster mode, the scheduler's leader lease). Local is the in-process
// implementation used by a single server.
package cluster

import (
	"context"
	"sync"

	"github.com/godocker/godocker/api"
)

// Bus carries job events to every subscriber.
type Bus interface {
	// Publish sends ev to every current subscriber. It never blocks: a
	// subscriber that does not keep up loses events (and should re-read
	// the store), the publisher is never slowed down.
	Publish(ev api.Event)
	// Subscribe returns a channel of events published from now on; it is
	// closed when ctx ends.
	Subscribe(ctx context.Context) <-chan api.Event
}

// Local is a Bus inside one process.
type Local struct {
	mu   sync.Mutex
	subs map[chan api.Event]struct{}
}

// NewLocal returns an empty in-process bus.
func NewLocal() *Local { return &Local{subs: map[chan api.Event]struct{}{}} }

// subscriberBuffer is how many events a slow subscriber may lag behind.
const subscriberBuffer = 256

// Publish implements Bus.
func (b *Local) Publish(ev api.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}

// Subscribe implements Bus.
func (b *Local) Subscribe(ctx context.Context) <-chan api.Event {
	ch := make(chan api.Event, subscriberBuffer)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	go func() {
		<-ctx.Done()
		b.mu.Lock()
		delete(b.subs, ch)
		close(ch)
		b.mu.Unlock()
	}()
	return ch
}
