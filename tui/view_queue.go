package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/godocker/godocker/api"
)

// colKey names a column of the queue.
type colKey int

const (
	colID colKey = iota
	colName
	colUser
	colState
	colPrio
	colCPUs
	colMem
	colImage
	colTime
	colNode
	colReason
	numCols
)

// stateFilters are the states f goes through; "" is any.
func stateFilters() []api.State {
	return []api.State{"", api.Pending, api.Held, api.Running, api.Suspended}
}

// queueState is the queue view: which jobs, in which order, and where the
// cursor is.
type queueState struct {
	who    string    // "" the caller's, "*" everybody's, or a user's
	state  api.State // "" any
	filter string    // text to find in a row, case-insensitive
	sort   colKey
	desc   bool

	rows   []*api.Job // what the filters let through, sorted; made by layout
	cursor int
	sel    int64 // the selected job's id: the cursor follows it
	offset int   // the first row shown
	page   int   // how many rows fit
}

// selected is the job under the cursor, or nil.
func (q *queueState) selected() *api.Job {
	if q.cursor < 0 || q.cursor >= len(q.rows) {
		return nil
	}
	return q.rows[q.cursor]
}

// move moves the cursor by n rows.
func (q *queueState) move(n int) { q.moveTo(q.cursor + n) }

// moveTo puts the cursor on row i (clamped).
func (q *queueState) moveTo(i int) {
	q.cursor = max(min(i, len(q.rows)-1), 0)
	if j := q.selected(); j != nil {
		q.sel = j.ID
	}
	q.scroll()
}

// scroll keeps the cursor's row in the page.
func (q *queueState) scroll() {
	page := max(q.page, 1)
	if q.cursor < q.offset {
		q.offset = q.cursor
	}
	if q.cursor >= q.offset+page {
		q.offset = q.cursor - page + 1
	}
	q.offset = max(min(q.offset, len(q.rows)-page), 0)
}

// layoutQueue recomputes the rows after any change, keeping the cursor on
// the same job when it is still there.
func (m *model) layoutQueue(page int) {
	q := &m.queue
	q.page = page
	q.rows = q.rows[:0]
	for _, j := range m.jobs {
		if m.inQueue(j) {
			q.rows = append(q.rows, j)
		}
	}
	now := m.now()
	slices.SortFunc(q.rows, func(a, b *api.Job) int {
		c := compareBy(q.sort, a, b, now)
		if q.desc {
			c = -c
		}
		if c == 0 {
			c = compareBy(colID, a, b, now)
		}
		return c
	})
	i := slices.IndexFunc(q.rows, func(j *api.Job) bool { return j.ID == q.sel })
	if i < 0 {
		i = q.cursor // the job left: the cursor stays where it was
	}
	q.moveTo(i)
}

// inQueue reports whether j passes the queue's filters.
func (m *model) inQueue(j *api.Job) bool {
	q := &m.queue
	if isArray(j) && waitingTasks(j) == "" {
		return false // every task has a row of its own
	}
	switch q.who {
	case "":
		if j.User != m.me.User {
			return false
		}
	case "*":
	default:
		if j.User != q.who {
			return false
		}
	}
	if q.state != "" && j.State != q.state {
		return false
	}
	if q.filter == "" {
		return true
	}
	hay := strings.ToLower(strings.Join([]string{rowRef(j), j.Name, j.User, j.Project, j.Spec.Image, j.Node,
		stateLetters(j), string(j.State), j.Reason.Code, j.Reason.Message}, "\x00"))
	return strings.Contains(hay, strings.ToLower(q.filter))
}

