package tui

import (
	"bytes"
	"context"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/godocker/godocker/api"
)

// The live tail: no event carries a job's output, so while the tail is
// open it reads the file every tailPoll, from the last tailStart bytes
// on, then from where it stopped.
const (
	tailStart = 16 << 10
	tailChunk = 64 << 10
	tailPoll  = time.Second
	tailLines = 5000 // lines kept per stream
)

// tailState is the tail view of one job.
type tailState struct {
	job            *api.Job
	ref            api.JobRef
	gen            int    // the tail's number: answers for an earlier tail are dropped
	active         string // api.Stdout or api.Stderr
	stdout, stderr tailStream
	inflight       bool // a read is under way
	scroll         int  // lines up from the end; 0 follows the output
	from           view
}

// tailStream is what was read of one stream.
type tailStream struct {
	started bool
	next    int64 // where the next read starts
	lines   []string
	partial []byte // the last line, until its newline comes
	err     error
}

// stream is the state of stream name.
func (t *tailState) stream(name string) *tailStream {
	if name == api.Stderr {
		return &t.stderr
	}
	return &t.stdout
}

// add appends data to the stream; skipFirst drops what comes before the
// first newline (a read that started in the middle of a line).
func (s *tailStream) add(data []byte, skipFirst bool) {
	if skipFirst {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return // no line ends here: the next read starts after data
		}
		data = data[i+1:]
	}
	data = append(s.partial, data...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		s.lines = append(s.lines, clean(data[:i]))
		data = data[i+1:]
	}
	s.partial = append([]byte(nil), data...)
	if n := len(s.lines) - tailLines; n > 0 {
		s.lines = append([]string(nil), s.lines[n:]...)
	}
}

// all is the stream's lines, the partial last one included.
func (s *tailStream) all() []string {
	if len(s.partial) == 0 {
		return s.lines
	}
	return append(s.lines[:len(s.lines):len(s.lines)], clean(s.partial))
}

// Messages of the tail.
type (
	outputMsg struct {
		gen    int
		stream string
		first  bool // the read from the end
		max    int
		out    *api.Output
		err    error
	}
	tailTickMsg struct{ gen int }
)

// openTail opens the tail of j, coming from view from.
func (m *model) openTail(j *api.Job, from view) tea.Cmd {
	gen := m.tail.gen + 1
	m.tail = tailState{job: j, ref: jobRef(j), gen: gen, active: api.Stdout, from: from}
	m.view = viewTail
	return m.pollTail()
}

// pollTail reads the active stream from where it stopped.
func (m *model) pollTail() tea.Cmd {
	t := &m.tail
	s := t.stream(t.active)
	offset, size, first := s.next, tailChunk, !s.started
	if first {
		offset, size = -tailStart, tailStart
	}
	t.inflight = true
	ctx, src, gen, ref, stream := m.ctx, m.src, t.gen, t.ref, t.active
	return func() tea.Msg {
		out, err := call(ctx, func(ctx context.Context) (*api.Output, error) {
			return src.Output(ctx, ref, stream, offset, size)
		})
		return outputMsg{gen: gen, stream: stream, first: first, max: size, out: out, err: err}
	}
}

// updateTail handles the tail's messages; ok is false for others.
func (m *model) updateTail(msg tea.Msg) (cmd tea.Cmd, ok bool) {
	t := &m.tail
	switch msg := msg.(type) {
	case outputMsg:
		if msg.gen != t.gen || m.view != viewTail {
			return nil, true
		}
		t.inflight = false
		s := t.stream(msg.stream)
		s.err = msg.err
		if msg.err != nil || msg.out == nil {
			return m.after(tailPoll, tailTickMsg{gen: t.gen}), true
		}
		out := msg.out
		if !msg.first && out.Size < s.next {
			*s = tailStream{} // the file was replaced (a requeue): start again
			return m.pollTail(), true
		}
		s.add(out.Data, msg.first && out.Offset > 0)
		s.started, s.next = true, out.Offset+int64(len(out.Data))
		if len(out.Data) >= msg.max && s.next < out.Size {
			return m.pollTail(), true // more to read now
		}
		return m.after(tailPoll, tailTickMsg{gen: t.gen}), true
	case tailTickMsg:
		if msg.gen != t.gen || m.view != viewTail || t.inflight {
			return nil, true
		}
		return m.pollTail(), true
	}
	return nil, false
}

// tailView draws the tail in h lines: which job and stream, then the
// last lines that fit, or those scrolled to.
func (m *model) tailView(h int) []string {
	t := &m.tail
	if t.job == nil {
		return nil
	}
	s := t.stream(t.active)
	var tabs []string
	for _, name := range []string{api.Stdout, api.Stderr} {
		if name == t.active {
			tabs = append(tabs, m.st.tabOn.Render("["+name+"]"))
		} else {
			tabs = append(tabs, m.st.tabOff.Render(" "+name+" "))
		}
	}
	path := t.job.Stdout
	if t.active == api.Stderr {
		path = t.job.Stderr
	}
	follow := m.st.okText.Render("following")
	if t.scroll > 0 {
		follow = m.st.warn.Render("scrolled (G: follow)")
	}
	title := joinFit([]string{m.st.label.Render("job " + t.job.Ref()), safe(t.job.Name), strings.Join(tabs, ""), follow, m.st.dim.Render(safe(path))}, " · ", m.width)
	lines := []string{title}
	all := s.all()
	switch {
	case s.err != nil:
		lines = append(lines, m.st.errText.Render(fit(t.active+": "+errorText(s.err), m.width)))
	case !s.started:
		lines = append(lines, m.st.dim.Render("reading…"))
	case len(all) == 0:
		lines = append(lines, m.st.dim.Render("(no output yet)"))
	}
	page := max(h-len(lines), 0)
	end := len(all) - max(min(t.scroll, len(all)-page), 0)
	for _, l := range all[max(end-page, 0):max(end, 0)] {
		lines = append(lines, fit(l, m.width))
	}
	return lines
}
