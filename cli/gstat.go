package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/client"
)

const gstatUsage = `gstat [-u USER[,USER]|'*'] [-s p|r|s|h|z|a...] [-q EXECUTOR[,...]] [-r] [-ext] [--json]
   gstat -j ID|ID.TASK[,...] [--json]`

const gstatDescription = `Shows jobs, as Grid Engine's qstat does. Without options: your pending,
held, running and suspended jobs, in Grid Engine's columns; no jobs, no
output. -j ID shows everything about a job, including why it waits.

A task of an array shows the array's id in job-ID and its number in
ja-task-ID; the tasks of an array that have not started yet share one
row, qw (hqw if held), with their range (6-1000:2) in ja-task-ID.

-ext adds the project and, for a job that waits, its reason code (why in
full: -r or -j).

States: qw pending, hqw held, r running, s suspended, dr/ds being deleted,
z finished (with -s z). Exit status: 0, or 1 when a job given to -j does not
exist.`

func gstatFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringSliceFlag{Name: "u", Usage: "jobs of `USER`[,USER...]; '*' for every user (default: yours)"},
		&ucli.StringFlag{Name: "s", Usage: "states `LETTERS`: p pending (with held), r running, s suspended, h held, z finished, a = prsh"},
		&ucli.StringSliceFlag{Name: "q", Usage: "only jobs of the executors `NAME`[,NAME...] (Grid Engine's queues; the queue column says where each job runs)"},
		&ucli.StringFlag{Name: "j", Usage: "details of job `ID`[,ID...]; ID.TASK for a task of an array"},
		&ucli.BoolFlag{Name: "r", Usage: "also print each job's full name, resources and, while it waits, why"},
		&ucli.BoolFlag{Name: "ext", Usage: "wide table: also the project and, while a job waits, its reason code"},
		&ucli.BoolFlag{Name: "json", Usage: "print JSON (an array of jobs) instead"},
		&ucli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "show this help"},
	}
}

// Gstat runs the gstat command with args (without the program name) and
// returns its exit status.
func Gstat(ctx context.Context, c Client, args []string, stdout, stderr io.Writer) int {
	const name = "gstat"
	status := exitOK
	app := newApp(name, gstatUsage, gstatDescription, gstatFlags(), stdout, stderr)
	app.Usage = "show jobs (Grid Engine's qstat)"
	app.Action = func(cc *ucli.Context) error {
		if cc.Bool("help") {
			return ucli.ShowAppHelp(cc)
		}
		if cc.Args().Present() {
			return usagef("unexpected argument %q", cc.Args().First())
		}
		if ids := cc.String("j"); ids != "" {
			jobs, missing, err := detailJobs(ctx, c, ids)
			if err != nil {
				return err
			}
			if cc.Bool("json") {
				if err := writeJSON(stdout, jobs); err != nil {
					return err
				}
			} else {
				gateway := gatewayFor(ctx, c, jobs)
				for _, j := range jobs {
					writeDetail(stdout, j, gateway)
				}
			}
			if len(missing) > 0 {
				fmt.Fprintf(stderr, "Following jobs do not exist: \n%s\n", strings.Join(missing, ", "))
				status = exitFailure
			}
			return nil
		}
		states, err := parseStates(cc.String("s"))
		if err != nil {
			return err
		}
		// Grid Engine's -s h lists the jobs that wait for others too
		// (hqw): pending ones, for GoDocker.
		query := states
		heldOnly := slices.Contains(states, api.Held) && !slices.Contains(states, api.Pending)
		if heldOnly {
			query = append(slices.Clone(states), api.Pending)
		}
		// The table needs only what a listing shows; --json prints whole
		// jobs.
		jobs, err := c.Jobs(ctx, client.Query{Users: splitList(cc.StringSlice("u")), States: query, Brief: !cc.Bool("json")})
		if err != nil {
			return err
		}
		if heldOnly {
			jobs = slices.DeleteFunc(jobs, func(j *api.Job) bool { return j.State == api.Pending && !j.WaitsForJobs() })
		}
		if execs := splitList(cc.StringSlice("q")); len(execs) > 0 {
			jobs = slices.DeleteFunc(jobs, func(j *api.Job) bool { return !slices.Contains(execs, j.Executor) })
		}
		sort.Slice(jobs, func(a, b int) bool { return jobs[a].ID < jobs[b].ID })
		if cc.Bool("json") {
			if jobs == nil {
				jobs = []*api.Job{} // an empty array, not null
			}
			return writeJSON(stdout, jobs)
		}
		writeTable(stdout, jobs, tableView{long: cc.Bool("r"), ext: cc.Bool("ext")})
		return nil
	}
	if err := app.Run(append([]string{name}, args...)); err != nil {
		return finish(name, stderr, err)
	}
	return status
}

func splitList(items []string) []string {
	var out []string
	for _, it := range items {
		out = append(out, strings.FieldsFunc(it, func(r rune) bool { return r == ',' || r == ' ' })...)
	}
	return out
}

