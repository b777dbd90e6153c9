// Package redis coordinates several godockerd processes through one Redis
// server: the job event bus (cluster.Bus), the scheduler's leader lease
// (cluster.Elector) and the list of live processes (cluster.Registry).
//
// It needs Redis 5 or later (scripts that read the time and write), and a
// single Redis server (not Redis Cluster: scripts use several keys).
//
// Redis only coordinates. Nothing durable lives only in Redis: jobs are in
// the shared job store, and everything kept here (the lease, the process
// list) is rebuilt by the processes themselves within a lease or announce
// period. Losing Redis loses no job; while it is unreachable:
//
//   - the bus still delivers events to the subscribers of the process that
//     published them, but other processes miss them (their clients re-read
//     the store; gtop re-syncs); the subscription comes back by itself;
//   - the leader gives up the lead before its lease could have expired, so
//     no other process can lead at the same time, and nobody leads until
//     Redis is back;
//   - Announce, Withdraw, Processes and Leader return errors.
//
// Keys, under Options.Prefix (default "godocker:"):
//
//	<prefix>events         pub/sub channel of job events (JSON envelopes)
//	<prefix>leader         string: the ProcessID of the leader, PX LeaseTTL
//	<prefix>leader:since   string: the Redis time (ms) from which this
//	                       Redis has kept the lease (no expiry): a Redis
//	                       that lost its data grants no lease for a
//	                       LeaseTTL, see Coordinator.Lead
//	<prefix>procs          hash: process id -> JSON cluster.Process
//	<prefix>procs:expiry   sorted set: process id scored by the Redis time
//	                       (ms) at which its announcement expires
package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/godocker/godocker/cluster"
)

// Defaults of Options.
const (
	DefaultPrefix   = "godocker:"
	DefaultLeaseTTL = 10 * time.Second
)

// minLeaseTTL is the shortest lease that leaves room for a renewal and a
// safety margin at Redis's millisecond resolution.
const minLeaseTTL = 100 * time.Millisecond

// opTimeout bounds one Redis command that has no tighter deadline.
const opTimeout = 3 * time.Second

// logEvery is how often a repeated failure (Redis unreachable, events
// dropped) is logged at most.
const logEvery = 10 * time.Second

// ErrClosed is the cause of the end of a lead, and the error of Lead, once
// the Coordinator is closed.
var ErrClosed = errors.New("redis coordinator closed")

// Options configure a Coordinator.
type Options struct {
	Addr     string // host:port of the Redis server (redis.addr)
	Password string // AUTH password, if Redis requires one
	DB       int    // Redis database number
	// Prefix namespaces every key and channel (default "godocker:"), so
	// that several clusters can share one Redis.
	Prefix string
	// ProcessID identifies this process run; it must be unique among the
	// processes sharing the Redis (cluster.Process.ID: host:pid:random).
	// A fresh one is made when empty.
	ProcessID string
	// LeaseTTL is how long the leader's lease lasts without renewal: how
	// long a crashed leader keeps others from leading (master_timeout;
	// default 10s).
	LeaseTTL time.Duration
	Log      *slog.Logger // default slog.Default()
}

// Coordinator is the Redis implementation of cluster.Bus, cluster.Elector
// and cluster.Registry for one godockerd process.
type Coordinator struct {
	id     string
	prefix string
	ttl    time.Duration
	log    *slog.Logger
	client *goredis.Client

	ctx    context.Context // ends on Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // goroutines that end on Close

	mu     sync.Mutex
	closed bool
	once   sync.Once

	// Bus.
	local    *cluster.Local
	queue    chan []byte
	pubsub   *goredis.PubSub // replaced by receiveLoop under mu
	pubDrops dropLog

	// Elector: holds one token while a Lead is active (from acquisition
	// until the lease is released), so that a process never runs two
	// leads, nor releases a lease it has just taken again.
	leading chan struct{}
}

var (
	_ cluster.Bus      = (*Coordinator)(nil)
	_ cluster.Elector  = (*Coordinator)(nil)
	_ cluster.Registry = (*Coordinator)(nil)
)

