package tui

import (
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/client"
)

// Source is what gtop reads and does: *client.Client satisfies it.
type Source interface {
	// Whoami is who the server believes the caller is.
	Whoami(ctx context.Context) (*api.Identity, error)
	// Info says what the server offers (the SSH gateway's address).
	Info(ctx context.Context) (*api.ServerInfo, error)
	// Jobs lists jobs.
	Jobs(ctx context.Context, q client.Query) ([]*api.Job, error)
	// Job returns one job.
	Job(ctx context.Context, ref api.JobRef) (*api.Job, error)
	// Events streams job events until ctx ends or the stream drops,
	// when the channel is closed.
	Events(ctx context.Context, ids ...int64) (<-chan api.Event, error)
	// Delete deletes a job (gdel).
	Delete(ctx context.Context, ref api.JobRef) (*api.DeleteResult, error)
	// Control applies one of the api.Control* actions (gctl).
	Control(ctx context.Context, ref api.JobRef, action string) (*api.Job, error)
	// Nodes lists the executors' nodes with their capacity and use.
	Nodes(ctx context.Context) ([]*api.NodeStatus, error)
	// Usage reports what users and projects used, as fair share weighs it.
	Usage(ctx context.Context) (*api.UsageReport, error)
	// Quotas reports the quota period and every budget set.
	Quotas(ctx context.Context) (*api.QuotaReport, error)
	// Output reads a piece of a job's stdout or stderr.
	Output(ctx context.Context, ref api.JobRef, stream string, offset int64, max int) (*api.Output, error)
}

// requestTimeout bounds each call gtop makes but the event stream.
const requestTimeout = 15 * time.Second

// activeStates are the states the queue shows.
func activeStates() []api.State {
	return []api.State{api.Pending, api.Held, api.Running, api.Suspended}
}

// Messages that carry what a call returned.
type (
	jobsMsg struct {
		jobs []*api.Job
		err  error
	}
	jobMsg struct {
		id  int64 // the job the details view asked for
		job *api.Job
		err error
	}
	nodesMsg struct {
		nodes []*api.NodeStatus
		err   error
	}
	usageMsg struct {
		usage *api.UsageReport
		err   error
	}
	quotasMsg struct {
		quotas *api.QuotaReport
		err    error
	}
	// actionMsg is the answer to d, s, h or r.
	actionMsg struct {
		verb string // what was asked: delete or an api.Control* action
		ref  api.JobRef
		job  *api.Job
		del  *api.DeleteResult
		err  error
	}
)

// call runs f with a context bounded by requestTimeout. Commands built on
// it capture everything they use before they run: they run outside
// Update, on their own goroutine.
func call[T any](ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	return f(ctx)
}

// listJobs lists every user's jobs in an active state: the queue filters
// them, so that toggling users needs no call.
func listJobs(ctx context.Context, src Source) tea.Cmd {
	return func() tea.Msg {
		jobs, err := call(ctx, func(ctx context.Context) ([]*api.Job, error) {
			return src.Jobs(ctx, client.Query{Users: []string{"*"}, States: activeStates()})
		})
		return jobsMsg{jobs: jobs, err: err}
	}
}

// fetchJob reads one job for the details view.
func fetchJob(ctx context.Context, src Source, id int64, ref api.JobRef) tea.Cmd {
	return func() tea.Msg {
		j, err := call(ctx, func(ctx context.Context) (*api.Job, error) { return src.Job(ctx, ref) })
		return jobMsg{id: id, job: j, err: err}
	}
}

// loadCluster reads the nodes, the usage and the quotas, each into its
// own message.
func loadCluster(ctx context.Context, src Source) tea.Cmd {
	return tea.Batch(
		func() tea.Msg {
			n, err := call(ctx, src.Nodes)
			return nodesMsg{nodes: n, err: err}
		},
		func() tea.Msg {
			u, err := call(ctx, src.Usage)
			return usageMsg{usage: u, err: err}
		},
		func() tea.Msg {
			q, err := call(ctx, src.Quotas)
			return quotasMsg{quotas: q, err: err}
		},
	)
}

// deleteJob deletes the job ref names.
func deleteJob(ctx context.Context, src Source, ref api.JobRef) tea.Cmd {
	return func() tea.Msg {
		r, err := call(ctx, func(ctx context.Context) (*api.DeleteResult, error) { return src.Delete(ctx, ref) })
		return actionMsg{verb: "delete", ref: ref, del: r, err: err}
	}
}

// controlJob applies action to the job ref names.
func controlJob(ctx context.Context, src Source, ref api.JobRef, action string) tea.Cmd {
	return func() tea.Msg {
		j, err := call(ctx, func(ctx context.Context) (*api.Job, error) { return src.Control(ctx, ref, action) })
		return actionMsg{verb: action, ref: ref, job: j, err: err}
	}
}
