// Package store defines how GoDocker persists jobs. Backends (store/sqlite,
// store/mongo for several servers) implement Store and pass the conformance suite in
// store/storetest.
package store

import (
	"context"
	"errors"

	"github.com/godocker/godocker/api"
)

// Errors callers branch on.
var (
	// ErrNotFound: no job with that id, no project with that name, no
	// key of that fingerprint for that user.
	ErrNotFound = errors.New("not found")
	// ErrExists: CreateJob with an id that is already taken,
	// CreateProject with a name that is, or AddKey with a key the user
	// registered already.
	ErrExists = errors.New("already exists")
)

// SettingInstallation is the key of the installation id: a random
// identifier (12 lowercase hex digits) that a store makes once, when it
// is first opened (or upgraded to a version that has it), atomically, so
// that every server that opens the same data reads the same id and two
// servers opening fresh data at once agree on it. It names one GoDocker
// installation: every godockerd of a store, and no other. Executors put
// it in the names and labels of the containers they create, so that two
// installations that share a container platform never take each other's
// containers for their own. Nothing sets it but the store.
const SettingInstallation = "installation"

// Query selects jobs. Zero fields select everything; set fields combine
// with AND, values within a field with OR.
type Query struct {
	IDs    []int64
	Users  []string
	States []api.State
	// Arrays selects the tasks of these arrays: jobs whose ArrayID is one
	// of them.
	Arrays []int64
	// Tasks selects jobs whose TaskID is one of these: with Arrays, those
	// tasks of those arrays; alone, those tasks of any array.
	Tasks []int64
	// Limit caps the number of jobs returned (0: no cap).
	Limit int
	// Brief asks only for each job's Brief (api.Job.Brief), which a
	// store may read for less. It may return more of each job.
	Brief bool
}

// BriefLister is implemented by a store that keeps the JSON of each job's
// Brief and can hand it out without decoding it: the server then sends
// listings as they are stored.
type BriefLister interface {
	// BriefJSON calls fn with the JSON encoding of the Brief of each job
	// that matches q, in increasing id order. doc is valid only until fn
	// returns. An error of fn stops the listing and is returned.
	BriefJSON(ctx context.Context, q Query, fn func(doc []byte) error) error
}

// Store persists jobs. Every method is safe for concurrent use, and every
// change is durable when the method returns.
type Store interface {
	// NextID reserves a job id. Ids increase and are never handed out
	// twice, even across restarts and even when the reserved id is never
	// used, with one exception a store may make: after a power loss, an
	// id under which no job was stored may come back (store/sqlite does;
	// see its NextID).
	NextID(ctx context.Context) (int64, error)
	// CreateJob stores a new job whose ID came from NextID. ErrExists if
	// a job with that id is stored already.
	CreateJob(ctx context.Context, j *api.Job) error
	// Job returns the job with that id, or ErrNotFound.
	Job(ctx context.Context, id int64) (*api.Job, error)
	// Jobs returns the jobs that match q, in increasing id order.
	Jobs(ctx context.Context, q Query) ([]*api.Job, error)
	// Count returns how many jobs match q (q.Limit is ignored), without
	// reading them.
	Count(ctx context.Context, q Query) (int, error)
	// UpdateJob applies fn to the current job atomically: no other update
	// of that job runs between the read and the write. If fn returns an
	// error, nothing is written and UpdateJob returns that error
	// unchanged. fn must not change the job's ID. It returns the job as
	// stored. A store may call fn more than once, each time on a fresh
	// copy of the current job (optimistic concurrency: mongo), so fn must
	// set every variable of its caller that it sets at all, on each run.
	UpdateJob(ctx context.Context, id int64, fn func(*api.Job) error) (*api.Job, error)
	// Setting returns the server-wide setting stored under key ("" if
	// none); SetSetting stores one ("" removes it). Settings are durable
	// and shared by every server of the store, like jobs. One is the
	// store's own: SettingInstallation, which every store has from the
	// moment it is first opened.
	Setting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value string) error

	// Projects returns every stored project, by name. The default
	// project is stored only once an admin changed it.
	Projects(ctx context.Context) ([]*api.Project, error)
	// Project returns the project of that name, or ErrNotFound.
	Project(ctx context.Context, name string) (*api.Project, error)
	// CreateProject stores a new project; ErrExists if the name is taken.
	CreateProject(ctx context.Context, p *api.Project) error
	// UpdateProject applies fn to the stored project atomically, as
	// UpdateJob does; ErrNotFound if there is none. fn must not change
	// the name.
	UpdateProject(ctx context.Context, name string, fn func(*api.Project) error) (*api.Project, error)
	// DeleteProject removes a project; ErrNotFound if there is none.
	DeleteProject(ctx context.Context, name string) error

	// Accounts returns every stored account, by user name.
	Accounts(ctx context.Context) ([]*api.Account, error)
	// Account returns the account of user, or ErrNotFound.
	Account(ctx context.Context, user string) (*api.Account, error)
	// PutAccount stores a.User's account, replacing any.
	PutAccount(ctx context.Context, a *api.Account) error

	// Keys returns the SSH public keys registered by user ("": every
	// user's), ordered by user, then by when they were added, then by
	// fingerprint.
	Keys(ctx context.Context, user string) ([]*api.Key, error)
	// AddKey registers k for k.User; ErrExists if that user registered a
	// key of that fingerprint already. Two users may register the same
	// key: a key only ever opens its registrant's jobs.
	AddKey(ctx context.Context, k *api.Key) error
	// DeleteKey removes user's key of that fingerprint; ErrNotFound if
	// there is none (another user's key of that fingerprint is not
	// user's).
	DeleteKey(ctx context.Context, user, fingerprint string) error

	// Close releases the store.
	Close() error
}
