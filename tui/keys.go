package tui

import (
	"github.com/charmbracelet/bubbles/key"
)

// keyMap is every key gtop knows; the help bar shows those of the current
// view and mode.
type keyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding

	SortPrev, SortNext, SortReverse key.Binding
	Filter, Who, State, Clear       key.Binding

	Details, Tail, Delete, Suspend, Hold, Requeue, SSH key.Binding

	Queue, Nodes, Users, NextView key.Binding
	Stream, Follow                key.Binding // the tail's

	Back, Help, Quit, ForceQuit key.Binding

	Yes, No, Run, Close key.Binding // confirmations and the ssh command
}

// newKeyMap is gtop's keys, with the help the help bar shows.
func newKeyMap() keyMap {
	b := func(keys []string, help, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	k := func(keys ...string) []string { return keys }
	return keyMap{
		Up:       b(k("up", "k"), "↑/k", "up"),
		Down:     b(k("down", "j"), "↓/j", "down"),
		PageUp:   b(k("pgup", "ctrl+b"), "pgup", "page up"),
		PageDown: b(k("pgdown", "ctrl+f", " "), "pgdn", "page down"),
		Top:      b(k("home", "g"), "g/home", "top"),
		Bottom:   b(k("end", "G"), "G/end", "bottom"),

		SortPrev:    b(k("<", ","), "<", "sort left"),
		SortNext:    b(k(">", "."), ">", "sort right"),
		SortReverse: b(k("i"), "i", "reverse sort"),
		Filter:      b(k("/"), "/", "filter"),
		Who:         b(k("u"), "u", "all users"), // its text follows the queue's
		State:       b(k("f"), "f", "state"),
		Clear:       b(k("esc"), "esc", "clear filters"),

		Details: b(k("enter"), "enter", "details"),
		Tail:    b(k("l"), "l", "output"),
		Delete:  b(k("d"), "d", "delete"),
		Suspend: b(k("s"), "s", "suspend"),
		Hold:    b(k("h"), "h", "hold"),
		Requeue: b(k("r"), "r", "requeue"),
		SSH:     b(k("c"), "c", "ssh"),

		Queue:    b(k("1"), "1", "queue"),
		Nodes:    b(k("2"), "2", "nodes"),
		Users:    b(k("3"), "3", "users"),
		NextView: b(k("tab"), "tab", "views"),
		Stream:   b(k("tab"), "tab", "stdout/stderr"),
		Follow:   b(k("end", "G"), "G/end", "follow"),

		Back:      b(k("esc"), "esc", "back"),
		Help:      b(k("?"), "?", "help"),
		Quit:      b(k("q"), "q", "quit"),
		ForceQuit: b(k("ctrl+c"), "ctrl+c", "quit"),

		Yes:   b(k("y", "Y"), "y", "yes"),
		No:    b(k("n", "N", "esc"), "n/esc", "no"),
		Run:   b(k("enter"), "enter", "run ssh here"),
		Close: b(k("esc", "q", "c"), "esc", "close"),
	}
}

// bindings is the help of one view and mode: a short line and, for ?,
// columns.
type bindings struct {
	short []key.Binding
	full  [][]key.Binding
}

// ShortHelp is the help bar.
func (b bindings) ShortHelp() []key.Binding { return b.short }

// FullHelp is the ? screen.
func (b bindings) FullHelp() [][]key.Binding { return b.full }

// helpKeys is the help for what the user is doing now.
func (m *model) helpKeys() bindings {
	k := m.keys
	if m.queue.who == "*" {
		k.Who.SetHelp("u", "my jobs")
	}
	views := []key.Binding{k.Queue, k.Nodes, k.Users, k.NextView}
	move := []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}
	general := []key.Binding{k.Help, k.Quit}
	jobKeys := []key.Binding{k.Tail, k.Delete, k.Suspend, k.Hold, k.Requeue, k.SSH}
	switch {
	case m.mode == modeFilter:
		return bindings{short: []key.Binding{
			key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "keep")),
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear")),
		}}
	case m.mode == modeConfirm:
		return bindings{short: []key.Binding{k.Yes, k.No}}
	case m.mode == modeSSH:
		if m.ssh.canRun {
			return bindings{short: []key.Binding{k.Run, k.Close}}
		}
		return bindings{short: []key.Binding{k.Close}}
	}
	switch m.view {
	case viewDetails:
		return bindings{
			short: append([]key.Binding{k.Help, k.Back}, jobKeys...),
			full:  [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}, jobKeys, {k.Back, k.Help, k.Quit}},
		}
	case viewTail:
		return bindings{
			short: []key.Binding{k.Help, k.Back, k.Stream, k.Follow, k.Delete, k.Suspend, k.SSH},
			full:  [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Follow}, {k.Stream, k.Delete, k.Suspend, k.Hold, k.Requeue, k.SSH}, {k.Back, k.Help, k.Quit}},
		}
	case viewNodes, viewUsers:
		return bindings{
			short: []key.Binding{k.Help, k.Quit, k.Queue, k.Nodes, k.Users, k.NextView, k.Up, k.Down},
			full:  [][]key.Binding{move, views, general},
		}
	}
	return bindings{
		short: []key.Binding{k.Help, k.Quit, k.Details, k.Tail, k.Filter, k.Who, k.State, k.SortNext, k.Delete, k.Suspend, k.Hold, k.Requeue, k.SSH, k.NextView},
		full: [][]key.Binding{
			move,
			{k.SortPrev, k.SortNext, k.SortReverse, k.Filter, k.Who, k.State, k.Clear},
			append([]key.Binding{k.Details}, jobKeys...),
			append(views, k.Help, k.Quit),
		},
	}
}
