package redis

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/godocker/godocker/cluster"
	"github.com/godocker/godocker/cluster/redis/redistest"
)

func ids(t *testing.T, c *Coordinator) []string {
	t.Helper()
	ps, err := c.Processes(context.Background())
	if err != nil {
		t.Fatalf("Processes: %v", err)
	}
	out := []string{}
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

// TestRegistry: announce, withdraw, expiry, order by id.
func TestRegistry(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	a, b := open(t, srv, "a"), open(t, srv, "b")
	ctx := context.Background()

	if got := ids(t, a); len(got) != 0 {
		t.Fatalf("processes before any announce: %v", got)
	}
	started := time.Now().UTC().Truncate(time.Second)
	short := cluster.Process{ID: "host2:20:b", Host: "host2", PID: 20, Roles: []string{"api"}, Version: "1.0", Started: started}
	long := cluster.Process{ID: "host1:10:a", Host: "host1", PID: 10, Roles: []string{"api", "scheduler"}, Started: started}
	before := time.Now()
	if err := a.Announce(ctx, short, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := b.Announce(ctx, long, time.Minute); err != nil {
		t.Fatal(err)
	}
	after := time.Now()

	ps, err := a.Processes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].ID != long.ID || ps[1].ID != short.ID {
		t.Fatalf("Processes = %+v, want %s then %s", ps, long.ID, short.ID)
	}
	for i, want := range []cluster.Process{long, short} {
		got := ps[i]
		if got.Seen.Before(before.Add(-time.Millisecond)) || got.Seen.After(after) {
			t.Errorf("%s: Seen %v not within the announce [%v, %v]", got.ID, got.Seen, before, after)
		}
		got.Seen = time.Time{}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Processes[%d] = %+v, want %+v", i, got, want)
		}
	}

	if err := a.Withdraw(ctx, long.ID); err != nil {
		t.Fatal(err)
	}
	if got := ids(t, b); !reflect.DeepEqual(got, []string{short.ID}) {
		t.Fatalf("after Withdraw: %v", got)
	}

	// The short announcement expires by itself, not before its time.
	waitFor(t, 500*time.Millisecond+time.Second, "announcement expires", func() bool {
		return len(ids(t, a)) == 0
	})
	if d := time.Since(before); d < 500*time.Millisecond-50*time.Millisecond {
		t.Errorf("a 500ms announcement expired after %v", d)
	}

	// An announcement renewed before it expires stays.
	renewed := cluster.Process{ID: "host3:30:c", Host: "host3", PID: 30}
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if err := a.Announce(ctx, renewed, 300*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if got := ids(t, b); !reflect.DeepEqual(got, []string{renewed.ID}) {
			t.Fatalf("renewed announcement: %v", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := b.Withdraw(ctx, renewed.ID); err != nil {
		t.Fatal(err)
	}
	if got := ids(t, a); len(got) != 0 {
		t.Fatalf("after Withdraw: %v", got)
	}
}

// TestRegistryOutage: the registry reports errors while Redis is down and
// works again once it is back.
func TestRegistryOutage(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	a := open(t, srv, "a")
	p := cluster.Process{ID: "a"}
	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := a.Announce(ctx, p, time.Minute); err == nil {
		t.Error("Announce with redis down succeeded")
	}
	if _, err := a.Processes(ctx); err == nil {
		t.Error("Processes with redis down succeeded")
	}
	srv.Restart()
	waitFor(t, 10*time.Second, "announce after restart", func() bool {
		return a.Announce(context.Background(), p, time.Minute) == nil
	})
	if got := ids(t, a); !reflect.DeepEqual(got, []string{"a"}) {
		t.Fatalf("after restart: %v", got)
	}
}
