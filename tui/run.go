// Package tui is gtop, GoDocker's full-screen live queue monitor: the
// queue fed by the server's event stream, the details and live output of
// a job, the nodes and the users' and projects' usage, and the keys that
// delete, suspend, hold and requeue jobs. The same application runs in a
// local terminal (cmd/gtop) and behind the SSH gateway (ssh USER@HOST).
package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/term"
)

// Size is a terminal size in cells.
type Size struct{ Width, Height int }

// The size assumed for an output that is no terminal and for which no
// size was given.
const defaultWidth, defaultHeight = 80, 24

// Options says where gtop draws and reads keys.
type Options struct {
	In  io.Reader // nil: os.Stdin
	Out io.Writer // nil: os.Stdout
	// Env is the terminal's environment (TERM, COLORTERM, NO_COLOR); nil:
	// os.Environ(). It alone decides the colour profile: none with
	// NO_COLOR or TERM=dumb (or no TERM), else what TERM and COLORTERM
	// say. Nothing is asked of the terminal.
	Env []string
	// Size is the initial size; zero: ask the terminal (local), or 80x24
	// when Out is not one.
	Size Size
	// Resize carries size changes from outside (an SSH window-change); nil
	// locally, where Bubble Tea follows SIGWINCH itself. It may be closed.
	Resize <-chan Size
	// Remote is set inside the SSH gateway: gtop never runs a local
	// program (ssh) there, it only shows commands.
	Remote bool
	// User is whose jobs the queue shows first: "" the caller's, "*"
	// everybody's, or a user name (gtop -u). u toggles mine/all.
	User string
}

// Run runs gtop until the user quits (q, ctrl+c) or ctx ends, which is
// not an error. It asks the server who the caller is first, and returns
// that error, before taking over the terminal, when the server cannot be
// reached.
func Run(parent context.Context, src Source, opts Options) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	me, err := call(ctx, src.Whoami)
	if err != nil {
		return err
	}
	info, err := call(ctx, src.Info)
	if err != nil {
		info = nil // no gateway known: c says so
	}

	env := opts.Env
	if env == nil {
		env = os.Environ()
	}
	out := opts.Out
	if out == nil {
		out = os.Stdout
	}
	size := opts.Size
	if size == (Size{}) && !isTerminal(out) {
		size = Size{Width: defaultWidth, Height: defaultHeight}
	}
	m := newModel(ctx, src, config{
		me:     me,
		info:   info,
		styles: newStyles(newRenderer(out, env)),
		now:    time.Now,
		loc:    time.Local,
		remote: opts.Remote,
		who:    opts.User,
		size:   size,
	})

	popts := []tea.ProgramOption{
		tea.WithContext(ctx),
		tea.WithAltScreen(),
		tea.WithEnvironment(env),
		// Signals are the caller's: ctx ends gtop. Inside a server,
		// Bubble Tea must not catch the process's SIGINT and SIGTERM.
		tea.WithoutSignalHandler(),
	}
	if opts.In != nil {
		popts = append(popts, tea.WithInput(opts.In))
	}
	if opts.Out != nil {
		popts = append(popts, tea.WithOutput(opts.Out))
	}
	p := tea.NewProgram(m, popts...)

	var wg sync.WaitGroup
	if opts.Resize != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			forwardResizes(ctx, opts.Resize, p)
		}()
	}
	_, err = p.Run()
	cancel()
	wg.Wait()
	if errors.Is(err, tea.ErrProgramKilled) && parent.Err() != nil {
		return nil // ctx ended: a normal end
	}
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	return nil
}

// forwardResizes passes the sizes from resize on to p until either ends.
func forwardResizes(ctx context.Context, resize <-chan Size, p *tea.Program) {
	for {
		select {
		case s, ok := <-resize:
			if !ok {
				return
			}
			p.Send(tea.WindowSizeMsg{Width: s.Width, Height: s.Height})
		case <-ctx.Done():
			return
		}
	}
}

// isTerminal reports whether w is a terminal Bubble Tea can ask the size
// of.
func isTerminal(w io.Writer) bool {
	f, ok := w.(term.File)
	return ok && term.IsTerminal(f.Fd())
}
