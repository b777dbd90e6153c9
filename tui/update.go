package tui

import (
	"slices"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/godocker/godocker/api"
)

// Update applies a message: a key, a size, or what a command brought
// back. It makes no call itself: it returns commands that do.
func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	m.layout()
	return m, cmd
}

func (m *model) update(msg tea.Msg) tea.Cmd {
	if cmd, ok := m.updateStream(msg); ok {
		return cmd
	}
	if cmd, ok := m.updateTail(msg); ok {
		return cmd
	}
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tea.KeyMsg:
		return m.key(msg)
	case jobMsg:
		if m.details.job != nil && m.details.job.ID == msg.id {
			m.details.err = msg.err
			if msg.err == nil && msg.job != nil {
				m.details.job = msg.job
			}
		}
	case actionMsg:
		m.actionDone(msg)
	case execDoneMsg:
		m.mode = modeNormal
		if msg.err != nil {
			m.setError("ssh: " + msg.err.Error())
		} else {
			m.setStatus("ssh ended")
		}
	}
	return nil
}

// layout recomputes what depends on the data and the size: the help's
// width and the queue's rows, cursor and page.
func (m *model) layout() {
	m.help.Width = m.width
	page := m.bodyHeight() - 2 // the queue's title and column titles
	m.layoutQueue(max(page, 1))
}

// key handles a key press.
func (m *model) key(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	if key.Matches(msg, k.ForceQuit) {
		return tea.Quit
	}
	switch m.mode {
	case modeFilter:
		return m.filterKey(msg)
	case modeConfirm:
		switch {
		case key.Matches(msg, k.Yes):
			m.mode = modeNormal
			m.setStatus("…")
			return m.confirm.yes
		case key.Matches(msg, k.No):
			m.mode = modeNormal
			m.setStatus("cancelled")
		}
		return nil
	case modeSSH:
		switch {
		case m.ssh.canRun && key.Matches(msg, k.Run):
			return m.runSSH()
		case key.Matches(msg, k.Close):
			m.mode = modeNormal
		}
		return nil
	}
	if m.help.ShowAll {
		if key.Matches(msg, k.Help, k.Back, k.Quit) {
			m.help.ShowAll = false
		}
		return nil
	}
	switch {
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case key.Matches(msg, k.Help):
		m.help.ShowAll = true
		return nil
	case key.Matches(msg, k.Queue):
		m.view = viewQueue
		return nil
	case key.Matches(msg, k.Nodes):
		m.view = viewNodes
		return nil
	case key.Matches(msg, k.Users):
		m.view = viewUsers
		return nil
	}
	switch m.view {
	case viewQueue:
		return m.queueKey(msg)
	case viewDetails:
		return m.detailsKey(msg)
	case viewTail:
		return m.tailKey(msg)
	}
	return m.listKey(msg)
}

// jobKey handles the keys that act on the target job, in the queue,
// details and tail views; ok is false for other keys.
func (m *model) jobKey(msg tea.KeyMsg) (cmd tea.Cmd, ok bool) {
	k := m.keys
	if !key.Matches(msg, k.Tail, k.Delete, k.Suspend, k.Hold, k.Requeue, k.SSH) {
		return nil, false
	}
	j := m.target()
	if j == nil {
		return nil, true
	}
	switch {
	case key.Matches(msg, k.Tail):
		if m.view == viewTail {
			return nil, true
		}
		return m.openTail(j, m.view), true
	case key.Matches(msg, k.Delete):
		m.askDelete(j)
	case key.Matches(msg, k.Suspend):
		return m.suspendOrResume(j), true
	case key.Matches(msg, k.Hold):
		return m.holdOrRelease(j), true
	case key.Matches(msg, k.Requeue):
		return m.askRequeue(j), true
	case key.Matches(msg, k.SSH):
		m.showSSH(j)
	}
	return nil, true
}

// queueKey handles a key in the queue view.
func (m *model) queueKey(msg tea.KeyMsg) tea.Cmd {
	if cmd, ok := m.jobKey(msg); ok {
		return cmd
	}
	k, q := m.keys, &m.queue
	switch {
	case key.Matches(msg, k.Up):
		q.move(-1)
	case key.Matches(msg, k.Down):
		q.move(1)
	case key.Matches(msg, k.PageUp):
		q.move(-q.page)
	case key.Matches(msg, k.PageDown):
		q.move(q.page)
	case key.Matches(msg, k.Top):
		q.moveTo(0)
	case key.Matches(msg, k.Bottom):
		q.moveTo(len(q.rows) - 1)
	case key.Matches(msg, k.SortNext):
		q.sort = (q.sort + 1) % numCols
	case key.Matches(msg, k.SortPrev):
		q.sort = (q.sort + numCols - 1) % numCols
	case key.Matches(msg, k.SortReverse):
		q.desc = !q.desc
	case key.Matches(msg, k.Filter):
		m.mode = modeFilter
	case key.Matches(msg, k.Who):
		if q.who == "*" {
			q.who = ""
		} else {
			q.who = "*"
		}
	case key.Matches(msg, k.State):
		states := stateFilters()
		q.state = states[(slices.Index(states, q.state)+1)%len(states)]
	case key.Matches(msg, k.Clear):
		if q.filter != "" {
			q.filter = ""
		} else {
			q.state = ""
		}
	case key.Matches(msg, k.Details):
		if j := q.selected(); j != nil {
			return m.openDetails(j, viewQueue)
		}
	case key.Matches(msg, k.NextView):
		m.view = viewNodes
	}
	return nil
}

