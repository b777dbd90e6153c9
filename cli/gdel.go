package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	ucli "github.com/urfave/cli/v2"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/client"
)

const gdelUsage = `gdel [-f] ID|NAME[,ID...] [...]
   gdel [-f] -u USER[,USER]`

const gdelDescription = `Deletes jobs, as Grid Engine's qdel does. A job that has not started is
cancelled; a running one has its container killed and ends as killed.
Users delete their own jobs; admins any. A name deletes your unfinished jobs
of that name; -u USER deletes all of that user's unfinished jobs.

One line per job on standard output, in Grid Engine's words. The other jobs
are still processed when one fails; the exit status is then 1.`

func gdelFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.BoolFlag{Name: "f", Usage: "force (accepted for compatibility; deletion never waits for a node)"},
		&ucli.StringSliceFlag{Name: "u", Usage: "delete every unfinished job of `USER`[,USER...]"},
		&ucli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "show this help"},
	}
}

// Gdel runs the gdel command with args (without the program name) and
// returns its exit status.
func Gdel(ctx context.Context, c Client, args []string, stdout, stderr io.Writer) int {
	const name = "gdel"
	status := exitOK
	app := newApp(name, gdelUsage, gdelDescription, gdelFlags(), stdout, stderr)
	app.Usage = "delete jobs (Grid Engine's qdel)"
	app.Action = func(cc *ucli.Context) error {
		if cc.Bool("help") {
			return ucli.ShowAppHelp(cc)
		}
		users := splitList(cc.StringSlice("u"))
		words := splitList(cc.Args().Slice())
		if len(users) == 0 && len(words) == 0 {
			return usagef("name the jobs to delete (ids or names), or -u USER")
		}
		me, err := c.Whoami(ctx)
		if err != nil {
			return err
		}
		unfinished := []api.State{api.Pending, api.Held, api.Running, api.Suspended}
		var ids []string
		var names []string
		for _, w := range words {
			if _, err := strconv.ParseInt(w, 10, 64); err == nil {
				ids = append(ids, w)
			} else {
				names = append(names, w)
			}
		}
		if len(names) > 0 {
			mine, err := c.Jobs(ctx, client.Query{States: unfinished})
			if err != nil {
				return err
			}
			for _, n := range names {
				found := false
				for _, j := range mine {
					if j.Name == n {
						ids, found = append(ids, strconv.FormatInt(j.ID, 10)), true
					}
				}
				if !found {
					fmt.Fprintf(stdout, "denied: job %q does not exist\n", n)
					status = exitFailure
				}
			}
		}
		if len(users) > 0 {
			jobs, err := c.Jobs(ctx, client.Query{Users: users, States: unfinished})
			if err != nil {
				return err
			}
			for _, j := range jobs {
				ids = append(ids, strconv.FormatInt(j.ID, 10))
			}
		}
		seen := map[string]bool{}
		for _, s := range ids {
			if seen[s] {
				continue
			}
			seen[s] = true
			if !deleteOne(ctx, c, me.User, s, stdout) {
				status = exitFailure
			}
		}
		return nil
	}
	if err := app.Run(append([]string{name}, args...)); err != nil {
		return finish(name, stderr, err)
	}
	return status
}

// deleteOne deletes one job and prints Grid Engine's line for it.
func deleteOne(ctx context.Context, c Client, me, s string, w io.Writer) bool {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		fmt.Fprintf(w, "denied: job %q does not exist\n", s)
		return false
	}
	res, err := c.Delete(ctx, id)
	switch {
	case err == nil && res.Action == api.ActionRegistered:
		fmt.Fprintf(w, "%s has registered the job %d for deletion\n", res.User, id)
		return true
	case err == nil:
		fmt.Fprintf(w, "%s has deleted job %d\n", res.User, id)
		return true
	case isNotFound(err):
		fmt.Fprintf(w, "denied: job \"%d\" does not exist\n", id)
	case errors.Is(err, api.ErrDenied):
		fmt.Fprintf(w, "%s - you do not have the necessary privileges to delete the job \"%d\"\n", me, id)
	case errors.Is(err, api.ErrConflict):
		fmt.Fprintf(w, "denied: job \"%d\" has already finished\n", id)
	default:
		msg, _ := explain(err)
		fmt.Fprintf(w, "error: job \"%d\": %s\n", id, msg)
	}
	return false
}

func isNotFound(err error) bool { return errors.Is(err, api.ErrNotFound) }