func detailJobs(ctx context.Context, c Client, list string) (jobs []*api.Job, missing []string, err error) {
	for _, s := range splitList([]string{list}) {
		ref, perr := parseJobRef(s)
		if perr != nil {
			missing = append(missing, s)
			continue
		}
		j, err := c.Job(ctx, ref)
		if errors.Is(err, api.ErrConflict) && ref.Task != 0 {
			j, err = waitingTask(ctx, c, ref)
		}
		switch {
		case err == nil:
			jobs = append(jobs, j)
		case isNotFound(err):
			missing = append(missing, s)
		default:
			return nil, nil, err
		}
	}
	if jobs == nil {
		jobs = []*api.Job{}
	}
	return jobs, missing, nil
}

// waitingTask is task ref of an array that has not been created yet, as
// the array's record says it waits: its id 0 (it has no record yet), its
// array's state (pending or held), spec and reason. Not found when the
// array has no such task waiting.
func waitingTask(ctx context.Context, c Client, ref api.JobRef) (*api.Job, error) {
	a, err := c.Job(ctx, api.JobRef{ID: ref.ID})
	if err != nil {
		return nil, err
	}
	next, tasks := int64(0), ""
	if a.Spec.Array != nil && a.ArrayID == 0 {
		next, tasks = notCreated(a)
	}
	if tasks == "" || ref.Task < next || !a.Spec.Array.Has(ref.Task) || a.State.Finished() {
		return nil, api.NotFound(fmt.Sprintf("job %s does not exist", ref))
	}
	t := a.Clone()
	t.ID, t.ArrayID, t.TaskID, t.Tasks = 0, a.ID, ref.Task, nil
	t.Dir, t.Stdout, t.Stderr, t.Usage = "", "", "", api.Usage{}
	return t, nil
}

