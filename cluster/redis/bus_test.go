package redis

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/cluster/redis/redistest"
)

// Markers of the tests, as job ids.
const (
	sentinelA = 1 << 20
	sentinelB = sentinelA + 1
	finalA    = sentinelA + 2
	finalB    = sentinelA + 3
)

// TestBusBetweenProcesses: every event of A and of B reaches every
// subscriber of A and of B, once, in the order of its publisher.
func TestBusBetweenProcesses(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	a, b := open(t, srv, "a"), open(t, srv, "b")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	subs := map[string]<-chan api.Event{
		"a1": a.Subscribe(ctx), "a2": a.Subscribe(ctx), "b1": b.Subscribe(ctx),
	}

	// A subscriber gets 2n+2 events: no more than its buffer holds, so
	// that none is dropped however slowly the test reads.
	const n = 100
	go func() {
		for i := range int64(n) {
			a.Publish(event(1 + i))
		}
		a.Publish(event(sentinelA))
	}()
	go func() {
		for i := range int64(n) {
			b.Publish(event(10001 + i))
		}
		b.Publish(event(sentinelB))
	}()
	// Read every subscriber at once: each has its own buffer.
	var wg sync.WaitGroup
	for name, ch := range subs {
		wg.Go(func() {
			if err := readBoth(ch, n); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// Every subscriber has seen the sentinels of both: a copy of an event
	// of A or B coming back through Redis would arrive before the final
	// events published now.
	a.Publish(event(finalA))
	b.Publish(event(finalB))
	for name, ch := range subs {
		for seen := 0; seen < 2; seen++ {
			if id := next(t, ch, 10*time.Second).Job.ID; id != finalA && id != finalB {
				t.Fatalf("%s: duplicate event for job %d", name, id)
			}
		}
	}
}

// readBoth reads the n events of A (jobs 1..n) and of B (jobs 10001..) and
// their sentinels from ch, and checks the order of each.
func readBoth(ch <-chan api.Event, n int64) error {
	lastA, lastB := int64(0), int64(10000)
	for seen := 0; seen < 2; {
		var ev api.Event
		select {
		case ev = <-ch:
		case <-time.After(10 * time.Second):
			return fmt.Errorf("no event within 10s after A's job %d and B's job %d", lastA, lastB)
		}
		switch id := ev.Job.ID; {
		case id == sentinelA || id == sentinelB:
			seen++
		case id < 10000:
			if id != lastA+1 {
				return fmt.Errorf("event of A for job %d after job %d", id, lastA)
			}
			lastA = id
		default:
			if id != lastB+1 {
				return fmt.Errorf("event of B for job %d after job %d", id, lastB)
			}
			lastB = id
		}
	}
	if lastA != n || lastB != 10000+n {
		return fmt.Errorf("sentinels before the last events (A %d, B %d)", lastA, lastB)
	}
	return nil
}

// TestPublishNeverBlocks: subscribers that do not read, and more events
// than the queue to Redis holds, never slow down Publish.
func TestPublishNeverBlocks(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	a, b := open(t, srv, "a"), open(t, srv, "b")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.Subscribe(ctx) // never read
	b.Subscribe(ctx) // never read

	const n = 20 * publishQueue
	start := time.Now()
	var slowest time.Duration
	for i := range int64(n) {
		t0 := time.Now()
		a.Publish(event(i))
		slowest = max(slowest, time.Since(t0))
	}
	t.Logf("%d Publish in %v, the slowest in %v", n, time.Since(start).Round(time.Millisecond), slowest)
	if slowest > 500*time.Millisecond {
		t.Errorf("a Publish took %v", slowest)
	}

	// The bus still works for a subscriber that reads.
	got := b.Subscribe(ctx)
	waitFor(t, 10*time.Second, "event after the flood reaches b", func() bool {
		a.Publish(event(sentinelA))
		for {
			select {
			case ev := <-got:
				if ev.Job.ID == sentinelA {
					return true
				}
			case <-time.After(50 * time.Millisecond):
				return false
			}
		}
	})
}

// TestBusOutage: while Redis is down, Publish does not block and the
// subscribers of the publishing process get its events; once Redis is
// back, events flow between processes again.
func TestBusOutage(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	a, b := open(t, srv, "a"), open(t, srv, "b")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	subA, subB := a.Subscribe(ctx), b.Subscribe(ctx)

	a.Publish(event(1))
	next(t, subA, 5*time.Second)
	next(t, subB, 5*time.Second)

	srv.Stop()
	for i := range int64(3 * publishQueue) {
		start := time.Now()
		a.Publish(event(100 + i))
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Fatalf("Publish with redis down took %v", d)
		}
		if i < 10 {
			if id := next(t, subA, 5*time.Second).Job.ID; id != 100+i {
				t.Fatalf("local subscriber got job %d, want %d", id, 100+i)
			}
		}
	}

	srv.Restart()
	// Wait until each side's events reach the other again: the
	// subscriptions reconnect by themselves.
	drainUntil := func(ch <-chan api.Event, id int64) bool {
		for {
			select {
			case ev := <-ch:
				if ev.Job.ID == id {
					return true
				}
			case <-time.After(50 * time.Millisecond):
				return false
			}
		}
	}
	waitFor(t, 15*time.Second, "events of a reach b after restart", func() bool {
		a.Publish(event(sentinelA))
		return drainUntil(subB, sentinelA)
	})
	waitFor(t, 15*time.Second, "events of b reach a after restart", func() bool {
		b.Publish(event(sentinelB))
		return drainUntil(subA, sentinelB)
	})
	// From now on, in order and complete.
	drainUntil(subA, -1)
	drainUntil(subB, -1)
	for i := range int64(50) {
		a.Publish(event(1000 + i))
	}
	for i := range int64(50) {
		for name, ch := range map[string]<-chan api.Event{"a": subA, "b": subB} {
			ev := next(t, ch, 5*time.Second)
			for ev.Job.ID >= sentinelA { // a late copy of a marker
				ev = next(t, ch, 5*time.Second)
			}
			if ev.Job.ID != 1000+i {
				t.Fatalf("%s: got job %d, want %d", name, ev.Job.ID, 1000+i)
			}
		}
	}
}
