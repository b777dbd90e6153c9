package redis

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/godocker/godocker/cluster/redis/redistest"
)

// renewal is the renewal period of the tests' lease.
const renewal = testTTL / 3

// slack absorbs the scheduling delays of a loaded test machine (-race).
const slack = 300 * time.Millisecond

// lead is the outcome of a Lead.
type lead struct {
	id  string
	ctx context.Context
	at  time.Time
	err error
}

// leadAsync calls c.Lead in a goroutine; the outcome comes on the channel.
func leadAsync(ctx context.Context, c *Coordinator) <-chan lead {
	ch := make(chan lead, 1)
	go func() {
		lctx, err := c.Lead(ctx)
		ch <- lead{id: c.ID(), ctx: lctx, at: time.Now(), err: err}
	}()
	return ch
}

func mustLead(t *testing.T, ctx context.Context, c *Coordinator) context.Context {
	t.Helper()
	l := <-leadAsync(ctx, c)
	if l.err != nil {
		t.Fatalf("%s: Lead: %v", c.ID(), l.err)
	}
	return l.ctx
}

// oneLeads waits (10 s at most) for one of two campaigns to win, and
// checks that Leader, asked of c, names the winner.
func oneLeads(t *testing.T, c *Coordinator, event string, since time.Time, first, second <-chan lead) {
	t.Helper()
	var l lead
	select {
	case l = <-first:
	case l = <-second:
	case <-time.After(10 * time.Second):
		t.Fatalf("nobody leads 10s after %s", event)
	}
	if l.err != nil {
		t.Fatal(l.err)
	}
	t.Logf("%s leads %v after %s", l.id, time.Since(since).Round(time.Millisecond), event)
	if id := leader(t, c); id != l.id {
		t.Errorf("Leader = %q, want %s", id, l.id)
	}
}

func leader(t *testing.T, c *Coordinator) string {
	t.Helper()
	id, err := c.Leader(context.Background())
	if err != nil {
		t.Fatalf("Leader: %v", err)
	}
	return id
}

func ended(ctx context.Context) bool { return ctx.Err() != nil }

// TestLeaderExclusive: three processes that take turns never lead at the
// same time.
func TestLeaderExclusive(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cs := []*Coordinator{open(t, srv, "a"), open(t, srv, "b"), open(t, srv, "c")}
	if id := leader(t, cs[0]); id != "" {
		t.Fatalf("leader before any Lead: %q", id)
	}

	// Nobody leads in the first LeaseTTL of a new Redis.
	ctx, cancel := context.WithTimeout(context.Background(), testTTL+4*time.Second)
	defer cancel()
	var (
		leaders atomic.Int32
		mu      sync.Mutex
		terms   []string
		wg      sync.WaitGroup
	)
	for _, c := range cs {
		wg.Go(func() {
			for ctx.Err() == nil {
				tctx, tcancel := context.WithCancel(ctx)
				lctx, err := c.Lead(tctx)
				if err != nil {
					tcancel()
					return
				}
				if n := leaders.Add(1); n > 1 {
					t.Errorf("%d leaders at once (%s just took the lead)", n, c.ID())
				}
				mu.Lock()
				terms = append(terms, c.ID())
				mu.Unlock()
				if id, err := c.Leader(lctx); err == nil && id != c.ID() {
					t.Errorf("%s leads, Leader says %q", c.ID(), id)
				}
				select {
				case <-lctx.Done():
				case <-time.After(time.Duration(50+rand.IntN(250)) * time.Millisecond):
				}
				if lctx.Err() != nil && ctx.Err() == nil {
					t.Errorf("%s lost the lead: %v", c.ID(), context.Cause(lctx))
				}
				leaders.Add(-1)
				tcancel() // releases the lease
				// Give the others a chance.
				select {
				case <-ctx.Done():
				case <-time.After(time.Duration(rand.IntN(400)) * time.Millisecond):
				}
			}
		})
	}
	wg.Wait()
	handovers := 0
	for i := 1; i < len(terms); i++ {
		if terms[i] != terms[i-1] {
			handovers++
		}
	}
	t.Logf("terms: %v", terms)
	if handovers < 3 {
		t.Errorf("only %d handovers in %d terms", handovers, len(terms))
	}
}

