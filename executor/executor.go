// Package executor defines what the scheduler, the watcher and the SSH
// gateway need from a container platform. Each platform is a package
// (executor/docker, executor/sim, ...) that implements Executor and
// registers a constructor under its name.
//
// # Installations
//
// Several GoDocker installations may share a platform: two godockerd on
// different state directories using one Docker engine (two test servers,
// the end-to-end tests beside a benchmark), or one swarm or namespace.
// Their job ids overlap, so job ids alone cannot tell their containers
// apart. Each store therefore has an installation id, made once, when the
// store is first opened (store.SettingInstallation): every godockerd of a
// store shares it, and another store has another. The server gives it to
// its executors (Config.Installation), which
//
//   - name the container (service, pod) of a job attempt
//     godocker-INSTALLATION-ID-ATTEMPT (ContainerName, through
//     ContainerOf), and label it LabelInstallation=INSTALLATION besides
//     LabelJob, LabelAttempt and the others;
//   - follow only their installation's containers: events, lists and
//     watches select LabelInstallation=INSTALLATION, so that the end of
//     another installation's job 3 is never taken for the end of theirs;
//   - never take over a container of another installation that a name
//     leads them to (Start refuses it, naming both installations).
//
// The containers of jobs started before installations existed keep their
// names, godocker-ID-ATTEMPT, and have no installation label: the server
// recorded their names in api.Job.Container, which ContainerOf prefers,
// so that Inspect, Kill, Exec and Remove still find them. Their events
// are not followed any more: their ends are noticed by the watcher's
// periodic reconciliation (scheduler.reconcile in godocker.yaml), which
// inspects every running job, rather than at once. An executor with no
// installation (Config.Installation empty, as in tests) names, labels and
// follows containers as before installations existed.
package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/godocker/godocker/api"
)

// ErrUnsupported: the platform cannot do this (e.g. suspend on swarm).
var ErrUnsupported = errors.New("not supported by this executor")

// ErrNotFound: no container exists for that job and attempt.
var ErrNotFound = errors.New("container not found")

