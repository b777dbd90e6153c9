package docker

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"

	"github.com/godocker/godocker/executor"
)

// fakeEngine answers the few calls New and Events make. Its event stream
// breaks after the first batch; the second connection replays the last
// event of the first batch, as the engine does for a "since" at that
// time, then sends a new one and stays open.
type fakeEngine struct {
	t     *testing.T
	base  time.Time
	mu    sync.Mutex
	calls int
	since []string
}

func (f *fakeEngine) msg(i int, job int64, action events.Action) events.Message {
	return events.Message{
		Type: events.ContainerEventType, Action: action,
		Actor:    events.Actor{ID: "c" + strconv.FormatInt(job, 10), Attributes: map[string]string{executor.LabelJob: strconv.FormatInt(job, 10), executor.LabelAttempt: "1"}},
		TimeNano: f.base.Add(time.Duration(i) * time.Millisecond).UnixNano(),
	}
}

func (f *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/_ping"):
		w.Header().Set("Api-Version", "1.41")
		w.Write([]byte("OK"))
	case strings.HasSuffix(r.URL.Path, "/info"):
		json.NewEncoder(w).Encode(map[string]any{"Name": "fake", "NCPU": 2, "MemTotal": 1 << 30, "SystemTime": f.base.Format(time.RFC3339Nano)})
	case strings.HasSuffix(r.URL.Path, "/containers/json"):
		w.Write([]byte("[]")) // New's look for left-over readers of images' users
	case strings.HasSuffix(r.URL.Path, "/events"):
		f.mu.Lock()
		f.calls++
		call := f.calls
		f.since = append(f.since, r.URL.Query().Get("since"))
		f.mu.Unlock()
		enc := json.NewEncoder(w)
		if call == 1 {
			enc.Encode(f.msg(1, 7, events.ActionStart))
			enc.Encode(f.msg(3, 8, events.ActionStart))
			enc.Encode(f.msg(2, 7, events.ActionPause)) // stamped earlier, published later
			return                                      // the stream breaks
		}
		enc.Encode(f.msg(1, 7, events.ActionStart)) // replayed
		enc.Encode(f.msg(2, 7, events.ActionPause)) // replayed
		enc.Encode(f.msg(3, 8, events.ActionStart)) // replayed
		enc.Encode(f.msg(4, 7, events.ActionDie))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	default:
		f.t.Errorf("fake engine: unexpected %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	}
}

// TestEventsReconnect: a broken stream is reopened from shortly before the
// latest event, events that arrive out of order are not dropped, replays
// are, and the channel closes with the context.
func TestEventsReconnect(t *testing.T) {
	f := &fakeEngine{t: t, base: time.Now().Truncate(time.Second)}
	srv := httptest.NewServer(f)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	ex, err := New(ctx, "fake", executor.Config{Host: "tcp://" + srv.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	ch, err := ex.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 4 {
		select {
		case e := <-ch:
			got = append(got, strconv.FormatInt(e.JobID, 10)+":"+string(e.Kind))
		case <-ctx.Done():
			t.Fatalf("events so far %v: %v", got, ctx.Err())
		}
	}
	if want := "7:started 8:started 7:paused 7:exited"; strings.Join(got, " ") != want {
		t.Errorf("events %v, want %s", got, want)
	}
	f.mu.Lock()
	since := f.since
	f.mu.Unlock()
	wantSince := func(t0 time.Time) string {
		return strconv.FormatInt(t0.Unix(), 10) + "." + strconv.Itoa(t0.Nanosecond() + 1e9)[1:]
	}
	if len(since) != 2 || since[0] != wantSince(f.base) || since[1] != wantSince(f.base.Add(3*time.Millisecond-replaySlack)) {
		t.Errorf("since of the connections: %q, want the engine's time, then %v before the latest event", since, replaySlack)
	}
	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			t.Error("an event after cancel")
		}
	case <-time.After(10 * time.Second):
		t.Error("channel still open after cancel")
	}
}

// TestEventsOfTheInstallation: an executor with an installation asks the
// engine for its installation's containers only, and drops any other
// that comes (another installation's job of the same id, a container of
// before installations).
func TestEventsOfTheInstallation(t *testing.T) {
	base := time.Now().Truncate(time.Second)
	filtersSeen := make(chan string, 1)
	msg := func(i int, job int64, inst string) events.Message {
		attrs := map[string]string{executor.LabelJob: strconv.FormatInt(job, 10), executor.LabelAttempt: "1"}
		if inst != "" {
			attrs[executor.LabelInstallation] = inst
		}
		return events.Message{Type: events.ContainerEventType, Action: events.ActionStart,
			Actor: events.Actor{ID: "c" + strconv.Itoa(i), Attributes: attrs}, TimeNano: base.Add(time.Duration(i) * time.Millisecond).UnixNano()}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/_ping"):
			w.Header().Set("Api-Version", "1.41")
			w.Write([]byte("OK"))
		case strings.HasSuffix(r.URL.Path, "/info"):
			json.NewEncoder(w).Encode(map[string]any{"Name": "fake", "SystemTime": base.Format(time.RFC3339Nano)})
		case strings.HasSuffix(r.URL.Path, "/events"):
			select {
			case filtersSeen <- r.URL.Query().Get("filters"):
			default:
			}
			enc := json.NewEncoder(w)
			enc.Encode(msg(1, 7, "0b0b0b0b0b0b")) // another installation's job 7
			enc.Encode(msg(2, 7, ""))             // a container of before installations
			enc.Encode(msg(3, 8, "0a0a0a0a0a0a"))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	ex, err := New(ctx, "fake", executor.Config{Host: "tcp://" + srv.Listener.Addr().String(), Installation: "0a0a0a0a0a0a"})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	ch, err := ex.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-ch:
		if e.JobID != 8 {
			t.Errorf("first event %+v, want job 8's: the installation's only", e)
		}
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	var f map[string]map[string]bool
	if err := json.Unmarshal([]byte(<-filtersSeen), &f); err != nil {
		t.Fatal(err)
	}
	if !f["label"][executor.LabelInstallation+"=0a0a0a0a0a0a"] || !f["label"][executor.LabelJob] {
		t.Errorf("events asked with filters %v, want the labels %s and %s=0a0a0a0a0a0a", f, executor.LabelJob, executor.LabelInstallation)
	}
}
