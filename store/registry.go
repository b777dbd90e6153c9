package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// OpenFunc opens a store of one backend. The meaning of dsn is the
// backend's: a file path for sqlite, a connection URL for mongo.
type OpenFunc func(ctx context.Context, dsn string, o Options) (Store, error)

// Options are the settings of a store besides its dsn. The zero value
// is every backend's default.
type Options struct {
	// Sync is when a backend's writes reach the disk. Only sqlite has
	// the choice; mongo's is the write concern of its URL, and it
	// refuses any other value than "".
	Sync Sync
}

// Sync is when a write that a store acknowledged reaches the disk.
type Sync string

const (
	// SyncNormal: every acknowledged write survives a crash of the
	// process (kill -9, the OOM killer); it reaches the disk within a
	// second, so a power loss or a crash of the kernel can lose the
	// writes of the last second. Ids handed out never come back.
	SyncNormal Sync = "normal"
	// SyncFull: a write is on the disk before it is acknowledged, and
	// survives a power loss too. It costs an fsync per commit.
	SyncFull Sync = "full"
)

var (
	driversMu sync.RWMutex
	drivers   = map[string]OpenFunc{}
)

// Register makes a backend available to Open under name, the way
// database/sql drivers register. Backends call it from init; importing a
// backend's package (for its side effect, if nothing else) is what makes
// it available. Register panics if open is nil or name is already taken.
func Register(name string, open OpenFunc) {
	if open == nil {
		panic("store: Register " + name + " with a nil open function")
	}
	driversMu.Lock()
	defer driversMu.Unlock()
	if _, dup := drivers[name]; dup {
		panic("store: Register called twice for driver " + name)
	}
	drivers[name] = open
}

// Drivers returns the names of the registered backends, sorted.
func Drivers() []string {
	driversMu.RLock()
	defer driversMu.RUnlock()
	names := make([]string, 0, len(drivers))
	for name := range drivers {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Open opens a store with the backend registered as driver.
func Open(ctx context.Context, driver, dsn string, o Options) (Store, error) {
	driversMu.RLock()
	open, ok := drivers[driver]
	driversMu.RUnlock()
	if !ok {
		known := Drivers()
		if len(known) == 0 {
			return nil, fmt.Errorf("open store: unknown driver %q (no store driver is registered; import one, e.g. store/sqlite)", driver)
		}
		return nil, fmt.Errorf("open store: unknown driver %q (known: %s)", driver, strings.Join(known, ", "))
	}
	return open(ctx, dsn, o)
}
