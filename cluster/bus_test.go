package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
)

func TestLocalBus(t *testing.T) {
	b := NewLocal()
	ctx, cancel := context.WithCancel(context.Background())
	a, c := b.Subscribe(ctx), b.Subscribe(context.Background())
	b.Publish(api.Event{Kind: api.EventSubmitted, Job: &api.Job{ID: 7}})
	for _, ch := range []<-chan api.Event{a, c} {
		select {
		case ev := <-ch:
			if ev.Job.ID != 7 {
				t.Errorf("got event for job %d", ev.Job.ID)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("subscriber got no event")
		}
	}
	cancel()
	if _, open := <-a; open {
		t.Error("channel still open after its context ended")
	}
	// A subscriber that does not read never blocks the publisher.
	for range subscriberBuffer * 2 {
		b.Publish(api.Event{Kind: api.EventUpdated, Job: &api.Job{ID: 8}})
	}
}
