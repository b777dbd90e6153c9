package sshgw

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/gliderlabs/ssh"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
)

// active are the states the user page lists.
var active = []api.State{api.Pending, api.Held, api.Running, api.Suspended}

// userPage answers ssh USER@HOST: the dashboard in a terminal, else the
// user's current jobs and how to enter those that may be entered.
func (g *Gateway) userPage(s ssh.Session, p *principal) {
	if pty, winch, tty := s.Pty(); tty && g.cfg.Dashboard != nil && s.RawCommand() == "" {
		g.dashboard(s, p, pty, winch)
		return
	}
	jobs, err := g.store.Jobs(s.Context(), store.Query{Users: []string{p.user}, States: active})
	if err != nil {
		g.log.Warn("list jobs for the ssh user page", "user", p.user, "err", err)
		g.refuse(s, exitFailed, "could not read your jobs; try again")
		return
	}
	var w io.Writer = s
	if _, _, tty := s.Pty(); tty {
		w = crlf{s} // the client's terminal is raw
	}
	writeUserPage(w, p.user, g.cfg.Address, jobs, g.cfg.BatchJobs)
	_ = s.Exit(0)
}

// dashboard runs the dashboard on the session's terminal, as the user.
func (g *Gateway) dashboard(s ssh.Session, p *principal, pty ssh.Pty, winch <-chan ssh.Window) {
	resize := make(chan Size, 1)
	go func() {
		defer close(resize)
		for w := range winch {
			select {
			case resize <- Size{Width: w.Width, Height: w.Height}:
			case <-s.Context().Done():
				return
			}
		}
	}()
	env := []string{"TERM=" + pty.Term}
	for _, kv := range s.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "LANG" || strings.HasPrefix(k, "LC_") || k == "COLORTERM" || k == "NO_COLOR" {
			env = append(env, kv)
		}
	}
	g.log.Info("ssh dashboard", "user", p.user, "remote", s.RemoteAddr())
	t := Terminal{In: s, Out: s, Env: env, Size: Size{Width: pty.Window.Width, Height: pty.Window.Height}, Resize: resize}
	if err := g.cfg.Dashboard(s.Context(), p.user, t); err != nil && s.Context().Err() == nil {
		g.log.Warn("ssh dashboard ended", "user", p.user, "err", err)
		g.refuse(s, exitFailed, "the dashboard stopped: "+err.Error())
		return
	}
	_ = s.Exit(0)
}

// writeUserPage prints the jobs of user, one line each, in id order.
func writeUserPage(w io.Writer, user, address string, jobs []*api.Job, batch bool) {
	if len(jobs) == 0 {
		fmt.Fprintf(w, "%s has no jobs running or waiting. Start an interactive one with gsub -I.\n", user)
		return
	}
	fmt.Fprintf(w, "Jobs of %s (gstat for more):\n", user)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tNAME\tSTATE\t")
	for _, j := range jobs {
		if j.Spec.Array != nil && j.ArrayID == 0 {
			continue // an array's tasks have lines of their own
		}
		var how string
		switch {
		case j.State == api.Running && (j.Spec.Interactive || batch):
			how = "enter: " + api.ServerInfo{SSHGateway: address}.SSHCommand(j.Ref())
		case j.State == api.Pending || j.State == api.Held:
			how = j.Reason.Message
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", j.Ref(), j.Name, j.State, how)
	}
	tw.Flush()
}

// crlf writes \r\n for \n, for a terminal in raw mode.
type crlf struct{ w io.Writer }

func (c crlf) Write(p []byte) (int, error) {
	if _, err := io.WriteString(c.w, strings.ReplaceAll(string(p), "\n", "\r\n")); err != nil {
		return 0, err
	}
	return len(p), nil
}
