package tui

import (
	"io"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// This file is the one place for gtop's look: colours, the marks drawn
// without colour, and the layout's breakpoints and column widths. Colours
// are ANSI colour numbers 0-15, so that the terminal's own theme picks the
// shades, on dark and light backgrounds alike.

// Palette.
const (
	colorRed     = lipgloss.Color("1")
	colorGreen   = lipgloss.Color("2")
	colorYellow  = lipgloss.Color("3")
	colorBlue    = lipgloss.Color("4")
	colorMagenta = lipgloss.Color("5")
	colorCyan    = lipgloss.Color("6")
	colorGrey    = lipgloss.Color("8")
)

// Marks that carry meaning without colour (NO_COLOR, TERM=dumb).
const (
	markCursor = ">" // the selected row
	markMe     = "*" // the caller's row in the users view
	barUsed    = "█"
	barFree    = "░"
	sortUp     = "▲"
	sortDown   = "▼"
	ellipsis   = "…"
)

// Layout breakpoints, in cells.
const (
	// wideWidth: below it the queue hides the image and node columns.
	wideWidth = 100
	// narrowWidth: below it the queue also hides priority and memory.
	narrowWidth = 70
	// The header's lines, from the top, each shown from a terminal
	// height: the title always, then the cluster's use, the caller's
	// share and the per-node line.
	headerClusterHeight = 10
	headerShareHeight   = 16
	headerNodesHeight   = 24
	// detailKeyWidth is the details view's key column, as gstat -j's.
	detailKeyWidth = 28
	// barWidth is a usage bar's width in the nodes view when there is
	// room for one (from wideWidth).
	barWidth = 10
)

// column is one column of the queue table: its title, its width between
// min and max (what its cells need, within those), and the terminal width
// below which it is hidden.
type column struct {
	id        colKey
	title     string
	min, max  int
	hideBelow int
	right     bool // numbers: aligned right
	// want, for the reason: below it the other columns shrink; below
	// min it is left out.
	want int
}

// queueColumns is the queue table, left to right. The reason takes the
// width the others leave.
func queueColumns() []column {
	return []column{
		{id: colID, title: "ID", min: 4, max: 12},
		{id: colName, title: "NAME", min: 6, max: 20},
		{id: colUser, title: "USER", min: 4, max: 12},
		{id: colState, title: "ST", min: 3, max: 3},
		{id: colPrio, title: "PRIO", min: 5, max: 5, hideBelow: narrowWidth, right: true},
		{id: colCPUs, title: "CPU", min: 3, max: 4, right: true},
		{id: colMem, title: "MEM", min: 4, max: 6, hideBelow: narrowWidth, right: true},
		{id: colImage, title: "IMAGE", min: 8, max: 24, hideBelow: wideWidth},
		{id: colTime, title: "TIME", min: 6, max: 6, right: true},
		{id: colNode, title: "NODE", min: 4, max: 12, hideBelow: wideWidth},
		{id: colReason, title: "REASON", min: 8, want: 16},
	}
}

// shrinkOrder is the order in which queue columns give up width (down to
// their min) when the reason would get less than its min.
func shrinkOrder() []colKey { return []colKey{colName, colImage, colNode, colID} }

// dropOrder is the order in which queue columns go when even their mins
// do not fit.
func dropOrder() []colKey {
	return []colKey{colReason, colImage, colNode, colPrio, colMem, colTime, colUser, colCPUs, colName}
}

// styles is every style gtop draws with, made on the renderer of its
// output so that the colour profile is the terminal's, not the process's.
type styles struct {
	title     lipgloss.Style // gtop's name in the title line
	tabOn     lipgloss.Style // the current view's tab
	tabOff    lipgloss.Style
	label     lipgloss.Style // "cpus", "you" in the header
	dim       lipgloss.Style // less important text
	colHead   lipgloss.Style // a table's column titles
	colSorted lipgloss.Style // the title of the column the queue is sorted by
	section   lipgloss.Style // a section's title (details, users view)
	selected  lipgloss.Style // the selected row
	me        lipgloss.Style // the caller's own row
	errText   lipgloss.Style
	okText    lipgloss.Style
	warn      lipgloss.Style // live/reconnecting, confirmations
	used      lipgloss.Style // the used part of a bar
	free      lipgloss.Style // the free part of a bar
	running   lipgloss.Style // state letters
	pending   lipgloss.Style
	held      lipgloss.Style
	suspended lipgloss.Style
	deleting  lipgloss.Style
	help      help.Styles
}

// newStyles makes gtop's styles on r.
func newStyles(r *lipgloss.Renderer) *styles {
	s := r.NewStyle
	key := s().Foreground(colorCyan).Bold(true)
	desc := s().Foreground(colorGrey)
	sep := s().Foreground(colorGrey)
	return &styles{
		title:     s().Bold(true).Foreground(colorCyan),
		tabOn:     s().Bold(true).Reverse(true),
		tabOff:    s().Foreground(colorGrey),
		label:     s().Bold(true),
		dim:       s().Foreground(colorGrey),
		colHead:   s().Bold(true),
		colSorted: s().Bold(true).Foreground(colorCyan),
		section:   s().Bold(true).Underline(true),
		selected:  s().Reverse(true),
		me:        s().Bold(true),
		errText:   s().Foreground(colorRed).Bold(true),
		okText:    s().Foreground(colorGreen),
		warn:      s().Foreground(colorYellow),
		used:      s().Foreground(colorGreen),
		free:      s().Foreground(colorGrey),
		running:   s().Foreground(colorGreen),
		pending:   s().Foreground(colorYellow),
		held:      s().Foreground(colorMagenta),
		suspended: s().Foreground(colorBlue),
		deleting:  s().Foreground(colorRed),
		help: help.Styles{
			Ellipsis:       sep,
			ShortKey:       key,
			ShortDesc:      desc,
			ShortSeparator: sep,
			FullKey:        key,
			FullDesc:       desc,
			FullSeparator:  sep,
		},
	}
}

// stateStyle is the style of a job's state letters (qw, hqw, r, s, dr...).
func (st *styles) stateStyle(letters string) lipgloss.Style {
	switch letters {
	case "r":
		return st.running
	case "qw":
		return st.pending
	case "hqw":
		return st.held
	case "s":
		return st.suspended
	case "dr", "ds", "z":
		return st.deleting
	}
	return st.dim
}

// newRenderer is a lipgloss renderer writing to out with the colour
// profile env calls for, which it never asks the terminal about.
func newRenderer(out io.Writer, env []string) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(out)
	r.SetColorProfile(colorProfile(env))
	r.SetHasDarkBackground(true) // only ANSI colours are used: no need to ask
	return r
}

// colorProfile is the colour profile a terminal with environment env
// gets: none with NO_COLOR (set and not empty, see no-color.org), with
// TERM=dumb or with no TERM at all; 24-bit with COLORTERM=truecolor or
// 24bit; 256 colours when TERM says so; else the 16 ANSI colours.
func colorProfile(env []string) termenv.Profile {
	get := func(k string) string {
		v := ""
		for _, kv := range env {
			if name, val, ok := strings.Cut(kv, "="); ok && name == k {
				v = val // the last one wins, as with a shell's environment
			}
		}
		return v
	}
	term, colorterm := get("TERM"), strings.ToLower(get("COLORTERM"))
	switch {
	case get("NO_COLOR") != "", term == "", term == "dumb":
		return termenv.Ascii
	case colorterm == "truecolor" || colorterm == "24bit" || strings.Contains(term, "direct"):
		return termenv.TrueColor
	case strings.Contains(term, "256color"):
		return termenv.ANSI256
	}
	return termenv.ANSI
}
