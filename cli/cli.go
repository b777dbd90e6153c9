// Package cli implements GoDocker's Grid Engine style commands: gsub
// (qsub), gstat (qstat) and gdel (qdel). Each command parses its command
// line the way Grid Engine does, talks to godockerd through a Client, and
// prints what Grid Engine prints, so that scripts and workflow managers
// written for qsub/qstat/qdel work unchanged.
//
// The commands never say who the caller is: godockerd learns it from the
// connection. Validation of the request and resolution of paths and
// defaults against the site's configuration are the server's; the commands
// only parse, send and print.
//
// Messages name the command by its GoDocker name (gsub, gstat, gdel) even
// when it is run through a qsub/qstat/qdel symlink, so that the programs
// behave identically under either name.
package cli

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/client"
)

// Client is what the commands need from godockerd. *client.Client
// satisfies it; tests use an in-memory fake.
type Client interface {
	Submit(ctx context.Context, spec api.Spec) (*api.Job, error)
	Job(ctx context.Context, ref api.JobRef) (*api.Job, error)
	Jobs(ctx context.Context, q client.Query) ([]*api.Job, error)
	Delete(ctx context.Context, ref api.JobRef) (*api.DeleteResult, error)
	Events(ctx context.Context, ids ...int64) (<-chan api.Event, error)
	Whoami(ctx context.Context) (*api.Identity, error)
	Info(ctx context.Context) (*api.ServerInfo, error)
	Status(ctx context.Context) (*api.Status, error)
	Maintenance(ctx context.Context) (*api.Maintenance, error)
	SetMaintenance(ctx context.Context, m api.Maintenance) (*api.Maintenance, error)

	Projects(ctx context.Context) ([]*api.Project, error)
	Project(ctx context.Context, name string) (*api.Project, error)
	CreateProject(ctx context.Context, p api.Project) (*api.Project, error)
	UpdateProject(ctx context.Context, p api.Project) (*api.Project, error)
	DeleteProject(ctx context.Context, name string) error
	Accounts(ctx context.Context) ([]*api.Account, error)
	Account(ctx context.Context, user string) (*api.Account, error)
	PutAccount(ctx context.Context, a api.Account) (*api.Account, error)
	Usage(ctx context.Context) (*api.UsageReport, error)
	Quotas(ctx context.Context) (*api.QuotaReport, error)

	Keys(ctx context.Context, user string) ([]*api.Key, error)
	AddKey(ctx context.Context, r api.AddKeyRequest) (*api.Key, error)
	DeleteKey(ctx context.Context, user, fingerprint string) error

	Control(ctx context.Context, ref api.JobRef, action string) (*api.Job, error)
	Alter(ctx context.Context, ref api.JobRef, a api.Alter) (*api.Job, error)
}

var _ Client = (*client.Client)(nil)

// InterruptContext returns a context that is cancelled by the first
// SIGINT or SIGTERM. After that signal the default handling is restored,
// so a second Ctrl-C ends the program at once. gsub -sync y deletes the
// job it waits for when its context is cancelled this way. Call stop to
// release the signal handler.
func InterruptContext(parent context.Context) (ctx context.Context, stop context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer signal.Stop(sigs)
		select {
		case <-sigs:
			cancel()
		case <-done:
		}
	})
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			close(done)
			wg.Wait()
			cancel()
		})
	}
}
