package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestRegistry(t *testing.T) {
	errFake := errors.New("fake open")
	var gotDSN string
	Register("registry-test", func(_ context.Context, dsn string) (Store, error) {
		gotDSN = dsn
		return nil, errFake
	})
	t.Cleanup(func() {
		driversMu.Lock()
		delete(drivers, "registry-test")
		driversMu.Unlock()
	})

	if _, err := Open(t.Context(), "registry-test", "some/dsn"); !errors.Is(err, errFake) {
		t.Errorf("Open(registry-test) = %v, want the driver's error", err)
	}
	if gotDSN != "some/dsn" {
		t.Errorf("driver got dsn %q, want %q", gotDSN, "some/dsn")
	}

	_, err := Open(t.Context(), "no-such-driver", "x")
	if err == nil || !strings.Contains(err.Error(), `"no-such-driver"`) || !strings.Contains(err.Error(), "registry-test") {
		t.Errorf("Open(no-such-driver) = %v, want an error naming the driver and listing the known ones", err)
	}

	func() {
		defer func() {
			if recover() == nil {
				t.Error("second Register of the same name did not panic")
			}
		}()
		Register("registry-test", func(context.Context, string) (Store, error) { return nil, nil })
	}()
}
