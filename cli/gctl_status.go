package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"
)

func (g *ctl) statusCommand() *ucli.Command {
	return leaf(&ucli.Command{
		Name:  "status",
		Usage: "list the godockerd processes that share the store: their roles, since when, and which one schedules",
		Description: `One line per live process: a process announces itself every third of
master_timeout and leaves the list when it stopped doing so for
master_timeout. LEADER marks the one that schedules (the leader lease);
with no Redis (a single server) that is the server itself.`,
		UsageText: "gctl status",
		Action: func(cc *ucli.Context) error {
			if _, err := operands(cc, 0, 0, ""); err != nil {
				return err
			}
			st, err := g.c.Status(g.ctx)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(g.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "PROCESS\tHOST\tPID\tROLES\tSTARTED\tSEEN\tLEADER")
			now := time.Now()
			for _, p := range st.Processes {
				lead := ""
				if p.ID == st.Leader {
					lead = "*"
				}
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s ago\t%s\n", p.ID, p.Host, p.PID, strings.Join(p.Roles, ","),
					p.Started.Local().Format("2006-01-02 15:04:05"), now.Sub(p.Seen).Round(time.Second), lead)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			if st.Leader == "" {
				fmt.Fprintln(g.out, "no process leads: no job is being scheduled (is a process with the scheduler role running, and Redis reachable?)")
			}
			return nil
		},
	})
}
