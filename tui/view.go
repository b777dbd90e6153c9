package tui

import (
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	"strconv"
	"strings"
)

// View draws the screen: the header, the current view, the status line
// and the help, every line cut to the width, exactly the height.
func (m *model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	lines := m.headerLines()
	h := m.bodyHeight()
	var body []string
	switch {
	case m.help.ShowAll:
		body = strings.Split(m.help.FullHelpView(m.helpKeys().FullHelp()), "\n")
	case m.view == viewQueue:
		body = m.queueView(h)
	case m.view == viewDetails:
		body = m.detailsView(h)
	case m.view == viewTail:
		body = m.tailView(h)
	case m.view == viewNodes:
		body = m.nodesView(h)
	case m.view == viewUsers:
		body = m.usersView(h)
	}
	body = body[:min(len(body), h)]
	for len(body) < h {
		body = append(body, "")
	}
	lines = append(lines, body...)
	switch m.footerHeight() {
	case 2:
		lines = append(lines, m.statusLine(), m.helpLine())
	case 1:
		lines = append(lines, m.helpLine())
	}
	for i, l := range lines {
		lines[i] = fit(l, m.width)
	}
	return strings.Join(lines[:min(len(lines), m.height)], "\n")
}

// headerHeight is how many header lines fit the terminal's height.
func (m *model) headerHeight() int {
	n := 1
	for _, from := range []int{headerClusterHeight, headerShareHeight, headerNodesHeight} {
		if m.height >= from {
			n++
		}
	}
	return n
}

// footerHeight is 2 (status and help), 1 (help) or 0 on tiny terminals.
func (m *model) footerHeight() int {
	switch {
	case m.height >= 6:
		return 2
	case m.height >= 3:
		return 1
	}
	return 0
}

// bodyHeight is what the header and footer leave to the view.
func (m *model) bodyHeight() int {
	return max(m.height-m.headerHeight()-m.footerHeight(), 0)
}

// headerLines are the title, the cluster's use, the caller's share and
// the nodes, as many as the height allows.
func (m *model) headerLines() []string {
	lines := []string{m.titleLine()}
	n := m.headerHeight()
	if n >= 2 {
		lines = append(lines, m.clusterLine())
	}
	if n >= 3 {
		lines = append(lines, m.shareLine())
	}
	if n >= 4 {
		lines = append(lines, m.nodesLine())
	}
	return lines
}

// titleLine is gtop's name, the caller, the views, the stream's state and
// the time.
func (m *model) titleLine() string {
	who := safe(m.me.User)
	if m.me.Admin {
		who += " (admin)"
	}
	var tabs []string
	current := m.view
	if current == viewDetails || current == viewTail {
		current = viewQueue
	}
	for i, name := range []string{"queue", "nodes", "users"} {
		label := strconv.Itoa(i+1) + " " + name
		if view(i) == current {
			tabs = append(tabs, m.st.tabOn.Render("["+label+"]"))
		} else {
			tabs = append(tabs, m.st.tabOff.Render(" "+label+" "))
		}
	}
	left := joinFit([]string{m.st.title.Render("gtop"), who, strings.Join(tabs, " ")}, "  ", m.width)
	state := m.st.okText.Render("live")
	switch {
	case m.stream.live:
	case m.stream.retrying:
		state = m.st.warn.Render("reconnecting")
	default:
		state = m.st.warn.Render("connecting")
	}
	// The stream's state matters more than the time: the time goes first.
	for _, right := range []string{state + " " + m.now().In(m.loc).Format("15:04:05"), state} {
		if gap := m.width - width(left) - width(right); gap >= 2 {
			return left + strings.Repeat(" ", gap) + right
		}
	}
	return left
}

// letterCounts counts the queue's jobs, every user's, by state letters.
func (m *model) letterCounts() map[string]int {
	c := map[string]int{}
	for _, j := range m.jobs {
		if isArray(j) && waitingTasks(j) == "" {
			continue
		}
		c[stateLetters(j)]++
	}
	return c
}

// countsText renders counts by letters in a fixed order: 3 r, 5 qw.
func countsText(c map[string]int, all bool) string {
	var parts []string
	for _, l := range []string{"r", "dr", "s", "ds", "qw", "hqw"} {
		if c[l] > 0 || all && (l == "r" || l == "qw") {
			parts = append(parts, strconv.Itoa(c[l])+" "+l)
		}
	}
	return strings.Join(parts, ", ")
}

