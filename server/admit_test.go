package server

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/config"
	"github.com/godocker/godocker/store"
)

// A burst of submissions does not pass the cap on waiting jobs: a server
// admits and stores them one at a time while a cap is set.
func TestPendingCapUnderBurst(t *testing.T) {
	const limit, burst = 5, 20
	h := newHarness(t, func(c *config.Config) { c.Limits.MaxPendingPerUser = limit })
	ctx := context.Background()
	spec := script("echo")
	spec.Hold = true // held jobs wait, and count against the cap
	errs := make([]error, burst)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Go(func() { _, errs[i] = h.srv.submit(ctx, h.alice, spec) })
	}
	wg.Wait()

	accepted := 0
	for _, err := range errs {
		switch {
		case err == nil:
			accepted++
		case !errors.Is(err, api.ErrUnavailable) || !strings.Contains(err.Error(), "the most one user may (limits.max_pending_per_user)"):
			t.Errorf("refused submission: %v; want the cap's sentence", err)
		}
	}
	if accepted != limit {
		t.Errorf("%d of %d simultaneous submissions accepted; want %d (limits.max_pending_per_user)", accepted, burst, limit)
	}
	if n, err := h.st.Count(ctx, store.Query{Users: []string{"alice"}, States: waiting}); err != nil || n != limit {
		t.Errorf("alice has %d jobs waiting (%v); want %d", n, err, limit)
	}
}
