package tui

import "strings"

// table is a simple table for the nodes and users views: each column as
// wide as its widest cell, two spaces between columns, columns left out
// in drop's order when they do not fit, the last one cut to what is
// left. Cells may be styled.
type table struct {
	heads []string
	right []bool // numbers, aligned right
	rows  [][]string
	drop  []int // columns to leave out first, by index
	mark  []string
}

// add appends a row; mark is drawn before it (markMe or "").
func (t *table) add(mark string, cells ...string) {
	t.rows = append(t.rows, cells)
	t.mark = append(t.mark, mark)
}

// render draws the table's title line and rows in w cells; head styles
// the titles.
func (t *table) render(w int, head func(...string) string) []string {
	widths := make([]int, len(t.heads))
	for i, h := range t.heads {
		widths[i] = width(h)
		for _, r := range t.rows {
			widths[i] = max(widths[i], width(r[i]))
		}
	}
	show := make([]bool, len(t.heads))
	for i := range show {
		show[i] = true
	}
	// gap is the space between columns; the last column counts for at
	// most lastW when deciding what fits: it is cut rather than make
	// others go.
	const gap, markW, lastW = 2, 2, 16
	total := func() int {
		n, last := markW, -1
		for i, s := range show {
			if s {
				n += widths[i] + gap
				last = i
			}
		}
		if last >= 0 {
			n -= widths[last] - min(widths[last], lastW)
		}
		return n - gap
	}
	for _, i := range t.drop {
		if total() <= w {
			break
		}
		show[i] = false
	}
	last := -1
	for i, s := range show {
		if s {
			last = i
		}
	}
	line := func(mark string, cells []string, style func(...string) string) string {
		var b strings.Builder
		b.WriteString(pad(mark, markW))
		first := true
		for i, c := range cells {
			if !show[i] {
				continue
			}
			if !first {
				b.WriteString(strings.Repeat(" ", gap))
			}
			first = false
			switch {
			case t.right[i]:
				c = padLeft(c, widths[i])
			case i != last:
				c = pad(c, widths[i])
			}
			if style != nil {
				c = style(c)
			}
			b.WriteString(c)
		}
		return fit(strings.TrimRight(b.String(), " "), w)
	}
	lines := []string{line("", t.heads, head)}
	for i, r := range t.rows {
		lines = append(lines, line(t.mark[i], r, nil))
	}
	return lines
}
