package server

import (
	"context"
	"fmt"
	"net"
	"os/user"
	"strconv"
	"sync"
	"syscall"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/config"
)

// caller is who is making a request: the identity the kernel gave us,
// completed from the user database.
type caller struct {
	api.Identity
	Group  string // primary group's name
	Groups []int  // supplementary group ids, the primary one excluded
	Home   string

	namesOnce sync.Once
	names     map[string]bool // groupNames'
}

type ctxKey int

const (
	peerKey ctxKey = iota
	callerKey
)

// peerCred returns the uid and gid of the process at the other end of a
// unix socket connection, as the kernel recorded them at connect time.
func peerCred(c net.Conn) (uid, gid int, err error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return 0, 0, fmt.Errorf("connection is not a unix socket")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return 0, 0, err
	}
	if credErr != nil {
		return 0, 0, fmt.Errorf("read peer credentials: %w", credErr)
	}
	return int(cred.Uid), int(cred.Gid), nil
}

// peer is what ConnContext recorded about a connection.
type peer struct {
	uid, gid int
	err      error
}

// connContext records the peer's credentials once per connection.
func connContext(ctx context.Context, c net.Conn) context.Context {
	uid, gid, err := peerCred(c)
	return context.WithValue(ctx, peerKey, peer{uid: uid, gid: gid, err: err})
}

// callerByUID is the caller with that uid, from the user database as it
// was at most callerTTL ago.
func (s *Server) callerByUID(uid int) (*caller, error) {
	return s.kept.callers.get(uid, func() (*caller, error) { return lookupCaller(uid, s.cfg) })
}

// lookupCaller completes a uid into a caller from the user database. An
// unknown uid is refused: a job must belong to a user the machine knows.
func lookupCaller(uid int, cfg *config.Config) (*caller, error) {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return nil, api.Denied(fmt.Sprintf("uid %d is not a known user on this machine; ask an admin to create the account", uid))
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, fmt.Errorf("user %s: bad primary gid %q", u.Username, u.Gid)
	}
	c := &caller{
		Identity: api.Identity{User: u.Username, UID: uid, GID: gid, Admin: cfg.IsAdmin(u.Username, uid)},
		Home:     u.HomeDir,
	}
	if g, err := user.LookupGroupId(u.Gid); err == nil {
		c.Group = g.Name
	}
	ids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("groups of %s: %w", u.Username, err)
	}
	for _, s := range ids {
		g, err := strconv.Atoi(s)
		if err == nil && g != gid {
			c.Groups = append(c.Groups, g)
		}
	}
	return c, nil
}

// groupNames returns the names of the caller's groups, primary included,
// looked up the first time they are asked for. The map is shared: it must
// not be changed.
func (c *caller) groupNames() map[string]bool {
	c.namesOnce.Do(func() { c.names = c.lookupGroupNames() })
	return c.names
}

func (c *caller) lookupGroupNames() map[string]bool {
	names := map[string]bool{}
	if c.Group != "" {
		names[c.Group] = true
	}
	for _, id := range c.Groups {
		if g, err := user.LookupGroupId(strconv.Itoa(id)); err == nil {
			names[g.Name] = true
		}
	}
	return names
}
