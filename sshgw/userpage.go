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

// userPage answers ssh USER@HOST: the user's current jobs, and how to
// enter those that may be entered.
func (g *Gateway) userPage(s ssh.Session, p *principal) {
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
