package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/client"
)

const gdelUsage = `gdel [-f] ID|ID.TASK|NAME[,ID...] [...]
   gdel [-f] -u USER[,USER]`

const gdelDescription = `Deletes jobs, as Grid Engine's qdel does. A job that has not started is
cancelled; a running one has its container killed and ends as killed.
Users delete their own jobs; admins any. ID.TASK deletes one task of an
array, ID the whole array. A name deletes your unfinished jobs of that
name; -u USER deletes all of that user's unfinished jobs.

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
		var refs []string
		var names []string
		for _, w := range words {
			if _, err := parseJobRef(w); err == nil || isDigits(strings.Replace(w, ".", "", 1)) {
				refs = append(refs, w)
			} else {
				names = append(names, w)
			}
		}
		if len(names) > 0 {
			mine, err := c.Jobs(ctx, client.Query{States: unfinished, Brief: true})
			if err != nil {
				return err
			}
			for _, n := range names {
				found := jobRefsOf(mine, func(j *api.Job) bool { return j.Name == n })
				if len(found) == 0 {
					fmt.Fprintf(stdout, "denied: job %q does not exist\n", n)
					status = exitFailure
				}
				refs = append(refs, found...)
			}
		}
		if len(users) > 0 {
			jobs, err := c.Jobs(ctx, client.Query{Users: users, States: unfinished, Brief: true})
			if err != nil {
				return err
			}
			refs = append(refs, jobRefsOf(jobs, func(*api.Job) bool { return true })...)
		}
		seen := map[string]bool{}
		for _, s := range refs {
			key := s // 12_5 is 12.5
			if r, err := parseJobRef(s); err == nil {
				key = r.String()
			}
			if seen[key] {
				continue
			}
			seen[key] = true
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

// jobRefsOf names the jobs that match, as users do: an array by its id
// alone (deleting it deletes its tasks), a task by ID.TASK only when its
// array is not among them.
func jobRefsOf(jobs []*api.Job, match func(*api.Job) bool) []string {
	arrays := map[int64]bool{}
	for _, j := range jobs {
		if j.ArrayID == 0 && match(j) {
			arrays[j.ID] = true
		}
	}
	var refs []string
	for _, j := range jobs {
		if match(j) && !arrays[j.ArrayID] {
			refs = append(refs, j.Ref())
		}
	}
	return refs
}

// deleteOne deletes one job, array or task (s: ID or ID.TASK) and prints
// Grid Engine's line for it.
func deleteOne(ctx context.Context, c Client, me, s string, w io.Writer) bool {
	ref, err := parseJobRef(s)
	if err != nil {
		fmt.Fprintf(w, "denied: job %q does not exist\n", s)
		return false
	}
	what := "job " + ref.String()
	if ref.Task != 0 {
		what = "job-array task " + ref.String()
	}
	res, err := c.Delete(ctx, ref)
	switch {
	case err == nil && res.Action == api.ActionRegistered:
		fmt.Fprintf(w, "%s has registered the %s for deletion\n", res.User, what)
		return true
	case err == nil:
		fmt.Fprintf(w, "%s has deleted %s\n", res.User, what)
		return true
	case isNotFound(err):
		fmt.Fprintf(w, "denied: job \"%s\" does not exist\n", ref)
	case errors.Is(err, api.ErrDenied):
		fmt.Fprintf(w, "%s - you do not have the necessary privileges to delete the job \"%s\"\n", me, ref)
	case errors.Is(err, api.ErrConflict) && ref.Task != 0 && !taskFinished(ctx, c, ref):
		// A task not created yet: the server says what to do instead.
		msg, _ := explain(err)
		fmt.Fprintf(w, "denied: job \"%s\": %s\n", ref, msg)
	case errors.Is(err, api.ErrConflict):
		fmt.Fprintf(w, "denied: job \"%s\" has already finished\n", ref)
	default:
		msg, _ := explain(err)
		fmt.Fprintf(w, "error: job \"%s\": %s\n", ref, msg)
	}
	return false
}

// taskFinished reports whether the task exists and has finished.
func taskFinished(ctx context.Context, c Client, ref api.JobRef) bool {
	j, err := c.Job(ctx, ref)
	return err == nil && j.State.Finished()
}

func isNotFound(err error) bool { return errors.Is(err, api.ErrNotFound) }
