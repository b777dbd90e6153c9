package tui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/godocker/godocker/api"
)

// detailsState is the details view: one job, as gstat -j shows it.
type detailsState struct {
	job    *api.Job // as last heard of; kept when it finishes
	err    error    // reading it failed
	scroll int
	from   view // where esc goes back to
}

// detailLines lays the details out for the terminal's width: keys padded
// as gstat -j pads them (less on a narrow terminal), long values wrapped
// under themselves.
func (m *model) detailLines() []string {
	j := m.details.job
	if j == nil {
		return nil
	}
	keyW := min(detailKeyWidth, max(m.width/3, 8))
	valW := max(m.width-keyW, 1)
	var lines []string
	for _, f := range j.Details(m.info.SSHGateway, m.now(), m.loc) {
		key := pad(f.Key+":", keyW)
		if width(f.Key)+1 >= keyW {
			key = fit(f.Key, keyW-2) + ": "
		}
		key = m.st.label.Render(key)
		for i, part := range strings.Split(ansi.Wrap(safe(f.Value), valW, ",:"), "\n") {
			if i > 0 {
				key = strings.Repeat(" ", keyW)
			}
			lines = append(lines, key+fit(part, valW))
		}
	}
	return lines
}

// detailsView draws the details in h lines: a title, then the fields
// from the scroll position.
func (m *model) detailsView(h int) []string {
	d := &m.details
	j := d.job
	if j == nil {
		return []string{m.st.dim.Render("no job")}
	}
	title := []string{m.st.label.Render("job " + j.Ref()), safe(j.Name), m.st.stateStyle(stateLetters(j)).Render(string(j.State))}
	if d.err != nil {
		title = append(title, m.st.errText.Render(errorText(d.err)))
	}
	lines := []string{joinFit(title, " · ", m.width)}
	body := m.detailLines()
	page := max(h-1, 0)
	from := clampScroll(d.scroll, len(body), page)
	end := min(from+page, len(body))
	return append(lines, body[from:end]...)
}

// clampScroll keeps a scroll position within n lines shown page at a
// time.
func clampScroll(scroll, n, page int) int {
	return max(min(scroll, n-max(page, 1)), 0)
}
