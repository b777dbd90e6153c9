package redis

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/cluster/redis/redistest"
)

func TestMain(m *testing.M) {
	// go-redis logs each failed dial of the outage tests on stderr; the
	// Coordinator's own log says what matters.
	goredis.SetLogger(quiet{})
	os.Exit(m.Run())
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// testTTL is the lease of the tests: short, so that the package tests in
// seconds.
const testTTL = time.Second

// open opens a Coordinator of that id on the server, closed at the end of
// the test.
func open(t *testing.T, srv *redistest.Server, id string) *Coordinator {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Open(ctx, Options{
		Addr:      srv.Addr,
		ProcessID: id,
		LeaseTTL:  testTTL,
		Prefix:    "test:",
		Log:       slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", id),
	})
	if err != nil {
		t.Fatalf("open %s: %v", id, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitFor polls cond until it holds, and fails the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// next returns the next event of ch, failing the test after timeout.
func next(t *testing.T, ch <-chan api.Event, timeout time.Duration) api.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed")
		}
		return ev
	case <-time.After(timeout):
		t.Fatalf("no event within %v", timeout)
	}
	return api.Event{}
}

func event(id int64) api.Event {
	return api.Event{Kind: api.EventUpdated, Time: time.Now().UTC(), Job: &api.Job{ID: id}}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	if _, err := Open(context.Background(), Options{}); err == nil || !strings.Contains(err.Error(), "GODOCKER_REDIS_ADDR") {
		t.Errorf("Open without address: %v, want an error naming GODOCKER_REDIS_ADDR", err)
	}
	srv := redistest.Start(t)
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	if err := admin.ConfigSet(context.Background(), "requirepass", "secret").Err(); err != nil {
		t.Fatal(err)
	}
	_ = admin.Close()
	_, err := Open(context.Background(), Options{Addr: srv.Addr})
	if err == nil || !strings.Contains(err.Error(), "password") {
		t.Errorf("Open without the password redis wants: %v, want an error about the password", err)
	}
	t.Logf("Open without the password: %v", err)
	c, err := Open(context.Background(), Options{Addr: srv.Addr, Password: "secret"})
	if err != nil {
		t.Fatalf("Open with the password: %v", err)
	}
	_ = c.Close()
	srv.Stop()
	start := time.Now()
	_, err = Open(context.Background(), Options{Addr: srv.Addr})
	if err == nil {
		t.Fatal("Open of a stopped redis succeeded")
	}
	for _, want := range []string{srv.Addr, "redis.addr", "GODOCKER_REDIS_ADDR"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	t.Logf("Open failed in %v: %v", time.Since(start).Round(time.Millisecond), err)
	if _, err := Open(context.Background(), Options{Addr: srv.Addr, LeaseTTL: time.Millisecond}); err == nil {
		t.Error("Open with a 1ms lease succeeded")
	}
}
