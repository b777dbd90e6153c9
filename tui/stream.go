package tui

import (
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/godocker/godocker/api"
)

// How gtop keeps up with the server: the queue is listed once, then kept
// by the event stream, each event carrying the job as it is now. The
// server drops events for slow subscribers and the stream may end: then
// gtop subscribes again, with a growing delay, and lists everything anew.
// The nodes, the usage and the quotas are read again after events, at
// most every refreshGap, and every refreshEvery anyway.
const (
	firstRetry   = time.Second
	maxRetry     = 30 * time.Second
	refreshGap   = 2 * time.Second
	refreshEvery = 30 * time.Second
	// eventBatch is the most events one message carries: a burst of
	// events costs one redraw per batch, not one per event.
	eventBatch = 256
	// stableStream is how long a stream must have lasted for its end to
	// retry at once rather than after a growing delay.
	stableStream = 30 * time.Second
)

// streamState is the event subscription.
type streamState struct {
	gen      int // the subscription's number: messages of older ones are ignored
	ch       <-chan api.Event
	live     bool      // a stream is open
	since    time.Time // when it opened
	retrying bool      // a new attempt is scheduled
	backoff  time.Duration
	// listing: a list is under way; the events that arrive meanwhile
	// wait in held and are applied on top of it, in order.
	listing bool
	held    []api.Event
	listed  bool // the queue was listed at least once
}

// refreshState paces the reading of nodes, usage and quotas.
type refreshState struct {
	last      time.Time
	scheduled bool
}

// Messages of the event stream and the timers.
type (
	subscribedMsg struct {
		gen int
		ch  <-chan api.Event
		err error
	}
	eventsMsg struct {
		gen    int
		events []api.Event
	}
	streamEndedMsg struct{ gen int }
	retryMsg       struct{}
	refreshMsg     struct{}
	periodicMsg    struct{}
	clockMsg       struct{}
)

// subscribe opens a new event stream.
func (m *model) subscribe() tea.Cmd {
	m.stream.gen++
	gen, ctx, src := m.stream.gen, m.ctx, m.src
	return func() tea.Msg {
		ch, err := src.Events(ctx)
		return subscribedMsg{gen: gen, ch: ch, err: err}
	}
}

// waitEvents waits for the next events of stream gen: a batch of those
// that are there, or the stream's end.
func waitEvents(ctx context.Context, gen int, ch <-chan api.Event) tea.Cmd {
	return func() tea.Msg {
		var ev api.Event
		var ok bool
		select {
		case ev, ok = <-ch:
		case <-ctx.Done():
			return nil
		}
		if !ok {
			return streamEndedMsg{gen: gen}
		}
		evs := []api.Event{ev}
		for len(evs) < eventBatch {
			select {
			case ev, ok := <-ch:
				if !ok {
					return eventsMsg{gen: gen, events: evs} // the end comes with the next wait
				}
				evs = append(evs, ev)
			default:
				return eventsMsg{gen: gen, events: evs}
			}
		}
		return eventsMsg{gen: gen, events: evs}
	}
}

// list starts a re-list of the queue unless one is under way.
func (m *model) list() tea.Cmd {
	if m.stream.listing {
		return nil
	}
	m.stream.listing = true
	return listJobs(m.ctx, m.src)
}

// retryLater schedules a new subscription (or list) after a delay that
// doubles at each failure, up to maxRetry.
func (m *model) retryLater() tea.Cmd {
	if m.stream.retrying {
		return nil
	}
	m.stream.retrying = true
	m.stream.backoff = min(max(2*m.stream.backoff, firstRetry), maxRetry)
	return m.after(m.stream.backoff, retryMsg{})
}

