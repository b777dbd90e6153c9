package server

import (
	"sync"
	"time"

	"github.com/godocker/godocker/api"
)

// TTLs of what every submission reads. Reading them at each request cost
// more than everything else a submission does: the user database is a
// parse of /etc/passwd and /etc/group (or NSS calls), the rest a store
// query each.
const (
	// callerTTL: a change to a user's groups or home takes effect within
	// this long. Slurm trusts its group cache for 10 minutes
	// (GroupUpdateTime); nscd for an hour.
	callerTTL = 10 * time.Second
	// policyTTL: projects, accounts and maintenance mode, as submissions
	// see them. A change made through this server is seen by its next
	// submission; one made through another server of a cluster within
	// this long.
	policyTTL = time.Second
)

// kept is what requests read, kept a while.
type kept struct {
	callers     recent[int, *caller] // by uid
	uids        recent[string, int]  // by user name (api.AsUserHeader)
	projects    recent[string, *api.Project]
	accounts    recent[string, *api.Account]
	maintenance recent[struct{}, api.Maintenance]
}

func newKept() kept {
	return kept{
		callers:     recent[int, *caller]{ttl: callerTTL},
		uids:        recent[string, int]{ttl: callerTTL},
		projects:    recent[string, *api.Project]{ttl: policyTTL},
		accounts:    recent[string, *api.Account]{ttl: policyTTL},
		maintenance: recent[struct{}, api.Maintenance]{ttl: policyTTL},
	}
}

// recent keeps what load returned, per key, for ttl. Errors are not kept:
// a user created or a project added a moment ago is found at once.
// Values are shared by every caller of get and must not be changed.
type recent[K comparable, V any] struct {
	ttl time.Duration

	mu  sync.Mutex
	m   map[K]recentEntry[V]
	gen uint64 // forget's count: a load that began before one is not kept
}

type recentEntry[V any] struct {
	v  V
	at time.Time
}

// maxRecent bounds how many entries a recent holds before the expired
// ones are swept out.
const maxRecent = 4096

// get returns the value kept for k, or loads and keeps it.
func (c *recent[K, V]) get(k K, load func() (V, error)) (V, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[k]
	gen := c.gen
	c.mu.Unlock()
	if ok && now.Sub(e.at) < c.ttl {
		return e.v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return v, nil // changed meanwhile: v may be from before the change
	}
	if c.m == nil {
		c.m = map[K]recentEntry[V]{}
	}
	if len(c.m) >= maxRecent {
		for k, e := range c.m {
			if now.Sub(e.at) >= c.ttl {
				delete(c.m, k)
			}
		}
	}
	c.m[k] = recentEntry[V]{v: v, at: now}
	return v, nil
}

// forget drops every value kept: call it after a change to what load
// reads.
func (c *recent[K, V]) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
	c.gen++
}