// compareBy orders two jobs by a column.
func compareBy(c colKey, a, b *api.Job, now time.Time) int {
	switch c {
	case colName:
		return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	case colUser:
		return cmp.Compare(a.User, b.User)
	case colState:
		return cmp.Compare(stateRank(stateLetters(a)), stateRank(stateLetters(b)))
	case colPrio:
		return cmp.Compare(priorityOf(a), priorityOf(b))
	case colCPUs:
		return cmp.Compare(a.CPUs(), b.CPUs())
	case colMem:
		return cmp.Compare(a.Spec.Memory, b.Spec.Memory)
	case colImage:
		return cmp.Compare(a.Spec.Image, b.Spec.Image)
	case colTime:
		return cmp.Compare(elapsed(a, now), elapsed(b, now))
	case colNode:
		return cmp.Compare(a.Node, b.Node)
	case colReason:
		return cmp.Compare(reasonText(a), reasonText(b))
	}
	return cmp.Or(cmp.Compare(jobRef(a).ID, jobRef(b).ID), cmp.Compare(taskOrder(a), taskOrder(b)))
}

// taskOrder orders the rows of one id as gstat does: tasks by number, an
// array's tasks not started yet at their first.
func taskOrder(j *api.Job) int64 {
	if isArray(j) {
		if runs := j.Spec.Array.Remaining(j.Tasks); len(runs) > 0 {
			return runs[0].First
		}
	}
	return j.TaskID
}

// reasonText is the REASON column: why a job waits, or why a running one
// is being killed.
func reasonText(j *api.Job) string {
	if j.State == api.Pending || j.State == api.Held || j.Deleting {
		if j.Reason.Message != "" {
			return j.Reason.Message
		}
		return j.Reason.Code
	}
	if isArray(j) && j.Tasks != nil && j.Tasks.Running > 0 {
		return fmt.Sprintf("%d tasks running", j.Tasks.Running)
	}
	return ""
}

// cell is the text of column c for job j, safe to draw.
func cell(c colKey, j *api.Job, now time.Time) string { return safe(cellText(c, j, now)) }

// cellText is the text of column c for job j, as the server gave it.
func cellText(c colKey, j *api.Job, now time.Time) string {
	switch c {
	case colID:
		return rowRef(j)
	case colName:
		return j.Name
	case colUser:
		return j.User
	case colState:
		return stateLetters(j)
	case colPrio:
		return strconv.FormatFloat(priorityOf(j), 'f', 3, 64)
	case colCPUs:
		return strconv.Itoa(j.CPUs())
	case colMem:
		if j.Spec.Memory <= 0 {
			return "-"
		}
		return humanBytes(j.Spec.Memory)
	case colImage:
		return j.Spec.Image
	case colTime:
		return shortDuration(elapsed(j, now))
	case colNode:
		return j.Node
	case colReason:
		return reasonText(j)
	}
	return ""
}

// placed is a column with the width it got.
type placed struct {
	column
	w int
}

// layoutColumns decides which queue columns show and how wide, for a
// terminal width cells wide: columns hidden below their breakpoint, each
// as wide as its cells need within its min and max, the reason taking
// the rest; when that is too little, the others shrink, then go.
func layoutColumns(total int, cells [][numCols]string) []placed {
	var cols []placed
	for _, c := range queueColumns() {
		if total < c.hideBelow {
			continue
		}
		w := width(c.title)
		for _, row := range cells {
			w = max(w, width(row[c.id]))
		}
		if c.max > 0 {
			w = min(w, c.max)
		}
		cols = append(cols, placed{column: c, w: max(w, c.min)})
	}
	// The marker column and one space between columns.
	used := func() int {
		n := len(markCursor) + 1
		for _, c := range cols {
			if c.id != colReason {
				n += c.w + 1
			}
		}
		return n
	}
	reason := func() *placed {
		for i := range cols {
			if cols[i].id == colReason {
				return &cols[i]
			}
		}
		return nil
	}
	for _, id := range shrinkOrder() {
		r := reason()
		if r == nil || total-used() >= r.want {
			break
		}
		for i := range cols {
			if cols[i].id == id {
				cols[i].w = max(cols[i].min, cols[i].w-(r.want-(total-used())))
			}
		}
	}
	for _, id := range dropOrder() {
		r := reason()
		if r != nil && total-used() >= r.min || r == nil && used() <= total {
			break
		}
		cols = slices.DeleteFunc(cols, func(c placed) bool { return c.id == id })
	}
	if r := reason(); r != nil {
		r.w = total - used()
	}
	return cols
}