// TestLeaderHandover: the leader keeps the lead while it renews; when its
// Lead context is cancelled, or its Coordinator closed, another process
// takes over within a lease and a renewal period.
func TestLeaderHandover(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	a, b, c := open(t, srv, "a"), open(t, srv, "b"), open(t, srv, "c")
	ctx := context.Background()

	actx, acancel := context.WithCancel(ctx)
	la := mustLead(t, actx, a)
	waiting := map[string]<-chan lead{"b": leadAsync(ctx, b), "c": leadAsync(ctx, c)}
	// The lead lasts longer than its lease: it is renewed.
	select {
	case <-la.Done():
		t.Fatalf("a lost the lead: %v", context.Cause(la))
	case l := <-waiting["b"]:
		t.Fatalf("b leads while a does: %+v", l)
	case l := <-waiting["c"]:
		t.Fatalf("c leads while a does: %+v", l)
	case <-time.After(2 * testTTL):
	}
	if id := leader(t, b); id != "a" {
		t.Fatalf("Leader = %q, want a", id)
	}

	acancel()
	if !ended(la) {
		t.Fatal("a's lead context still open after its Lead context ended")
	}
	next := func(from time.Time) lead {
		t.Helper()
		select {
		case l := <-waiting["b"]:
			delete(waiting, "b")
			return l
		case l := <-waiting["c"]:
			delete(waiting, "c")
			return l
		case <-time.After(testTTL + renewal + slack):
			t.Fatalf("nobody leads %v after the leader stopped", time.Since(from))
		}
		return lead{}
	}
	stopped := time.Now()
	l := next(stopped)
	t.Logf("%s leads %v after a's Lead context ended", l.id, l.at.Sub(stopped).Round(time.Millisecond))
	if id := leader(t, a); id != l.id {
		t.Fatalf("Leader = %q, want %s", id, l.id)
	}

	// Closing the leader's Coordinator ends its lead and hands it over.
	closing := map[string]*Coordinator{"b": b, "c": c}[l.id]
	stopped = time.Now()
	if err := closing.Close(); err != nil {
		t.Fatalf("close %s: %v", l.id, err)
	}
	if !ended(l.ctx) {
		t.Fatalf("%s's lead context still open after Close", l.id)
	}
	if !errors.Is(context.Cause(l.ctx), ErrClosed) {
		t.Errorf("cause of the end of the lead: %v, want ErrClosed", context.Cause(l.ctx))
	}
	l2 := next(stopped)
	t.Logf("%s leads %v after %s closed", l2.id, l2.at.Sub(stopped).Round(time.Millisecond), l.id)
	if _, err := closing.Lead(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Lead after Close: %v, want ErrClosed", err)
	}
}

// TestLeaderCrash: a leader that stops renewing without releasing its
// lease (its connection to Redis gone, as when it is killed) is replaced
// once the lease has expired, not before; and it stops leading before.
func TestLeaderCrash(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	a, b := open(t, srv, "a"), open(t, srv, "b")
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer admin.Close()
	ctx := context.Background()

	la := mustLead(t, ctx, a)
	lb := leadAsync(ctx, b)
	time.Sleep(time.Duration(rand.IntN(int(renewal)))) // anywhere in the renewal period

	killed := time.Now()
	_ = a.client.Close()
	ttlLeft, err := admin.PTTL(ctx, a.key(keyLeader)).Result()
	if err != nil || ttlLeft <= 0 {
		t.Fatalf("PTTL of the lease after the kill: %v, %v", ttlLeft, err)
	}
	expiry := time.Now().Add(ttlLeft) // no later than this on our clock

	var l lead
	select {
	case l = <-lb:
	case <-time.After(testTTL + renewal + slack):
		t.Fatalf("b does not lead %v after a was killed", time.Since(killed))
	}
	if l.err != nil {
		t.Fatal(l.err)
	}
	t.Logf("lease left at the kill %v; b leads %v after the kill", ttlLeft, l.at.Sub(killed).Round(time.Millisecond))
	if l.at.Before(expiry.Add(-50 * time.Millisecond)) {
		t.Errorf("b leads %v before a's lease expired", expiry.Sub(l.at))
	}
	if !ended(la) {
		t.Fatal("a still leads while b does")
	}
	if !errors.Is(context.Cause(la), ErrLeadLost) {
		t.Errorf("cause of the end of a's lead: %v, want ErrLeadLost", context.Cause(la))
	}
	if id := leader(t, b); id != "b" {
		t.Errorf("Leader = %q, want b", id)
	}
}

