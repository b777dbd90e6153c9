package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// ErrLeadLost is the cause (context.Cause) of the end of a lead whose lease
// could not be renewed in time or was found in other hands.
var ErrLeadLost = errors.New("lead lost")

// The lease is the key <prefix>leader, holding the id of the leader, with
// a time to live of LeaseTTL that the leader renews every LeaseTTL/3.
//
// Safety: two processes never lead at the same time. A process counts its
// lease from the moment it SENT the command that set or renewed it: Redis
// ran the command later, so the key lives at least until sent+LeaseTTL,
// and no other process can take it before. The leader gives up (its lead
// context ends) at sent+LeaseTTL-margin of its last successful renewal,
// measured on its own monotonic clock, whatever Redis is doing. The
// margin, LeaseTTL/5 (2s of the default 10s), covers:
//
//   - clocks that do not run at the same rate: Redis expires keys by its
//     own clock, we count on ours (NTP keeps the difference in rate far
//     under 1%, a margin of 20% allows for much worse; a clock STEPPED
//     forward on the Redis host expires keys early, which no margin
//     covers: run NTP in slew mode there);
//   - late timers and pauses of this process (scheduling, GC);
//   - the time the leader takes to notice that its context ended and to
//     stop acting: the scheduler checks its context before each action.
//
// Liveness: the lease is renewed every LeaseTTL/3, and again every
// LeaseTTL/9 after a failure, until LeaseTTL-margin after the last
// success: a lead survives Redis being unreachable for about LeaseTTL/2,
// a longer outage ends it.
//
// A process that is not leading tries to acquire the lease every
// LeaseTTL/3, so the lead changes hands within LeaseTTL/3 of a clean
// release (Close, or the end of Lead's context), within LeaseTTL +
// LeaseTTL/3 of a crash of the leader, and within that time too of a
// Redis that comes back without its data (see acquireScript): a new
// cluster waits a LeaseTTL for its first leader.
//
// Every process of a cluster must use the same LeaseTTL and a unique
// ProcessID.

func (c *Coordinator) renewEvery() time.Duration { return c.ttl / 3 }
func (c *Coordinator) margin() time.Duration     { return c.ttl / 5 }

// The lease scripts take KEYS[1] = the lease key, KEYS[2] = the guard key,
// ARGV[1] = our id, ARGV[2] = the lease's time to live in ms; each returns
// 1 when the lease is ours (acquire, renew) or was ours (release), 0
// otherwise.
var (
	// acquireScript sets the lease if nobody holds it (SET NX PX), or
	// renews it if it is still ours (a previous lead of this process that
	// was given up while Redis was slow).
	//
	// The guard, <prefix>leader:since, holds the Redis time (ms) from
	// which this Redis has kept the lease. A Redis that lost its data
	// (restarted without persistence, flushed) lost the guard with the
	// lease; the guard is then made again and nobody acquires the lease
	// for a LeaseTTL: by then a leader of before the loss, whose last
	// renewal preceded it, has given up (see the margin above).
	acquireScript = goredis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local since = redis.call('GET', KEYS[2])
if not since then
	since = string.format('%d', now)
	redis.call('SET', KEYS[2], since)
end
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
	return 1
end
if v or now - tonumber(since) < tonumber(ARGV[2]) then
	return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)
	// renewScript extends the lease only if it is still ours.
	renewScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)
	// releaseScript deletes the lease only if it is still ours.
	releaseScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)
)

// lease runs one of the lease scripts.
func (c *Coordinator) lease(ctx context.Context, s *goredis.Script) (bool, error) {
	keys := []string{c.key(keyLeader), c.key(keyLeaderSince)}
	n, err := s.Run(ctx, c.client, keys, c.id, c.ttl.Milliseconds()).Int64()
	return n == 1, err
}

