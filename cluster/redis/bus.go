package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/godocker/godocker/api"
)

// The bus: Publish hands each event to this process's own subscribers at
// once and queues it for Redis; one goroutine PUBLISHes the queue on the
// events channel, one goroutine receives that channel through the one
// subscription of the process and hands what other processes published
// to the local subscribers. Each message carries the id of the process
// that published it, and a process skips its own messages when they come
// back from Redis, so that its subscribers get each event once, and even
// when Redis is down.

// publishQueue is how many events may wait to be sent to Redis; when it is
// full (Redis slow or unreachable) new events are dropped for the other
// processes (not for this one's subscribers).
const publishQueue = 1024

// healthEvery is how long the subscription may stay silent before it is
// pinged; a ping unanswered for as long again means a dead connection.
const healthEvery = 3 * time.Second

// retryEvery is how often the bus tries an unreachable Redis again.
const retryEvery = 500 * time.Millisecond

// flushTimeout bounds how long Close spends sending queued events.
const flushTimeout = 2 * time.Second

// envelope is one message on the events channel.
type envelope struct {
	Origin string    `json:"origin"` // ProcessID of the publisher
	Event  api.Event `json:"event"`
}

// Publish implements cluster.Bus. It never blocks: the event reaches this
// process's subscribers at once, and the other processes' through Redis
// when it answers (while it does not, they miss it: their clients re-read
// the store).
func (c *Coordinator) Publish(ev api.Event) {
	c.local.Publish(ev)
	if c.ctx.Err() != nil {
		return
	}
	if len(c.queue) == cap(c.queue) { // spare the encoding of a lost event
		c.dropped("publish queue full")
		return
	}
	// Encode now: the event is the job as it is at publication time, even
	// if the caller changes the job afterwards.
	msg, err := json.Marshal(envelope{Origin: c.id, Event: ev})
	if err != nil {
		c.dropped("encode event: " + err.Error())
		return
	}
	select {
	case c.queue <- msg:
	default:
		c.dropped("publish queue full")
	}
}

// Subscribe implements cluster.Bus: the channel gets every event published
// from now on by any process (this one included), each once. A subscriber
// that lags more than a buffer behind loses events.
func (c *Coordinator) Subscribe(ctx context.Context) <-chan api.Event {
	return c.local.Subscribe(ctx)
}

// dropped counts an event that does not reach the other processes.
func (c *Coordinator) dropped(reason string) {
	if log, n, total := c.pubDrops.add(); log {
		c.log.Warn("events not sent to other processes", "reason", reason, "dropped", n, "dropped_total", total)
	}
}

// publishLoop sends the queued events to Redis, in order, until Close.
func (c *Coordinator) publishLoop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			c.flush()
			return
		case msg := <-c.queue:
			err := c.publish(context.Background(), msg)
			if err == nil {
				continue
			}
			c.dropped(err.Error())
			c.log.Warn("redis unreachable: events of this process do not reach the other processes until it answers", "err", err)
			if !c.awaitRedis() {
				return
			}
			c.log.Info("redis answers again: events reach the other processes")
		}
	}
}

func (c *Coordinator) publish(ctx context.Context, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if err := c.client.Publish(ctx, c.key(keyEvents), msg).Err(); err != nil {
		return fmt.Errorf("publish event on redis channel %s: %w", c.key(keyEvents), err)
	}
	return nil
}

// awaitRedis waits until Redis answers a ping, dropping the events queued
// meanwhile: they would reach the others late and out of date. It reports
// false if the Coordinator was closed first.
func (c *Coordinator) awaitRedis() bool {
	for {
		for drained := false; !drained; {
			select {
			case <-c.queue:
				c.dropped("redis unreachable")
			default:
				drained = true
			}
		}
		if !sleep(c.ctx, retryEvery) {
			return false
		}
		ctx, cancel := context.WithTimeout(c.ctx, opTimeout)
		err := c.client.Ping(ctx).Err()
		cancel()
		if err == nil {
			return true
		}
	}
}

// flush sends what is queued when Close is called, for a short while.
func (c *Coordinator) flush() {
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	for {
		select {
		case msg := <-c.queue:
			if err := c.publish(ctx, msg); err != nil {
				c.log.Warn("events queued at close not sent to other processes", "err", err)
				return
			}
		default:
			return
		}
	}
}

// confirmSubscription waits for Redis to confirm the subscription.
func (c *Coordinator) confirmSubscription(ctx context.Context) error {
	for {
		msg, err := c.pubsub.Receive(ctx)
		if err != nil {
			return err
		}
		if s, ok := msg.(*goredis.Subscription); ok && s.Kind == "subscribe" {
			return nil
		}
	}
}

// receiveLoop hands the events of the other processes to the local
// subscribers until Close. go-redis reconnects and subscribes again after
// a lost connection; a connection that goes silent (no answer to a ping)
// is replaced.
func (c *Coordinator) receiveLoop() {
	defer c.wg.Done()
	var down, pinged bool
	var errs dropLog
	errs.every = logEvery
	for {
		msg, err := c.pubsub.ReceiveTimeout(c.ctx, healthEvery)
		if c.ctx.Err() != nil {
			return
		}
		if err != nil {
			if isTimeout(err) {
				if !pinged {
					ctx, cancel := context.WithTimeout(c.ctx, opTimeout)
					err = c.pubsub.Ping(ctx)
					cancel()
					if err == nil {
						pinged = true
						continue
					}
				} else {
					err = errors.New("no answer to ping")
					c.resubscribe()
				}
			}
			pinged = false
			if !down {
				down = true
				c.log.Warn("redis event subscription lost: events of the other processes do not reach this one until it is back", "err", err)
			} else if log, n, _ := errs.add(); log {
				c.log.Warn("redis event subscription still down", "err", err, "attempts", n)
			}
			sleep(c.ctx, retryEvery)
			continue
		}
		pinged = false
		switch m := msg.(type) {
		case *goredis.Subscription:
			if down && m.Kind == "subscribe" {
				down = false
				c.log.Info("redis event subscription restored")
			}
		case *goredis.Message:
			c.deliver(m.Payload, &errs)
		}
	}
}

// resubscribe replaces a silent subscription by a new one.
func (c *Coordinator) resubscribe() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	old := c.pubsub
	c.pubsub = c.client.Subscribe(c.ctx, c.key(keyEvents))
	c.mu.Unlock()
	_ = old.Close()
}

// deliver hands a message of another process to the local subscribers.
func (c *Coordinator) deliver(payload string, errs *dropLog) {
	var env envelope
	if err := json.Unmarshal([]byte(payload), &env); err != nil {
		if log, n, _ := errs.add(); log {
			c.log.Warn("undecodable message on redis event channel", "channel", c.key(keyEvents), "err", err, "count", n)
		}
		return
	}
	if env.Origin == c.id {
		return // delivered locally by Publish
	}
	c.local.Publish(env.Event)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
