package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestRegistry(t *testing.T) {
	errFake := errors.New("fake open")
	var (
		gotDSN  string
		gotOpts Options
	)
	Register("registry-test", func(_ context.Context, dsn string, o Options) (Store, error) {
		gotDSN, gotOpts = dsn, o
		return nil, errFake
	})
	t.Cleanup(func() {
		driversMu.Lock()
		delete(drivers, "registry-test")
		driversMu.Unlock()
	})

	if _, err := Open(t.Context(), "registry-test", "some/dsn", Options{Sync: SyncFull}); !errors.Is(err, errFake) {
		t.Errorf("Open(registry-test) = %v, want the driver's error", err)
	}
	if gotDSN != "some/dsn" || gotOpts.Sync != SyncFull {
		t.Errorf("driver got dsn %q, options %+v; want %q, sync full", gotDSN, gotOpts, "some/dsn")
	}

	_, err := Open(t.Context(), "no-such-driver", "x", Options{})
	if err == nil || !strings.Contains(err.Error(), `"no-such-driver"`) || !strings.Contains(err.Error(), "registry-test") {
		t.Errorf("Open(no-such-driver) = %v, want an error naming the driver and listing the known ones", err)
	}

	func() {
		defer func() {
			if recover() == nil {
				t.Error("second Register of the same name did not panic")
			}
		}()
		Register("registry-test", func(context.Context, string, Options) (Store, error) { return nil, nil })
	}()
}