// updateStream handles the messages of the event stream and of the
// lists; ok is false for other messages.
func (m *model) updateStream(msg tea.Msg) (cmd tea.Cmd, ok bool) {
	switch msg := msg.(type) {
	case subscribedMsg:
		if msg.gen != m.stream.gen {
			return nil, true
		}
		if msg.err != nil {
			m.stream.live = false
			m.setStreamError("event stream: " + errorText(msg.err))
			return tea.Batch(m.list(), m.retryLater()), true
		}
		m.stream.live, m.stream.ch, m.stream.since = true, msg.ch, m.now()
		// Listed after subscribing: no change falls between the two.
		return tea.Batch(waitEvents(m.ctx, msg.gen, msg.ch), m.list()), true

	case eventsMsg:
		if msg.gen != m.stream.gen {
			return nil, true
		}
		m.stream.backoff = 0
		if m.stream.listing {
			m.stream.held = append(m.stream.held, msg.events...)
		} else {
			for _, ev := range msg.events {
				m.apply(ev.Job)
			}
		}
		return tea.Batch(waitEvents(m.ctx, msg.gen, m.stream.ch), m.refreshSoon()), true

	case streamEndedMsg:
		if msg.gen != m.stream.gen {
			return nil, true
		}
		m.stream.live, m.stream.ch = false, nil
		if m.now().Sub(m.stream.since) >= stableStream {
			m.stream.backoff = 0
		}
		return m.retryLater(), true

	case retryMsg:
		m.stream.retrying = false
		if !m.stream.live {
			return m.subscribe(), true
		}
		return m.list(), true

	case jobsMsg:
		m.stream.listing = false
		held := m.stream.held
		m.stream.held = nil
		if msg.err != nil {
			m.setStreamError("list jobs: " + errorText(msg.err))
			for _, ev := range held {
				m.apply(ev.Job)
			}
			return m.retryLater(), true
		}
		m.stream.listed = true
		if m.status.stream && m.stream.live {
			m.setStatus("reconnected")
		}
		m.jobs = make(map[int64]*api.Job, len(msg.jobs))
		for _, j := range msg.jobs {
			m.apply(j)
		}
		for _, ev := range held {
			m.apply(ev.Job)
		}
		return nil, true

	case refreshMsg:
		m.refresh.scheduled = false
		return m.refreshNow(), true

	case periodicMsg:
		return tea.Batch(m.refreshNow(), m.after(refreshEvery, periodicMsg{})), true

	case clockMsg:
		// Redraw only: ages and run times move on. No call is made.
		return m.after(time.Second, clockMsg{}), true

	case nodesMsg:
		if m.nodesErr = msg.err; msg.err == nil {
			m.nodes = msg.nodes
		}
		return nil, true
	case usageMsg:
		if m.usageErr = msg.err; msg.err == nil {
			m.usage = msg.usage
		}
		return nil, true
	case quotasMsg:
		if m.quotasErr = msg.err; msg.err == nil {
			m.quotas = msg.quotas
		}
		return nil, true
	}
	return nil, false
}

// apply records j as it is now: a finished job leaves the queue. The
// details and tail views keep following it.
func (m *model) apply(j *api.Job) {
	if j == nil {
		return
	}
	if j.State.Finished() {
		delete(m.jobs, j.ID)
	} else {
		m.jobs[j.ID] = j
	}
	if m.details.job != nil && m.details.job.ID == j.ID {
		m.details.job = j
	}
	if m.tail.job != nil && m.tail.job.ID == j.ID {
		m.tail.job = j
	}
}

// refreshSoon reads the nodes, usage and quotas again now, or as soon as
// refreshGap has passed since the last time.
func (m *model) refreshSoon() tea.Cmd {
	if m.refresh.scheduled {
		return nil
	}
	wait := m.refresh.last.Add(refreshGap).Sub(m.now())
	if wait <= 0 {
		return m.refreshNow()
	}
	m.refresh.scheduled = true
	return m.after(wait, refreshMsg{})
}

// refreshNow reads the nodes, usage and quotas again.
func (m *model) refreshNow() tea.Cmd {
	m.refresh.last = m.now()
	return loadCluster(m.ctx, m.src)
}