// TestLeaderOutage: with Redis down for longer than the lease, the leader
// gives up the lead before its lease could have expired; once Redis is
// back, one process leads again.
func TestLeaderOutage(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	a, b := open(t, srv, "a"), open(t, srv, "b")
	ctx := context.Background()

	la := mustLead(t, ctx, a)
	lb := leadAsync(ctx, b)

	// a renewed its lease no earlier than one renewal period (and a
	// retry) ago; its lease lasts at least LeaseTTL from then.
	srv.Stop()
	stopped := time.Now()
	select {
	case <-la.Done():
	case <-time.After(2 * testTTL):
		t.Fatal("a still leads 2 leases after redis stopped")
	}
	gaveUp := time.Since(stopped)
	t.Logf("a gave up the lead %v after redis stopped: %v", gaveUp.Round(time.Millisecond), context.Cause(la))
	if limit := testTTL - a.margin() + 100*time.Millisecond; gaveUp > limit {
		t.Errorf("a gave up the lead %v after redis stopped, want at most %v", gaveUp, limit)
	}
	if !errors.Is(context.Cause(la), ErrLeadLost) {
		t.Errorf("cause: %v, want ErrLeadLost", context.Cause(la))
	}
	qctx, cancel := context.WithTimeout(ctx, time.Second)
	if _, err := b.Leader(qctx); err == nil {
		t.Error("Leader answers with redis down")
	}
	cancel()
	select {
	case l := <-lb:
		t.Fatalf("b leads with redis down: %+v", l)
	default:
	}

	time.Sleep(testTTL - gaveUp) // down for longer than a lease
	srv.Restart()
	restarted := time.Now()
	oneLeads(t, a, "redis restarted", restarted, leadAsync(ctx, a), lb)
}

// TestLeaderRedisHangs: with Redis hung (connections open, no answers),
// the leader gives up the lead before its lease could have expired, its
// renewals blocking or not; Publish does not block; once Redis answers
// again, one process leads.
func TestLeaderRedisHangs(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	a, b := open(t, srv, "a"), open(t, srv, "b")
	ctx := context.Background()
	sub := a.Subscribe(ctx)

	la := mustLead(t, ctx, a)
	lb := leadAsync(ctx, b)
	srv.Pause()
	paused := time.Now()
	select {
	case <-la.Done():
	case <-time.After(2 * testTTL):
		t.Fatal("a still leads 2 leases after redis hung")
	}
	gaveUp := time.Since(paused)
	t.Logf("a gave up the lead %v after redis hung: %v", gaveUp.Round(time.Millisecond), context.Cause(la))
	if limit := testTTL - a.margin() + 100*time.Millisecond; gaveUp > limit {
		t.Errorf("a gave up the lead %v after redis hung, want at most %v", gaveUp, limit)
	}
	start := time.Now()
	a.Publish(event(1))
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Publish with redis hung took %v", d)
	}
	if id := next(t, sub, time.Second).Job.ID; id != 1 {
		t.Errorf("local subscriber got job %d", id)
	}
	select {
	case l := <-lb:
		t.Fatalf("b leads with redis hung: %+v", l)
	default:
	}

	srv.Resume()
	resumed := time.Now()
	oneLeads(t, a, "redis resumed", resumed, leadAsync(ctx, a), lb)
}

// TestLeaderRedisLosesData: Redis restarts at once without its data (no
// persistence): the lease is gone, but nobody leads before the previous
// leader has given up.
func TestLeaderRedisLosesData(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	a, b := open(t, srv, "a"), open(t, srv, "b")
	ctx := context.Background()

	la := mustLead(t, ctx, a)
	var aEnded atomic.Int64
	go func() {
		<-la.Done()
		aEnded.Store(time.Now().UnixNano())
	}()
	lb := leadAsync(ctx, b)
	time.Sleep(time.Duration(rand.IntN(int(renewal)))) // anywhere in the renewal period

	restarting := time.Now()
	srv.Restart()
	var l lead
	select {
	case l = <-lb:
	case <-time.After(testTTL + 2*renewal + slack):
		t.Fatalf("b does not lead %v after redis restarted", time.Since(restarting))
	}
	if l.err != nil {
		t.Fatal(l.err)
	}
	t.Logf("a's lead ended %v after the restart (%v); b leads %v after it",
		time.Unix(0, aEnded.Load()).Sub(restarting).Round(time.Millisecond), context.Cause(la),
		l.at.Sub(restarting).Round(time.Millisecond))
	if !ended(la) || aEnded.Load() == 0 || time.Unix(0, aEnded.Load()).After(l.at) {
		t.Fatal("b leads before a gave up the lead")
	}
	if l.at.Before(restarting.Add(testTTL)) {
		t.Errorf("b leads %v after redis lost the lease, before a lease", l.at.Sub(restarting))
	}
}
