package server

import (
	"context"
	"errors"
	"testing"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/client"
)

// TestActAs: root acts as a user with exactly that user's rights (the SSH
// gateway's gtop); nobody else may act as anyone.
func TestActAs(t *testing.T) {
	h := newHarness(t, nil)
	// The harness serves its socket as root: the kernel says uid 0.
	id, err := client.New(h.cfg.Socket).As("nobody").Whoami(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if id.User != "nobody" || id.UID != 65534 || id.Admin {
		t.Errorf("root acting as nobody is %+v; want nobody, uid 65534, not an admin", id)
	}
	if _, err := client.New(h.cfg.Socket).As("no-such-user").Whoami(context.Background()); !errors.Is(err, api.ErrDenied) {
		t.Errorf("acting as an unknown user: %v, want denied", err)
	}
	if _, err := h.srv.actAs(65534, "root"); !errors.Is(err, api.ErrDenied) {
		t.Errorf("nobody acting as root: %v, want denied", err)
	}
}