// filterKey edits the queue's text filter: the rows follow each key.
func (m *model) filterKey(msg tea.KeyMsg) tea.Cmd {
	q := &m.queue
	switch msg.Type {
	case tea.KeyEnter:
		m.mode = modeNormal
	case tea.KeyEsc:
		m.mode = modeNormal
		q.filter = ""
	case tea.KeyBackspace:
		if r := []rune(q.filter); len(r) > 0 {
			q.filter = string(r[:len(r)-1])
		}
	case tea.KeyCtrlU:
		q.filter = ""
	case tea.KeyCtrlW:
		r := []rune(q.filter)
		i := len(r)
		for i > 0 && r[i-1] == ' ' {
			i--
		}
		for i > 0 && r[i-1] != ' ' {
			i--
		}
		q.filter = string(r[:i])
	case tea.KeyRunes, tea.KeySpace:
		q.filter += string(msg.Runes)
	}
	return nil
}

// openDetails shows j's details, and reads it afresh.
func (m *model) openDetails(j *api.Job, from view) tea.Cmd {
	m.details = detailsState{job: j, from: from}
	m.view = viewDetails
	return fetchJob(m.ctx, m.src, j.ID, jobRef(j))
}

// detailsKey handles a key in the details view.
func (m *model) detailsKey(msg tea.KeyMsg) tea.Cmd {
	if cmd, ok := m.jobKey(msg); ok {
		return cmd
	}
	k, d := m.keys, &m.details
	page := max(m.bodyHeight()-1, 1)
	n := len(m.detailLines())
	switch {
	case key.Matches(msg, k.Back):
		m.view = d.from
	case key.Matches(msg, k.Up):
		d.scroll--
	case key.Matches(msg, k.Down):
		d.scroll++
	case key.Matches(msg, k.PageUp):
		d.scroll -= page
	case key.Matches(msg, k.PageDown):
		d.scroll += page
	case key.Matches(msg, k.Top):
		d.scroll = 0
	case key.Matches(msg, k.Bottom):
		d.scroll = n
	case key.Matches(msg, k.NextView):
		m.view = viewNodes
	}
	d.scroll = clampScroll(d.scroll, n, page)
	return nil
}

// tailKey handles a key in the tail view.
func (m *model) tailKey(msg tea.KeyMsg) tea.Cmd {
	k, t := m.keys, &m.tail
	if key.Matches(msg, k.Stream) {
		t.active = map[string]string{api.Stdout: api.Stderr, api.Stderr: api.Stdout}[t.active]
		t.scroll = 0
		if !t.inflight {
			return m.pollTail()
		}
		return nil
	}
	if cmd, ok := m.jobKey(msg); ok {
		return cmd
	}
	page := max(m.bodyHeight()-2, 1)
	n := len(t.stream(t.active).all())
	switch {
	case key.Matches(msg, k.Back):
		m.view = t.from
		t.gen++ // stops the reads
	case key.Matches(msg, k.Up):
		t.scroll++
	case key.Matches(msg, k.Down):
		t.scroll--
	case key.Matches(msg, k.PageUp):
		t.scroll += page
	case key.Matches(msg, k.PageDown):
		t.scroll -= page
	case key.Matches(msg, k.Top):
		t.scroll = n
	case key.Matches(msg, k.Follow):
		t.scroll = 0
	}
	t.scroll = max(min(t.scroll, n-page), 0)
	return nil
}

// listLen is the number of lines the nodes or users view scrolls
// through.
func (m *model) listLen() int {
	const all = 1 << 20
	if m.view == viewNodes {
		return len(m.nodesView(all)) - 2
	}
	return len(m.usersView(all)) - 1
}

// listKey handles a key in the nodes and users views: they scroll.
func (m *model) listKey(msg tea.KeyMsg) tea.Cmd {
	k, v := m.keys, m.view
	page := max(m.bodyHeight()-2, 1)
	s := m.scroll[v]
	switch {
	case key.Matches(msg, k.Up):
		s--
	case key.Matches(msg, k.Down):
		s++
	case key.Matches(msg, k.PageUp):
		s -= page
	case key.Matches(msg, k.PageDown):
		s += page
	case key.Matches(msg, k.Top):
		s = 0
	case key.Matches(msg, k.Bottom):
		s = m.listLen()
	case key.Matches(msg, k.NextView):
		if v == viewNodes {
			m.view = viewUsers
		} else {
			m.view = viewQueue
		}
	case key.Matches(msg, k.Back):
		m.view = viewQueue
	}
	m.scroll[v] = clampScroll(s, m.listLen(), page)
	return nil
}