// Lead implements cluster.Elector. It tries to acquire the lease every
// LeaseTTL/3 until it does, ctx ends or the Coordinator is closed. The
// returned context ends when ctx ends, when the Coordinator is closed
// (both release the lease at once) or when the lease could not be renewed
// in time (ErrLeadLost is then its cause). One process runs one lead at a
// time: a second Lead waits for the first to end.
//
// A Redis that starts empty, or lost its data, grants the lease to nobody
// for one LeaseTTL: a leader that held the lease in the lost data has
// given up by then. So the first leader of a new cluster, or after a
// restart of a Redis without persistence, leads after a LeaseTTL.
func (c *Coordinator) Lead(ctx context.Context) (context.Context, error) {
	select {
	case c.leading <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.ctx.Done():
		return nil, ErrClosed
	}
	// wctx ends with ctx or on Close.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.ctx, cancel)()
	errs := dropLog{every: logEvery}
	for {
		sent := time.Now()
		actx, cancelTry := context.WithTimeout(wctx, c.renewEvery())
		ok, err := c.lease(actx, acquireScript)
		cancelTry()
		if ok && err == nil {
			lctx, lose := context.WithCancelCause(ctx)
			if !c.goWithOwner(func() { c.keep(lctx, lose, sent) }) {
				lose(ErrClosed)
				c.release()
				<-c.leading
				return nil, ErrClosed
			}
			return lctx, nil
		}
		if err != nil && wctx.Err() == nil {
			if log, n, _ := errs.add(); log {
				c.log.Warn("acquire leader lease", "key", c.key(keyLeader), "err", err, "attempts", n)
			}
		}
		if !sleep(wctx, c.renewEvery()) {
			<-c.leading
			if c.ctx.Err() != nil {
				return nil, ErrClosed
			}
			return nil, ctx.Err()
		}
	}
}

// keep renews the lease of a lead until its context ends, ends it when
// the lease is not renewed in time, and releases the lease at the end.
// sent is when the command that acquired the lease was sent.
func (c *Coordinator) keep(ctx context.Context, lose context.CancelCauseFunc, sent time.Time) {
	defer func() { <-c.leading }()
	stop := context.AfterFunc(c.ctx, func() { lose(ErrClosed) })
	defer stop()

	deadline := sent.Add(c.ttl - c.margin())
	watchdog := time.AfterFunc(time.Until(deadline), func() {
		lose(fmt.Errorf("%w: lease not renewed within %v", ErrLeadLost, c.ttl-c.margin()))
	})
	defer watchdog.Stop()
	c.log.Info("leading", "lease", c.key(keyLeader), "lease_ttl", c.ttl)

	next := time.NewTimer(c.renewEvery())
	defer next.Stop()
	errs := dropLog{every: logEvery}
	for {
		select {
		case <-ctx.Done():
			watchdog.Stop()
			cause := context.Cause(ctx)
			if errors.Is(cause, ErrLeadLost) {
				c.log.Warn("lead lost", "cause", cause)
			} else {
				c.log.Info("lead ended", "cause", cause)
			}
			c.release()
			return
		case <-next.C:
		}
		sent := time.Now()
		rctx, cancel := context.WithDeadline(ctx, deadline)
		ok, err := c.lease(rctx, renewScript)
		cancel()
		switch {
		case err == nil && ok:
			deadline = sent.Add(c.ttl - c.margin())
			// If the watchdog has fired already, the lead is over: the
			// renewal came too late to count.
			if watchdog.Stop() {
				watchdog.Reset(time.Until(deadline))
			}
			next.Reset(c.renewEvery())
		case err == nil:
			lose(fmt.Errorf("%w: the lease expired or another process holds it", ErrLeadLost))
		default:
			if ctx.Err() == nil {
				if log, n, _ := errs.add(); log {
					c.log.Warn("renew leader lease", "key", c.key(keyLeader), "err", err, "failures", n,
						"gives_up_in", time.Until(deadline).Round(time.Millisecond))
				}
			}
			next.Reset(c.renewEvery() / 3)
		}
	}
}

// release deletes the lease if it is still ours, so that another process
// leads without waiting for it to expire. Best effort: if Redis does not
// answer, the lease expires by itself.
func (c *Coordinator) release() {
	ctx, cancel := context.WithTimeout(context.Background(), c.renewEvery())
	defer cancel()
	if _, err := c.lease(ctx, releaseScript); err != nil {
		c.log.Warn("release leader lease (it expires by itself)", "key", c.key(keyLeader), "err", err)
	}
}

// Leader implements cluster.Elector: the id of the holder of the lease,
// "" if nobody holds it.
func (c *Coordinator) Leader(ctx context.Context) (string, error) {
	id, err := c.client.Get(ctx, c.key(keyLeader)).Result()
	if errors.Is(err, goredis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read leader lease %s from redis: %w", c.key(keyLeader), err)
	}
	return id, nil
}