// parseStates maps qstat's -s letters to job states. Default: everything
// not finished.
func parseStates(letters string) ([]api.State, error) {
	if letters == "" {
		letters = "a"
	}
	seen := map[api.State]bool{}
	var out []api.State
	add := func(ss ...api.State) {
		for _, s := range ss {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	for _, l := range letters {
		switch l {
		case 'p':
			add(api.Pending, api.Held)
		case 'r':
			add(api.Running)
		case 's':
			add(api.Suspended)
		case 'h':
			add(api.Held)
		case 'z':
			add(api.Done, api.Failed, api.Killed, api.Cancelled, api.Rejected, api.Archived)
		case 'a':
			add(api.Pending, api.Held, api.Running, api.Suspended)
		default:
			return nil, usagef("-s %s: unknown state letter %q (p r s h z a)", letters, l)
		}
	}
	return out, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// priorityOf is qstat's normalised priority (0..1) of a job: what the
// scheduler last computed for it, else 0.5 for the default -p 0, higher
// for a higher -p.
func priorityOf(j *api.Job) float64 {
	if len(j.Priority.Parts) > 0 {
		return j.Priority.Value
	}
	p := 0.5 + float64(j.Spec.Priority)/2048
	return min(max(p, 0), 1)
}

// The table's header, in Grid Engine's columns; -ext puts the project
// after the user and the reason before ja-task-ID.
const (
	tableHeader    = "job-ID  prior   name       user         state submit/start at     queue                          slots ja-task-ID \n"
	tableHeaderExt = "job-ID  prior   name       user         project      state submit/start at     queue                          slots reason               ja-task-ID \n"
)

// tableView says which of qstat's views of the table to print.
type tableView struct {
	long bool // -r: indented lines under each row
	ext  bool // -ext: the project and reason columns
}

// tableRow is one row of gstat's table: a job, a task of an array, or the
// tasks of an array that have not been created yet.
type tableRow struct {
	job  *api.Job
	id   int64  // the job-ID column: a task's array's
	task string // the ja-task-ID column
	// order sorts the rows of one id: a task's number; an array's tasks
	// not created yet come after the others.
	order int64
	// waiting: the row is an array's tasks not created yet.
	waiting bool
}

// tableRows turns jobs into qstat's rows, in order of job id and task. A
// task shows its array's id and its own number; an array whose tasks are
// not all created shows one more row for those, with their range; once
// they all are, the array has no row of its own.
func tableRows(jobs []*api.Job) []tableRow {
	rows := make([]tableRow, 0, len(jobs))
	for _, j := range jobs {
		switch {
		case j.ArrayID != 0:
			rows = append(rows, tableRow{job: j, id: j.ArrayID, task: strconv.FormatInt(j.TaskID, 10), order: j.TaskID})
		case j.Spec.Array != nil:
			if next, tasks := notCreated(j); tasks != "" {
				rows = append(rows, tableRow{job: j, id: j.ID, task: tasks, order: next, waiting: true})
			}
		default:
			rows = append(rows, tableRow{job: j, id: j.ID})
		}
	}
	sort.SliceStable(rows, func(a, b int) bool {
		if rows[a].id != rows[b].id {
			return rows[a].id < rows[b].id
		}
		return rows[a].order < rows[b].order
	})
	return rows
}

// notCreated returns the first task of array j not created yet and those
// tasks as qstat shows pending tasks: 6-1000:2, 7 for one, runs joined by
// commas when some were deleted (5-9:2,13-99:2); "" when every task was
// created.
func notCreated(j *api.Job) (next int64, tasks string) {
	runs := j.Spec.Array.Remaining(j.Tasks)
	if len(runs) == 0 {
		return 0, ""
	}
	parts := make([]string, len(runs))
	for i, r := range runs {
		if r.First == r.Last {
			parts[i] = strconv.FormatInt(r.First, 10)
		} else {
			parts[i] = r.String()
		}
	}
	return runs[0].First, strings.Join(parts, ",")
}

// writeTable prints jobs as qstat does: nothing at all when there are
// none, else a header, a line of dashes and one row per job or task (see
// tableRows); with v.long, qstat -r's indented lines under each row, and
// why a pending job waits; with v.ext, the project and reason columns.
func writeTable(w io.Writer, jobs []*api.Job, v tableView) {
	rows := tableRows(jobs)
	if len(rows) == 0 {
		return
	}
	header := tableHeader
	if v.ext {
		header = tableHeaderExt
	}
	io.WriteString(w, header)
	io.WriteString(w, strings.Repeat("-", len(header)-2)+"\n")
	for _, r := range rows {
		j := r.job
		at, queue, state := j.Submitted, "", j.StateLetters()
		switch {
		case r.waiting && j.State.Finished():
			state = "z"
		case r.waiting && (j.State == api.Held || j.WaitsForJobs()):
			state = "hqw"
		case r.waiting:
			state = "qw"
		case j.State.Active() || (j.State.Finished() && !j.Started.IsZero()):
			at = j.Started
			queue = j.Executor + "@" + j.Node
			if j.Executor == "" || j.Node == "" {
				queue = j.Executor + j.Node
			}
		}
		fmt.Fprintf(w, "%7d %7.5f %-10.10s %-12.12s ", r.id, priorityOf(j), j.Name, j.User)
		if v.ext {
			fmt.Fprintf(w, "%-12.12s ", cmp.Or(j.Project, "-"))
		}
		fmt.Fprintf(w, "%-5.5s %s %-30.30s %5d ", state, at.Local().Format("01/02/2006 15:04:05"), queue, j.CPUs())
		if v.ext {
			fmt.Fprintf(w, "%-20.20s ", waitingReason(j, r.waiting))
		}
		fmt.Fprintf(w, "%s\n", r.task)
		if v.long {
			fmt.Fprintf(w, "       Full jobname:     %s\n", j.Name)
			fmt.Fprintf(w, "       Hard Resources:   %s\n", j.ResourceList())
			ids, others := api.Predecessors(j.Spec.Dependencies)
			if len(ids) > 0 {
				fmt.Fprintf(w, "       Predecessor Jobs (request): %s\n", api.JoinIDs(ids, ","))
			}
			if len(others) > 0 {
				fmt.Fprintf(w, "       Dependency:       %s\n", api.FormatDependencies(others))
			}
			if (j.State == api.Pending || j.State == api.Held) && j.Reason.Message != "" {
				fmt.Fprintf(w, "       Reason:           %s: %s\n", j.Reason.Code, j.Reason.Message)
			}
		}
	}
}

// waitingReason is the reason column of -ext: the code of why a job (or
// an array's tasks not created yet) waits, "-" for a job that does not.
func waitingReason(j *api.Job, waitingTasks bool) string {
	waits := j.State == api.Pending || j.State == api.Held
	if !waits || (j.Spec.Array != nil && j.ArrayID == 0 && !waitingTasks) || j.Reason.Code == "" {
		return "-"
	}
	return j.Reason.Code
}

// writeDetail prints one job as qstat -j does: 62 '=' then "key:" padded
// to column 28 and the value, only keys that are set; then GoDocker's own.
// gatewayFor is the SSH gateway's address if one of jobs is interactive
// (and the server has a gateway): where gstat -j says to ssh to.
func gatewayFor(ctx context.Context, c Client, jobs []*api.Job) string {
	if !slices.ContainsFunc(jobs, func(j *api.Job) bool { return j.Spec.Interactive }) {
		return ""
	}
	in, err := c.Info(ctx)
	if err != nil {
		return ""
	}
	return in.SSHGateway
}

// writeDetail prints one job as qstat -j does; gateway is the SSH
// gateway's HOST:PORT, for the line that says how to enter an
// interactive job.
func writeDetail(w io.Writer, j *api.Job, gateway string) {
	io.WriteString(w, strings.Repeat("=", 62)+"\n")
	for _, f := range j.Details(gateway, now(), time.Local) {
		fmt.Fprintf(w, "%-28s%s\n", f.Key+":", f.Value)
	}
}
