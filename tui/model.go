package tui

import (
	"context"
	"time"

	"github.com/charmbracelet/bubbles/help"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/godocker/godocker/api"
)

// view is what the body of the screen shows.
type view int

const (
	viewQueue view = iota
	viewNodes
	viewUsers
	viewDetails // one job, from the queue
	viewTail    // one job's output, from the queue or the details
)

// mode is what keys go to, over the view.
type mode int

const (
	modeNormal  mode = iota
	modeFilter       // typing the queue's text filter
	modeConfirm      // a y/n question
	modeSSH          // showing the ssh command of a job
)

// config is what a model is made with: Run's choices, or a test's.
type config struct {
	me     *api.Identity
	info   *api.ServerInfo // nil: unknown
	styles *styles
	now    func() time.Time
	loc    *time.Location // for dates in the details view
	// after returns a command that delivers msg after d; tests replace it
	// to fire timers themselves.
	after  func(d time.Duration, msg tea.Msg) tea.Cmd
	remote bool   // inside the SSH gateway: never run local programs
	who    string // whose jobs the queue shows: "" the caller's, "*" everybody's, or a user
	size   Size   // the initial size; zero: wait for the terminal's
}

// tick is config.after's default: a real timer.
func tick(d time.Duration, msg tea.Msg) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return msg })
}

// model is gtop: the jobs and the cluster as last heard of, and what the
// user looks at. Its I/O happens in commands, never in Update or View.
type model struct {
	ctx    context.Context // ends every call and the event stream
	src    Source
	me     *api.Identity
	info   api.ServerInfo
	st     *styles
	now    func() time.Time
	loc    *time.Location
	after  func(time.Duration, tea.Msg) tea.Cmd
	remote bool

	keys keyMap
	help help.Model

	width, height int

	// What the server said last.
	jobs                          map[int64]*api.Job // active jobs by id, every user's
	nodes                         []*api.NodeStatus
	usage                         *api.UsageReport
	quotas                        *api.QuotaReport
	nodesErr, usageErr, quotasErr error

	stream  streamState
	refresh refreshState

	view    view
	mode    mode
	queue   queueState
	details detailsState
	tail    tailState
	scroll  map[view]int // the nodes and users views' first line

	confirm confirmation // modeConfirm's question
	ssh     sshPrompt    // modeSSH's command
	status  status
}

// status is the line above the help: the last thing that happened.
type status struct {
	text string
	err  bool
	// stream: the error is the connection's; a successful list clears it.
	stream bool
}

// newModel makes gtop's model; Init starts reading.
func newModel(ctx context.Context, src Source, cfg config) *model {
	m := &model{
		ctx:    ctx,
		src:    src,
		me:     cfg.me,
		st:     cfg.styles,
		now:    cfg.now,
		loc:    cfg.loc,
		after:  cfg.after,
		remote: cfg.remote,
		keys:   newKeyMap(),
		help:   help.New(),
		jobs:   map[int64]*api.Job{},
		scroll: map[view]int{},
		width:  cfg.size.Width,
		height: cfg.size.Height,
	}
	if m.me == nil {
		m.me = &api.Identity{}
	}
	if cfg.info != nil {
		m.info = *cfg.info
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.loc == nil {
		m.loc = time.Local
	}
	if m.after == nil {
		m.after = tick
	}
	m.help.Styles = m.st.help
	m.help.Width = m.width
	m.queue.who = cfg.who
	m.queue.sort = colID
	m.layout()
	return m
}

// Init subscribes to the events (which then lists the queue), reads the
// cluster and starts the timers.
func (m *model) Init() tea.Cmd {
	return tea.Batch(
		m.subscribe(),
		m.refreshNow(),
		m.after(refreshEvery, periodicMsg{}),
		m.after(time.Second, clockMsg{}),
	)
}

// setError shows an error on the status line.
func (m *model) setError(text string) { m.status = status{text: text, err: true} }

// setStreamError shows an error of the connection to the server, which
// stays until it is back.
func (m *model) setStreamError(text string) {
	m.status = status{text: text, err: true, stream: true}
}

// setStatus shows what happened on the status line.
func (m *model) setStatus(text string) { m.status = status{text: text} }

// target is the job the action keys act on: the selected row, or the job
// of the details or tail view.
func (m *model) target() *api.Job {
	switch m.view {
	case viewDetails:
		return m.details.job
	case viewTail:
		return m.tail.job
	case viewQueue:
		return m.queue.selected()
	}
	return nil
}

// whoLabel says whose jobs the queue shows.
func (m *model) whoLabel() string {
	switch m.queue.who {
	case "":
		if m.me.User == "" {
			return "my jobs"
		}
		return "my jobs (" + safe(m.me.User) + ")"
	case "*":
		return "all users"
	}
	return "jobs of " + safe(m.queue.who)
}