// Node is one machine an executor can place jobs on, with its total
// capacity. What is free is for the scheduler to work out from the jobs it
// placed there.
type Node struct {
	Name   string            `json:"name"`
	CPUs   int               `json:"cpus"`
	Memory int64             `json:"memory"` // bytes
	GPUs   int               `json:"gpus,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// Placement is where the scheduler put a job.
type Placement struct {
	// Node is the node's name, as Nodes reports it. Empty: anywhere
	// (executors with one node, tests).
	Node string
	// Labels are node labels the node must carry (node reservation), on
	// top of the executor's configured NodeSelector.
	Labels map[string]string
}

// EventKind is what happened to a job's container.
type EventKind string

// Event kinds.
const (
	Started EventKind = "started"
	Exited  EventKind = "exited" // the container's process ended
	Paused  EventKind = "paused"
	Resumed EventKind = "resumed"
)

// Event is a change of a job's container, as the platform reports it.
type Event struct {
	JobID   int64
	Attempt int
	Kind    EventKind
	Time    time.Time
}

// ContainerState is what Inspect found.
type ContainerState string

// Container states.
const (
	StateMissing ContainerState = "missing" // no container for this job and attempt
	StateCreated ContainerState = "created" // created, not started
	StateRunning ContainerState = "running"
	StatePaused  ContainerState = "paused"
	StateExited  ContainerState = "exited"
)

// Status is a job's container as the platform sees it now.
type Status struct {
	State      ContainerState
	ExitCode   int
	OOMKilled  bool
	Error      string // the platform's error, e.g. why it could not start
	Node       string
	Container  string // the platform's id for it
	StartedAt  time.Time
	FinishedAt time.Time
}

// ExecRequest is a process to run inside a job's running container.
type ExecRequest struct {
	Cmd  []string
	Env  []string
	TTY  bool
	Rows uint16
	Cols uint16
}

// Session is a process started by Exec.
type Session interface {
	// Stdin, Stdout and Stderr are the process's streams. With a TTY,
	// Stderr is merged into Stdout.
	Stdin() io.WriteCloser
	Stdout() io.Reader
	Stderr() io.Reader
	// Resize changes the TTY's size.
	Resize(ctx context.Context, rows, cols uint16) error
	// Wait returns the process's exit code once it has ended.
	Wait(ctx context.Context) (int, error)
	// Signal sends sig to the process (the SSH gateway passes on the
	// client's signal requests, and SIGHUP when the client hangs up).
	// Signalling a process that has ended is not an error. ErrUnsupported
	// where the platform cannot.
	Signal(ctx context.Context, sig syscall.Signal) error
	Close() error
}

// Dialer is implemented by executors that can open a TCP connection to a
// port inside a job's running container, from within the container's own
// network (so "localhost" is the container's loopback, whatever network
// the job has): the SSH gateway's port forwarding (ssh -L).
type Dialer interface {
	// DialJob connects to 127.0.0.1:port as seen from inside the job's
	// container. ErrNotFound if the job has no running container.
	DialJob(ctx context.Context, j *api.Job, port int) (net.Conn, error)
}

// Executor runs jobs' containers on a platform. Start runs job.Run exactly:
// image, argv, working directory, environment, mounts, uid/gid/groups and
// limits are decided by the server, not by the executor.
type Executor interface {
	// Name is the name it is registered and configured under.
	Name() string
	// Nodes lists the machines and their total capacity.
	Nodes(ctx context.Context) ([]Node, error)
	// Start creates and starts the container of the job's current attempt.
	// It is idempotent per job id and attempt: a container that exists
	// already (running or exited) is left as it is and nil returned.
	Start(ctx context.Context, j *api.Job, p Placement) error
	// Kill stops the job's container (SIGKILL). Killing a container that
	// already exited is not an error; a missing one is ErrNotFound.
	Kill(ctx context.Context, j *api.Job) error
	// Suspend freezes the container; Resume thaws it. ErrUnsupported where
	// the platform cannot.
	Suspend(ctx context.Context, j *api.Job) error
	Resume(ctx context.Context, j *api.Job) error
	// Events streams container changes of GoDocker's jobs until ctx ends.
	Events(ctx context.Context) (<-chan Event, error)
	// Inspect reports the container of the job's current attempt.
	Inspect(ctx context.Context, j *api.Job) (Status, error)
	// Remove deletes what Start created, once the exit was recorded.
	// Removing a missing container is not an error.
	Remove(ctx context.Context, j *api.Job) error
	// Exec runs a process in the job's running container as the job's
	// user (the SSH gateway's way in).
	Exec(ctx context.Context, j *api.Job, r ExecRequest) (Session, error)
	// Usage reports the live cpu and memory use of a running job.
	Usage(ctx context.Context, j *api.Job) (api.Usage, error)
}

// Factory builds an executor from its configuration section, decoded by
// the executor itself (e.g. yaml.Node or map).
type Factory func(ctx context.Context, name string, cfg Config) (Executor, error)

// Config is an executor's configuration as read from godocker.yaml.
type Config struct {
	// Name is what jobs and gstat call it (default: Type).
	Name string `yaml:"name" json:"name"`
	// Type is the registered name of the implementation (docker, sim, ...).
	Type string `yaml:"type" json:"type"`
	// Host is the platform's endpoint, e.g. unix:///var/run/docker.sock.
	// Empty: the platform's default (DOCKER_HOST for docker).
	Host string `yaml:"host" json:"host,omitempty"`
	// CPUs and Memory override the capacity the platform reports, for a
	// machine shared with other work (0: what the platform says).
	CPUs   int    `yaml:"cpus" json:"cpus,omitempty"`
	Memory string `yaml:"memory" json:"memory,omitempty"`
	// Policy overrides scheduler.policy for the jobs of this executor.
	Policy string `yaml:"policy" json:"policy,omitempty"`
	// Network is the container network for jobs (docker: "bridge",
	// "none", "host", or a named network). Empty: the platform's default.
	Network string `yaml:"network" json:"network,omitempty"`
	// Projects, when set, are the only projects whose jobs may run here
	// (the server checks it at submission).
	Projects []string `yaml:"projects" json:"projects,omitempty"`
	// NodeSelector are labels every node that runs this executor's jobs
	// must carry (swarm: placement constraints node.labels.K==V; kube:
	// the pods' nodeSelector).
	NodeSelector map[string]string `yaml:"node_selector" json:"node_selector,omitempty"`

	// Endpoints (swarm) maps a node's host name to the Docker engine of
	// that node (e.g. tcp://node2:2376), through which the SSH gateway
	// execs into a job's container and its usage is read. The manager's
	// own engine (Host) serves its own node without an entry.
	Endpoints map[string]string `yaml:"endpoints" json:"endpoints,omitempty"`

	// Kubeconfig (kube) is the kubeconfig file to use. Empty: the
	// in-cluster configuration (godockerd running in a pod), else
	// $KUBECONFIG or ~/.kube/config.
	Kubeconfig string `yaml:"kubeconfig" json:"kubeconfig,omitempty"`
	// Context (kube) is the kubeconfig context (empty: its current one).
	Context string `yaml:"context" json:"context,omitempty"`
	// Namespace (kube) is where jobs' pods are created (default
	// "default").
	Namespace string `yaml:"namespace" json:"namespace,omitempty"`
	// Claims (kube) maps a directory of the server's file system to the
	// PersistentVolumeClaim that holds it (e.g. /home: home); a mount
	// under such a directory becomes that claim with a subPath. Mounts
	// under no claim are hostPath volumes, which needs the same path on
	// every node (a shared file system).
	Claims map[string]string `yaml:"claims" json:"claims,omitempty"`

	// FilesDir is a directory of the server's own, on the machine of the
	// engine, where the executor may keep files that containers mount
	// (docker: the passwd and group files that name a job's user). The
	// server sets it (state_dir/executors/NAME); it is not configured.
	FilesDir string `yaml:"-" json:"-"`

	// Installation is the installation id of the server's store
	// (store.SettingInstallation), the same for every godockerd of the
	// store. The executor puts it in the names of what it creates
	// (ContainerName) and labels them with it (LabelInstallation), and
	// follows only what carries it, so that two installations sharing a
	// platform never take each other's containers for their own. Empty:
	// no installation (tests), the names and the following of before
	// installations existed. The server sets it; it is not configured.
	Installation string `yaml:"-" json:"-"`
}

var (
	mu        sync.Mutex
	factories = map[string]Factory{}
)

// Register makes an executor implementation available by type name. It
// panics if the name is taken, as database/sql does.
func Register(typ string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := factories[typ]; dup {
		panic("executor: Register called twice for " + typ)
	}
	factories[typ] = f
}

// Types lists the registered executor types.
func Types() []string {
	mu.Lock()
	defer mu.Unlock()
	var names []string
	for n := range factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Open builds the executor named name from cfg.
func Open(ctx context.Context, name string, cfg Config) (Executor, error) {
	mu.Lock()
	f, ok := factories[cfg.Type]
	mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("executor %q: unknown type %q (known: %v)", name, cfg.Type, Types())
	}
	return f(ctx, name, cfg)
}

// Labels every executor puts on what it creates, so that a restarted
// server finds its containers. LabelInstallation is set only by an
// executor with an installation (Config.Installation).
const (
	LabelInstallation = "godocker.installation"
	LabelJob          = "godocker.job"
	LabelAttempt      = "godocker.attempt"
	LabelUser         = "godocker.user"
	LabelName         = "godocker.name"
	LabelProject      = "godocker.project"
)

// ContainerName is the platform name of a job attempt's container in
// the installation installation: godocker-INSTALLATION-ID-ATTEMPT, or
// godocker-ID-ATTEMPT without an installation (the name of every
// container before installations existed). The server records it in
// api.Job.Container when it marks the attempt running.
func ContainerName(installation string, j *api.Job) string {
	if installation == "" {
		return fmt.Sprintf("godocker-%d-%d", j.ID, j.Attempt)
	}
	return fmt.Sprintf("godocker-%s-%d-%d", installation, j.ID, j.Attempt)
}

// ContainerOf is the name of the container of j's current attempt, as an
// executor of the installation installation finds it: j.Container, the
// name the server recorded when it marked the attempt running (so that
// the jobs started before installations existed keep their names), else
// ContainerName(installation, j). Every executor names containers
// through it.
func ContainerOf(installation string, j *api.Job) string {
	if j.Container != "" {
		return j.Container
	}
	return ContainerName(installation, j)
}

// JobOfLabels reads the job id and attempt from what an executor labelled
// with LabelJob and LabelAttempt; ok is false unless both are numbers.
func JobOfLabels(labels map[string]string) (id int64, attempt int, ok bool) {
	id, err := strconv.ParseInt(labels[LabelJob], 10, 64)
	if err != nil {
		return 0, 0, false
	}
	attempt, err = strconv.Atoi(labels[LabelAttempt])
	if err != nil {
		return 0, 0, false
	}
	return id, attempt, true
}