// clusterLine is the cluster's use and its jobs by state.
func (m *model) clusterLine() string {
	parts := []string{m.st.label.Render("cluster")}
	if len(m.nodes) > 0 {
		u := sumNodes(m.nodes)
		parts = append(parts,
			fmt.Sprintf("cpus %d/%d", u.usedCPUs, u.cpus),
			"mem "+humanBytes(u.usedMemory)+"/"+humanBytes(u.memory))
		if u.gpus > 0 {
			parts = append(parts, fmt.Sprintf("gpus %d/%d", u.usedGPUs, u.gpus))
		}
	} else if m.nodesErr != nil {
		parts = append(parts, m.st.dim.Render("no node information"))
	}
	parts = append(parts, "jobs "+countsText(m.letterCounts(), true))
	return joinFit(parts, " · ", m.width)
}

// shareLine is the caller's jobs, what they hold, their fair share and
// what is left of their quota.
func (m *model) shareLine() string {
	mine := map[string]int{}
	for _, j := range m.jobs {
		if j.User == m.me.User && (!isArray(j) || waitingTasks(j) != "") {
			mine[stateLetters(j)]++
		}
	}
	parts := []string{m.st.label.Render("you")}
	jobs := countsText(mine, false)
	if jobs == "" {
		jobs = "no jobs"
	}
	parts = append(parts, jobs)
	if m.usage != nil {
		for _, e := range m.usage.Users {
			if e.Name != m.me.User {
				continue
			}
			if e.CPUs > 0 {
				parts = append(parts, fmt.Sprintf("holding %d cpus, %s", e.CPUs, humanBytes(e.Memory)))
			}
			parts = append(parts, "share "+percent(e.Share), "priority "+strconv.Itoa(e.Priority))
		}
	}
	if q, ok := m.quotaEntry("user", m.me.User); ok {
		parts = append(parts, "quota left: "+quotaLeft(q))
	}
	return joinFit(parts, " · ", m.width)
}

// nodesLine is each node's use, as many as fit, and how many more.
func (m *model) nodesLine() string {
	nodes := sortedNodes(m.nodes)
	if len(nodes) == 0 {
		return ""
	}
	line := m.st.label.Render("nodes") + m.st.dim.Render(" used/total")
	for i, n := range nodes {
		p := fmt.Sprintf("%s cpu %d/%d mem %s/%s", safe(n.Name), n.UsedCPUs, n.CPUs, humanBytes(n.UsedMemory), humanBytes(n.Memory))
		if n.GPUs > 0 {
			p += fmt.Sprintf(" gpu %d/%d", n.UsedGPUs, n.GPUs)
		}
		next, more := line+" │ "+p, ""
		if rest := len(nodes) - 1 - i; rest > 0 {
			more = fmt.Sprintf(" │ +%d more", rest)
		}
		if width(next+more) > m.width && i > 0 {
			return line + fmt.Sprintf(" │ +%d more", len(nodes)-i)
		}
		line = next
	}
	return line
}

// statusLine is the filter being typed, a question, the ssh command, or
// what happened last.
func (m *model) statusLine() string {
	switch m.mode {
	case modeFilter:
		return m.st.warn.Render("/") + m.queue.filter + m.st.dim.Render("_")
	case modeConfirm:
		return m.st.warn.Render(safe(m.confirm.prompt))
	case modeSSH:
		if m.ssh.command == "" {
			return m.st.errText.Render("job " + m.ssh.ref + ": " + m.ssh.note)
		}
		s := m.st.label.Render(safe(m.ssh.command))
		if m.ssh.note != "" {
			s += m.st.dim.Render(" (" + m.ssh.note + ")")
		}
		return s
	}
	if m.status.err {
		return m.st.errText.Render(safe(m.status.text))
	}
	return safe(m.status.text)
}

// helpLine is the keys of the current view and mode.
func (m *model) helpLine() string {
	if m.help.ShowAll {
		return m.help.ShortHelpView([]key.Binding{key.NewBinding(key.WithKeys("?"), key.WithHelp("?/esc", "close help"))})
	}
	return m.help.View(m.helpKeys())
}
