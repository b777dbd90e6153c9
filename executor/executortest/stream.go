package executortest

import (
	"context"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
)

// Stream is an executor's event stream as a test reads it: the events of
// each job attempt in order, whatever other jobs do meanwhile. It is not
// for concurrent use; give each test its own.
type Stream struct {
	// Timeout bounds each wait for an event (default 60 seconds).
	Timeout time.Duration

	ch      <-chan executor.Event
	backlog map[streamKey][]executor.Event
}

type streamKey struct {
	job     int64
	attempt int
}

// Watch subscribes to ex's events until the test ends.
func Watch(t testing.TB, ex executor.Executor) *Stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := ex.Events(ctx)
	if err != nil {
		cancel()
		t.Fatalf("Events: %v", err)
	}
	s := &Stream{Timeout: 60 * time.Second, ch: ch, backlog: map[streamKey][]executor.Event{}}
	t.Cleanup(func() {
		cancel()
		if !drained(ch, s.Timeout) {
			t.Errorf("Events: channel still open %v after its context was cancelled", s.Timeout)
		}
	})
	return s
}

// drained reads ch until it is closed, and reports whether that happened
// within limit.
func drained(ch <-chan executor.Event, limit time.Duration) bool {
	timeout := time.NewTimer(limit)
	defer timeout.Stop()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return true
			}
		case <-timeout.C:
			return false
		}
	}
}

// Next returns the next event of j's current attempt, failing the test if
// none comes within s.Timeout.
func (s *Stream) Next(t testing.TB, j *api.Job) executor.Event {
	t.Helper()
	k := streamKey{j.ID, j.Attempt}
	if q := s.backlog[k]; len(q) > 0 {
		s.backlog[k] = q[1:]
		return q[0]
	}
	timeout := time.NewTimer(s.Timeout)
	defer timeout.Stop()
	for {
		select {
		case e, ok := <-s.ch:
			if !ok {
				t.Fatalf("job %d attempt %d: event stream closed while waiting for an event", j.ID, j.Attempt)
			}
			if e.Time.IsZero() {
				t.Errorf("event %+v has no time", e)
			}
			ek := streamKey{e.JobID, e.Attempt}
			if ek == k {
				return e
			}
			s.backlog[ek] = append(s.backlog[ek], e)
		case <-timeout.C:
			t.Fatalf("job %d attempt %d: no event within %v", j.ID, j.Attempt, s.Timeout)
		}
	}
}

// Expect fails the test unless the next events of j's current attempt are
// kinds, in that order.
func (s *Stream) Expect(t testing.TB, j *api.Job, kinds ...executor.EventKind) {
	t.Helper()
	for i, want := range kinds {
		if e := s.Next(t, j); e.Kind != want {
			t.Fatalf("job %d attempt %d: event %d is %s, want %s (expected %v)", j.ID, j.Attempt, i+1, e.Kind, want, kinds)
		}
	}
}

// Pending returns the events of j's current attempt received so far and
// not yet returned by Next, and forgets them.
func (s *Stream) Pending(j *api.Job) []executor.Event {
	k := streamKey{j.ID, j.Attempt}
	q := s.backlog[k]
	delete(s.backlog, k)
	return q
}

// quiet fails the test if j's attempt had any event since the last one
// read. Events of one stream come in order, so it starts a marker job
// that exits at once and waits for its Started: an event of j caused by
// anything done before Quiet was called would have come first.
func (s *Stream) quiet(t *testing.T, h Harness, j *api.Job) {
	t.Helper()
	marker := h.job(t, Program{Exit: 0})
	h.start(t, marker)
	s.Expect(t, marker, executor.Started)
	if q := s.Pending(j); len(q) > 0 {
		t.Errorf("job %d attempt %d: unexpected events %+v", j.ID, j.Attempt, q)
	}
}
