package server

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/cluster"
	"github.com/godocker/godocker/config"
)

// turn is an Elector that grants the lead when the test says so, and
// takes it back when the test says so.
type turn struct {
	grant chan struct{}
	mu    sync.Mutex
	lose  context.CancelFunc
}

func (e *turn) Lead(ctx context.Context) (context.Context, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-e.grant:
	}
	lctx, cancel := context.WithCancel(ctx)
	e.mu.Lock()
	e.lose = cancel
	e.mu.Unlock()
	return lctx, nil
}

func (e *turn) Leader(context.Context) (string, error) { return "", nil }

func (e *turn) revoke() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lose()
}

// Only the leader schedules: nothing starts before the lead is won, and
// nothing after it is lost, until it is won again.
func TestSchedulesOnlyWhileLeading(t *testing.T) {
	e := &turn{grant: make(chan struct{})}
	h := newHarness(t, func(*config.Config) {}, withElector(e))
	j := h.submit(h.alice, script("echo"))
	time.Sleep(200 * time.Millisecond) // a pass would have run by now
	if cur, _ := h.st.Job(context.Background(), j.ID); cur.State != api.Pending {
		t.Fatalf("a server that does not lead started job %d (%s)", j.ID, cur.State)
	}
	e.grant <- struct{}{}
	h.waitState(j.ID, api.Running)

	e.revoke()
	time.Sleep(200 * time.Millisecond) // the scheduler notices
	k := h.submit(h.alice, script("echo"))
	time.Sleep(200 * time.Millisecond)
	if cur, _ := h.st.Job(context.Background(), k.ID); cur.State != api.Pending {
		t.Fatalf("a server that lost the lead started job %d (%s)", k.ID, cur.State)
	}
	e.grant <- struct{}{}
	h.waitState(k.ID, api.Running)
}

// A process without the scheduler role never schedules; it still takes
// submissions, and /readyz, /healthz and /api/v1/status answer.
func TestRolesWithoutScheduler(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Roles = []string{config.RoleAPI, config.RoleWatcher} })
	j := h.submit(h.alice, script("echo"))
	time.Sleep(200 * time.Millisecond)
	if cur, _ := h.st.Job(context.Background(), j.ID); cur.State != api.Pending {
		t.Errorf("a process without the scheduler role started job %d", j.ID)
	}
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200} {
		rec := httptest.NewRecorder()
		h.srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want {
			t.Errorf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
	}
	var st api.Status
	if err := json.Unmarshal([]byte(h.must(h.bob, "GET", "/api/v1/status", "", 200)), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Processes) != 1 || st.Processes[0].ID != h.srv.ID() || strings.Join(st.Processes[0].Roles, ",") != "api,watcher" || st.Leader != h.srv.ID() {
		t.Errorf("status = %+v; want this process, api and watcher", st)
	}
}

// /readyz says 503 while the process is not serving yet.
func TestReadyz(t *testing.T) {
	h := newHarness(t, nil)
	// The harness's Serve says it is ready once it is up: after that, as
	// if it were starting again.
	for deadline := time.Now().Add(10 * time.Second); !h.srv.ready.Load(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the server never got ready")
		}
	}
	h.srv.ready.Store(false)
	rec := httptest.NewRecorder()
	h.srv.healthHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "not ready: starting") {
		t.Errorf("GET /readyz while starting: %d %q", rec.Code, rec.Body)
	}
	h.srv.ready.Store(true)
	rec = httptest.NewRecorder()
	h.srv.healthHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 200 {
		t.Errorf("GET /readyz: %d %q", rec.Code, rec.Body)
	}
}

// withElector makes the harness's server one of a cluster that e decides.
func withElector(e cluster.Elector) func(*Server) {
	return func(s *Server) { s.SetCoordination(s.bus, e, cluster.NewSingle(s.ID())) }
}
