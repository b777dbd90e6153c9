package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/godocker/godocker/cluster"
)

// The registry is a hash <prefix>procs (id -> JSON cluster.Process) and a
// sorted set <prefix>procs:expiry (id scored by the Redis time, in ms, at
// which its announcement expires). Expiry is reckoned by the Redis clock
// alone, so that the clocks of the processes need not agree. Expired
// entries are removed by the next Announce or Processes.

// registryScripts take KEYS[1] = the sorted set, KEYS[2] = the hash; each
// starts by removing the expired entries.
const registryPrologue = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, id in ipairs(dead) do
	redis.call('ZREM', KEYS[1], id)
	redis.call('HDEL', KEYS[2], id)
end
`

var (
	// announceScript records ARGV[1] (id) with ARGV[3] (JSON) until
	// ARGV[2] ms from now.
	announceScript = goredis.NewScript(registryPrologue + `
redis.call('ZADD', KEYS[1], string.format('%d', now + tonumber(ARGV[2])), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
`)
	// processesScript returns the JSON of the live processes.
	processesScript = goredis.NewScript(registryPrologue + `
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. string.format('%d', now), '+inf')) do
	local v = redis.call('HGET', KEYS[2], id)
	if v then
		out[#out + 1] = v
	end
end
return out
`)
)

func (c *Coordinator) registryKeys() []string {
	return []string{c.key(keyProcsExpiry), c.key(keyProcs)}
}

// Announce implements cluster.Registry.
func (c *Coordinator) Announce(ctx context.Context, p cluster.Process, ttl time.Duration) error {
	if p.ID == "" {
		return errors.New("announce process: empty id")
	}
	if ttl < time.Millisecond {
		return fmt.Errorf("announce process %s: ttl %v is shorter than 1ms", p.ID, ttl)
	}
	p.Seen = time.Now().UTC()
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("announce process %s: %w", p.ID, err)
	}
	if err := announceScript.Run(ctx, c.client, c.registryKeys(), p.ID, ttl.Milliseconds(), b).Err(); err != nil {
		return fmt.Errorf("announce process %s in redis: %w", p.ID, err)
	}
	return nil
}

// Withdraw implements cluster.Registry.
func (c *Coordinator) Withdraw(ctx context.Context, id string) error {
	_, err := c.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.ZRem(ctx, c.key(keyProcsExpiry), id)
		p.HDel(ctx, c.key(keyProcs), id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("withdraw process %s from redis: %w", id, err)
	}
	return nil
}

// Processes implements cluster.Registry.
func (c *Coordinator) Processes(ctx context.Context) ([]cluster.Process, error) {
	docs, err := processesScript.Run(ctx, c.client, c.registryKeys()).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("list processes in redis: %w", err)
	}
	out := make([]cluster.Process, 0, len(docs))
	for _, d := range docs {
		var p cluster.Process
		if err := json.Unmarshal([]byte(d), &p); err != nil {
			return nil, fmt.Errorf("list processes in redis: decode %q: %w", d, err)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b cluster.Process) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