// Open connects to Redis, checks that it answers and subscribes to the
// event channel. Close releases what it holds.
func Open(ctx context.Context, o Options) (*Coordinator, error) {
	if o.Addr == "" {
		return nil, errors.New("redis: no address: set redis.addr or GODOCKER_REDIS_ADDR (host:port)")
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	if o.LeaseTTL < minLeaseTTL {
		return nil, fmt.Errorf("redis: lease ttl %v is shorter than %v", o.LeaseTTL, minLeaseTTL)
	}
	if o.ProcessID == "" {
		o.ProcessID = newProcessID()
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	client := goredis.NewClient(&goredis.Options{
		Addr:     o.Addr,
		Password: o.Password,
		DB:       o.DB,
		// Deadlines of our contexts bound every command, so that a lease
		// renewal never outlives the lease.
		ContextTimeoutEnabled: true,
		DialTimeout:           2 * time.Second,
		ReadTimeout:           2 * time.Second,
		WriteTimeout:          2 * time.Second,
		// CLIENT SETINFO is unknown before Redis 7.2; we do not need it.
		DisableIdentity: true,
	})
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("connect to redis at %s: %w (%s)", o.Addr, err, hint(err))
	}

	c := &Coordinator{
		id:      o.ProcessID,
		prefix:  o.Prefix,
		ttl:     o.LeaseTTL,
		log:     o.Log.With("component", "cluster/redis", "process", o.ProcessID),
		client:  client,
		local:   cluster.NewLocal(),
		queue:   make(chan []byte, publishQueue),
		leading: make(chan struct{}, 1),
	}
	c.pubDrops.every = logEvery
	c.pubsub = client.Subscribe(pctx, c.key(keyEvents))
	if err := c.confirmSubscription(pctx); err != nil {
		_ = c.pubsub.Close()
		_ = client.Close()
		return nil, fmt.Errorf("subscribe to redis channel %s at %s: %w", c.key(keyEvents), o.Addr, err)
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(2)
	go c.publishLoop()
	go c.receiveLoop()
	return c, nil
}

// hint says what to check when Redis does not answer.
func hint(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "AUTH"), strings.Contains(msg, "WRONGPASS"):
		return "check the redis password"
	case strings.Contains(msg, "DB index"):
		return "check the redis database number"
	}
	return "check redis.addr / GODOCKER_REDIS_ADDR and that redis-server runs there and accepts connections from this host"
}

// ID returns the id of this process, as used for the lease and the bus.
func (c *Coordinator) ID() string { return c.id }

// Close ends every lead of this process (releasing the lease), sends the
// events still queued if Redis answers, stops the subscription and closes
// the connections. Subscriptions end when their own contexts end.
func (c *Coordinator) Close() error {
	var err error
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		ps := c.pubsub
		c.mu.Unlock()
		c.cancel()
		err = ps.Close()
		c.wg.Wait()
		if cerr := c.client.Close(); cerr != nil && !errors.Is(cerr, goredis.ErrClosed) {
			err = cerr
		} else if errors.Is(err, goredis.ErrClosed) {
			err = nil
		}
		if err != nil {
			err = fmt.Errorf("close redis coordinator: %w", err)
		}
	})
	return err
}

// Key names, relative to the prefix.
const (
	keyEvents      = "events"
	keyLeader      = "leader"
	keyLeaderSince = "leader:since"
	keyProcs       = "procs"
	keyProcsExpiry = "procs:expiry"
)

func (c *Coordinator) key(name string) string { return c.prefix + name }

// goWithOwner starts f as a goroutine that Close waits for, unless the
// Coordinator is closed (then it reports false and starts nothing).
func (c *Coordinator) goWithOwner(f func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
	return true
}

// newProcessID returns host:pid:random, the form of cluster.Process.ID.
func newProcessID() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
}

// dropLog counts repeated failures and says when to log them: at most once
// per period, with how many happened since the last log line.
type dropLog struct {
	every time.Duration

	mu    sync.Mutex
	last  time.Time
	count int
	total int
}

// add counts one failure; when it reports true, the caller logs it with
// n, the failures since the last log line (this one included), and the
// total since Open.
func (d *dropLog) add() (log bool, n, total int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.count++
	d.total++
	now := time.Now()
	if !d.last.IsZero() && now.Sub(d.last) < d.every {
		return false, 0, 0
	}
	d.last, n = now, d.count
	d.count = 0
	return true, n, d.total
}

// sleep waits for d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