// queueView draws the queue in h lines: a line that says what is shown,
// the columns' titles and a page of rows.
func (m *model) queueView(h int) []string {
	q := &m.queue
	now := m.now()
	cells := make([][numCols]string, len(q.rows))
	for i, j := range q.rows {
		for c := range numCols {
			cells[i][c] = cell(c, j, now)
		}
	}
	cols := layoutColumns(m.width, cells)

	lines := []string{m.queueTitle()}
	head := strings.Repeat(" ", len(markCursor)+1)
	for i, c := range cols {
		title := c.title
		if c.id == q.sort {
			arrow := sortUp
			if q.desc {
				arrow = sortDown
			}
			title += arrow
		}
		title = align(title, c, i == len(cols)-1)
		if c.id == q.sort {
			title = m.st.colSorted.Render(title)
		} else {
			title = m.st.colHead.Render(title)
		}
		if i > 0 {
			head += " "
		}
		head += title
	}
	lines = append(lines, head)
	if len(q.rows) == 0 {
		return append(lines, m.st.dim.Render("  "+m.emptyQueue()))
	}
	end := min(q.offset+max(h-2, 0), len(q.rows))
	for i := q.offset; i < end; i++ {
		lines = append(lines, m.queueRow(cols, cells[i], i == q.cursor))
	}
	return lines
}

// queueRow draws one row; the selected one carries the cursor mark and,
// with colour, is drawn reversed as a whole.
func (m *model) queueRow(cols []placed, cells [numCols]string, selected bool) string {
	var b strings.Builder
	if selected {
		b.WriteString(markCursor + " ")
	} else {
		b.WriteString(strings.Repeat(" ", len(markCursor)+1))
	}
	for i, c := range cols {
		if i > 0 {
			b.WriteString(" ")
		}
		text := align(cells[c.id], c, i == len(cols)-1)
		if !selected && strings.TrimSpace(text) != "" {
			switch c.id {
			case colState:
				text = m.st.stateStyle(cells[colState]).Render(text)
			case colReason:
				text = m.st.dim.Render(text)
			}
		}
		b.WriteString(text)
	}
	if selected {
		return m.st.selected.Render(b.String())
	}
	return strings.TrimRight(b.String(), " ")
}

// align fits a cell to its column: numbers to the right, text to the
// left, the last column not padded.
func align(text string, c placed, last bool) string {
	switch {
	case c.right:
		return padLeft(text, c.w)
	case last:
		return fit(text, c.w)
	}
	return pad(text, c.w)
}

// colTitle is the title of column id.
func colTitle(id colKey) string {
	for _, c := range queueColumns() {
		if c.id == id {
			return c.title
		}
	}
	return ""
}

// queueTitle says whose jobs, which filters, how many and in which order.
func (m *model) queueTitle() string {
	q := &m.queue
	parts := []string{m.st.label.Render(m.whoLabel())}
	if q.state != "" {
		parts = append(parts, "state "+string(q.state))
	}
	if q.filter != "" || m.mode == modeFilter {
		parts = append(parts, fmt.Sprintf("filter %q", q.filter))
	}
	parts = append(parts, fmt.Sprintf("%d of %d jobs", len(q.rows), m.queueTotal()))
	dir := "up"
	if q.desc {
		dir = "down"
	}
	parts = append(parts, m.st.dim.Render("sorted by "+strings.ToLower(colTitle(q.sort))+" "+dir))
	return joinFit(parts, " · ", m.width)
}

// queueTotal counts the rows the queue would have with no filter.
func (m *model) queueTotal() int {
	n := 0
	for _, j := range m.jobs {
		if !isArray(j) || waitingTasks(j) != "" {
			n++
		}
	}
	return n
}

// emptyQueue says why the queue is empty, and what to do.
func (m *model) emptyQueue() string {
	q := &m.queue
	switch {
	case !m.stream.listed:
		return "loading…"
	case q.filter != "" || q.state != "":
		return "no job matches the filters (esc clears them)"
	case q.who == "":
		return "you have no job waiting or running (u: all users)"
	}
	return "no job waiting or running"
}
