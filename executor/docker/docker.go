// Package docker runs GoDocker jobs on the local Docker engine. It is
// registered as the executor type "docker", the default.
//
// Each job attempt is one container named executor.ContainerOf(job)
// (godocker-INSTALLATION-ID-ATTEMPT, see package executor) and labelled
// with executor.LabelInstallation, executor.LabelJob and friends, so that
// a restarted server finds every container it started, and only those:
// Events follows the containers of the executor's installation alone, and
// Start never takes over another installation's container. The container
// runs job.Run exactly as the server resolved it: the image, the argv as
// entrypoint (an image's ENTRYPOINT never interferes), the working
// directory, the environment, the bind mounts, the uid:gid and the
// supplementary groups, and the cpu, memory (swap = memory) and pid limits.
// Every container gets no-new-privileges and docker-init as pid 1 (it
// reaps zombies and forwards signals); a container of a non-root job has
// no capabilities at all. A user job's container mounts, read-only,
// /etc/passwd and /etc/group with a line for the job's user and group if
// the image has none for that uid and gid (see userMounts). Containers are not
// removed automatically: the watcher records the exit (Inspect) and then
// calls Remove.
//
// Images are never pulled: there may be no registry. A missing image is an
// error that says so.
package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"
	"golang.org/x/sync/singleflight"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
)

func init() {
	executor.Register("docker", func(ctx context.Context, name string, cfg executor.Config) (executor.Executor, error) {
		return New(ctx, name, cfg)
	})
}

// Executor runs jobs as containers of one Docker engine. It is safe for
// concurrent use.
type Executor struct {
	name string
	cli  *client.Client
	// installation is the store's installation id (Config.Installation),
	// "" for none: see executor.ContainerName.
	installation string
	node         string // the engine's host name: the one node
	cpus         int    // capacity override, 0: what the engine reports
	memory       int64  // capacity override, 0: what the engine reports
	network      container.NetworkMode

	// files holds the passwd and group files job containers mount (see
	// userMounts); ownFiles: New made it, Close removes it.
	files    string
	ownFiles bool
	etcMu    sync.Mutex
	etcCache map[string]*imageEtc // by image id: see etcOf
	etcReads singleflight.Group   // first reads of an image, by id

	// stale is staleEtcReader when New ran. closed ends sweepEtcReaders,
	// which closes swept when it returns.
	stale         time.Duration
	closed, swept chan struct{}
	closing       sync.Once
}

var _ executor.Executor = (*Executor)(nil)

// New connects to the Docker engine at cfg.Host (empty: DOCKER_HOST, or the
// default socket) and checks that it answers. cfg.CPUs and cfg.Memory
// override the capacity the engine reports; cfg.Network is the network
// mode of job containers (empty: the engine's default); cfg.FilesDir
// keeps the files containers mount (empty: a temporary directory, removed
// by Close).
func New(ctx context.Context, name string, cfg executor.Config) (*Executor, error) {
	e := &Executor{name: name, installation: cfg.Installation, cpus: cfg.CPUs, network: container.NetworkMode(cfg.Network), files: cfg.FilesDir}
	if cfg.CPUs < 0 {
		return nil, fmt.Errorf("executor %s: cpus %d: want 0 (what the engine reports) or more", name, cfg.CPUs)
	}
	if cfg.Memory != "" {
		m, err := api.ParseMemory(cfg.Memory)
		if err != nil {
			return nil, fmt.Errorf("executor %s: %w", name, err)
		}
		e.memory = m
	}
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if cfg.Host != "" {
		opts = append(opts, client.WithHost(cfg.Host))
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("executor %s: docker client: %w", name, err)
	}
	e.cli = cli
	info, err := cli.Info(ctx)
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("executor %s: %w", name, e.unreachable(err))
	}
	e.node = info.Name
	if e.files == "" {
		if e.files, err = os.MkdirTemp("", "godocker-files-"); err != nil {
			cli.Close()
			return nil, fmt.Errorf("executor %s: %w", name, err)
		}
		e.ownFiles = true
	}
	e.stale = staleEtcReader
	e.removeStaleEtcReaders(ctx)
	e.closed, e.swept = make(chan struct{}), make(chan struct{})
	go e.sweepEtcReaders()
	return e, nil
}

// unreachable turns a failed first call into a sentence that says what to
// check.
func (e *Executor) unreachable(err error) error {
	return fmt.Errorf("cannot reach the Docker engine at %s: is dockerd running? (%w)", e.cli.DaemonHost(), err)
}

// Close releases the client's connections. Containers keep running.
func (e *Executor) Close() error {
	e.closing.Do(func() {
		close(e.closed)
		<-e.swept
	})
	if e.ownFiles {
		os.RemoveAll(e.files) // mounted files stay with their containers
	}
	return e.cli.Close()
}

// Client is the Docker client the executor uses, for tests and tools that
// need to look at containers directly.
func (e *Executor) Client() *client.Client { return e.cli }

// Name is the name the executor was configured under.
func (e *Executor) Name() string { return e.name }

// Nodes returns the engine's machine: its host name, cpus and memory, or
// the configured overrides.
func (e *Executor) Nodes(ctx context.Context) ([]executor.Node, error) {
	info, err := e.cli.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("nodes: docker info: %w", err)
	}
	n := executor.Node{Name: info.Name, CPUs: info.NCPU, Memory: info.MemTotal}
	if e.cpus > 0 {
		n.CPUs = e.cpus
	}
	if e.memory > 0 {
		n.Memory = e.memory
	}
	return []executor.Node{n}, nil
}

// Start creates and starts the container of the job's current attempt. If
// that container exists already it is left as it is (started if it was
// only created) and Start returns nil. If the container was created but
// could not be started (e.g. the program does not exist), the error is
// returned and the container stays, so that Inspect reports why; Remove
// deletes it.
//
// Between create and start, the container of a user job (Run.User set,
// Run.UID not 0) gets a passwd entry for Run.User and a group entry for
// Run.Group unless the image has lines for that uid and gid already, as
// Apptainer gives its containers: the job's uid then has a name (whoami,
// id -un, the shell's prompt, git, ssh). That is best effort: if it fails
// the job starts anyway, and a warning is logged.
func (e *Executor) Start(ctx context.Context, j *api.Job, p executor.Placement) error {
	if j.Run == nil || len(j.Run.Argv) == 0 {
		return fmt.Errorf("start job %d: no resolved execution (job.Run with an argv)", j.ID)
	}
	if p.Node != "" && p.Node != e.node {
		return fmt.Errorf("start job %d: placed on node %q, but this engine is %q", j.ID, p.Node, e.node)
	}
	name := executor.ContainerOf(e.installation, j)
	cfg, hc := e.containerConfig(j)
	hc.Mounts = append(hc.Mounts, e.userMounts(ctx, j)...)
	_, err := e.cli.ContainerCreate(ctx, cfg, hc, nil, nil, name)
	switch {
	case err == nil:
	case cerrdefs.IsConflict(err):
		// The name is taken: this attempt was started before.
		return e.startExisting(ctx, j, name)
	case cerrdefs.IsNotFound(err):
		if _, ierr := e.cli.ImageInspect(ctx, j.Run.Image); cerrdefs.IsNotFound(ierr) {
			return fmt.Errorf("start job %d: image %q is not on the Docker engine %s and GoDocker does not pull images: load or build it there (godocker/base:latest: make image)", j.ID, j.Run.Image, e.node)
		}
		return fmt.Errorf("start job %d: create container %s: %w", j.ID, name, err)
	default:
		return fmt.Errorf("start job %d: create container %s: %w", j.ID, name, err)
	}
	if err := e.cli.ContainerStart(ctx, name, container.StartOptions{}); err != nil {
		return fmt.Errorf("start job %d: start container %s: %w", j.ID, name, err)
	}
	return nil
}

// startExisting handles a Start whose container name is taken: it must be
// this job attempt's container, which is started only if it never was. A
// container of another installation is refused, whatever its job and
// attempt: it runs another installation's job, maybe another user's. A
// container with no installation is this attempt's only under the name
// of before installations existed (godocker-ID-ATTEMPT, recorded for a job
// started then).
func (e *Executor) startExisting(ctx context.Context, j *api.Job, name string) error {
	c, err := e.cli.ContainerInspect(ctx, name)
	if err != nil {
		return fmt.Errorf("start job %d: inspect existing container %s: %w", j.ID, name, err)
	}
	var labels map[string]string
	if c.Config != nil {
		labels = c.Config.Labels
	}
	if inst := labels[executor.LabelInstallation]; inst != e.installation && (inst != "" || name != executor.ContainerName("", j)) {
		return fmt.Errorf("start job %d: container name %s is taken by a container of installation %s, not of this one (%s) (id %.12s): refusing to take it over",
			j.ID, name, installationName(inst), installationName(e.installation), c.ID)
	}
	if c.Config == nil || c.Config.Labels[executor.LabelJob] != strconv.FormatInt(j.ID, 10) ||
		c.Config.Labels[executor.LabelAttempt] != strconv.Itoa(j.Attempt) {
		return fmt.Errorf("start job %d: container name %s is taken by a container that is not this job attempt's (id %.12s)", j.ID, name, c.ID)
	}
	if c.State != nil && c.State.Status == "created" {
		// Created by a Start that stopped before it started it.
		if err := e.cli.ContainerStart(ctx, name, container.StartOptions{}); err != nil {
			return fmt.Errorf("start job %d: start container %s: %w", j.ID, name, err)
		}
	}
	return nil
}

// installationName is how errors name an installation id.
func installationName(id string) string {
	if id == "" {
		return "none"
	}
	return strconv.Quote(id)
}

// containerConfig translates the job's resolved execution into the
// engine's container configuration. It decides nothing that job.Run does
// not say, apart from the hardening every job gets.
func (e *Executor) containerConfig(j *api.Job) (*container.Config, *container.HostConfig) {
	r := j.Run
	cfg := &container.Config{
		Image:      r.Image,
		Entrypoint: append([]string(nil), r.Argv[:1]...),
		Cmd:        append([]string{}, r.Argv[1:]...),
		WorkingDir: r.WorkDir,
		Env:        append([]string(nil), r.Env...),
		User:       fmt.Sprintf("%d:%d", r.UID, r.GID),
		Labels: map[string]string{
			executor.LabelJob:     strconv.FormatInt(j.ID, 10),
			executor.LabelAttempt: strconv.Itoa(j.Attempt),
			executor.LabelUser:    j.User,
			executor.LabelName:    j.Name,
			executor.LabelProject: j.Project,
		},
	}
	if e.installation != "" {
		cfg.Labels[executor.LabelInstallation] = e.installation
	}
	withInit := true
	hc := &container.HostConfig{
		NetworkMode: e.network,
		SecurityOpt: []string{"no-new-privileges"},
		Init:        &withInit,
	}
	if r.UID != 0 {
		hc.CapDrop = []string{"ALL"}
	}
	for _, g := range r.Groups {
		hc.GroupAdd = append(hc.GroupAdd, strconv.Itoa(g))
	}
	for _, m := range r.Mounts {
		hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	if r.CPUs > 0 {
		hc.NanoCPUs = int64(r.CPUs) * 1e9
	}
	if r.Memory > 0 {
		hc.Memory = r.Memory
		hc.MemorySwap = r.Memory // no swap beyond the memory limit
	}
	if r.Pids > 0 {
		pids := r.Pids
		hc.PidsLimit = &pids
	}
	return cfg, hc
}

// Kill sends SIGKILL to the job's container. A suspended container is
// killed too: engines that refuse to kill a paused container get it
// unpaused first (then a Resumed event precedes Exited); Docker 20.10
// thaws it itself after the signal, with no unpause event. A container
// that already exited is not an error; a missing one is
// executor.ErrNotFound. A container created but not started yet (Start is
// under way) is killed once it has started.
func (e *Executor) Kill(ctx context.Context, j *api.Job) error {
	name := executor.ContainerOf(e.installation, j)
	// A container may change under us (Start starting it, its process
	// ending): look again after a refusal, a few times.
	var err error
	for range 3 {
		if err = e.cli.ContainerKill(ctx, name, "KILL"); err == nil {
			return nil
		}
		if cerrdefs.IsNotFound(err) {
			return fmt.Errorf("kill job %d: %s: %w", j.ID, name, executor.ErrNotFound)
		}
		c, ierr := e.cli.ContainerInspect(ctx, name)
		switch {
		case cerrdefs.IsNotFound(ierr):
			return fmt.Errorf("kill job %d: %s: %w", j.ID, name, executor.ErrNotFound)
		case ierr != nil:
			return fmt.Errorf("kill job %d: %w (inspect: %v)", j.ID, err, ierr)
		case c.State.Status == "created":
			// Start is between create and start (the job is marked
			// running first): wait for it to start, then kill it.
			if werr := e.waitCreated(ctx, name); werr != nil {
				return fmt.Errorf("kill job %d: %w", j.ID, werr)
			}
		case c.State.Paused:
			// Docker 20.10 thaws a paused container itself to kill it;
			// engines that refuse are unpaused first.
			if uerr := e.cli.ContainerUnpause(ctx, name); uerr != nil && !cerrdefs.IsConflict(uerr) {
				return fmt.Errorf("kill job %d: unpause before kill: %w", j.ID, uerr)
			}
		case !c.State.Running:
			return nil // exited already: nothing to kill
		}
	}
	return fmt.Errorf("kill job %d: %w", j.ID, err)
}

// createdWait is how long Kill waits for a container that Start has
// created to be started.
const createdWait = 30 * time.Second

// waitCreated waits until the container is no longer "created" (started,
// or removed). A container that stays created that long was left by a
// Start that stopped half-way: it is removed, so that nothing starts it.
func (e *Executor) waitCreated(ctx context.Context, name string) error {
	deadline := time.Now().Add(createdWait)
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 200*time.Millisecond) {
		c, err := e.cli.ContainerInspect(ctx, name)
		if cerrdefs.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if c.State.Status != "created" {
			return nil
		}
		if time.Now().After(deadline) {
			if err := e.cli.ContainerRemove(ctx, name, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
				return fmt.Errorf("remove %s, created %v ago and never started: %w", name, createdWait, err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}

// Suspend freezes the job's container (docker pause). Suspending a paused
// container is not an error.
func (e *Executor) Suspend(ctx context.Context, j *api.Job) error {
	name := executor.ContainerOf(e.installation, j)
	err := e.cli.ContainerPause(ctx, name)
	return e.pauseResult(ctx, j, name, "suspend", true, err)
}

// Resume thaws a suspended container (docker unpause). Resuming a running
// container is not an error.
func (e *Executor) Resume(ctx context.Context, j *api.Job) error {
	name := executor.ContainerOf(e.installation, j)
	err := e.cli.ContainerUnpause(ctx, name)
	return e.pauseResult(ctx, j, name, "resume", false, err)
}

// pauseResult maps the engine's answer to pause or unpause: a conflict
// because the container is in the wanted state already is success.
func (e *Executor) pauseResult(ctx context.Context, j *api.Job, name, op string, paused bool, err error) error {
	switch {
	case err == nil:
		return nil
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("%s job %d: %s: %w", op, j.ID, name, executor.ErrNotFound)
	default:
		// Engines answer "already paused" with a conflict but "not paused"
		// with a server error: look at the state instead.
		if c, ierr := e.cli.ContainerInspect(ctx, name); ierr == nil && c.State.Running && c.State.Paused == paused {
			return nil
		}
	}
	return fmt.Errorf("%s job %d: %w", op, j.ID, err)
}

// Inspect reports the container of the job's current attempt. A missing
// container is State executor.StateMissing and no error.
func (e *Executor) Inspect(ctx context.Context, j *api.Job) (executor.Status, error) {
	st, err := InspectContainer(ctx, e.cli, executor.ContainerOf(e.installation, j))
	if err != nil {
		return executor.Status{}, fmt.Errorf("inspect job %d: %w", j.ID, err)
	}
	if st.State != executor.StateMissing {
		st.Node = e.node
	}
	return st, nil
}

// InspectContainer reports the container name (a name or an id) of the
// engine cli as an executor.Status: its state, exit code, OOM kill, the
// engine's error, its id and when it started and finished. Node is left
// empty: the caller knows which node the engine is. A missing container
// is State executor.StateMissing and no error. The executors that run
// containers through a Docker engine of their own (swarm) use it too.
func InspectContainer(ctx context.Context, cli *client.Client, name string) (executor.Status, error) {
	c, err := cli.ContainerInspect(ctx, name)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return executor.Status{State: executor.StateMissing}, nil
		}
		return executor.Status{}, err
	}
	st := executor.Status{Container: c.ID}
	if s := c.State; s != nil {
		st.State = containerState(s)
		st.ExitCode = s.ExitCode
		st.OOMKilled = s.OOMKilled
		st.Error = s.Error
		st.StartedAt = engineTime(s.StartedAt)
		st.FinishedAt = engineTime(s.FinishedAt)
		// The engine records the start once containerd answered, which
		// can be after the exit of a process that lives microseconds.
		if !st.FinishedAt.IsZero() && st.FinishedAt.Before(st.StartedAt) {
			st.StartedAt = st.FinishedAt
		}
	}
	return st, nil
}

// containerState maps the engine's state to the executor's.
func containerState(s *container.State) executor.ContainerState {
	switch {
	case s.Paused:
		return executor.StatePaused
	case s.Running, s.Restarting:
		return executor.StateRunning
	case s.Status == container.StateCreated:
		return executor.StateCreated
	}
	return executor.StateExited // exited, dead, removing
}

// engineTime parses a time the engine reports; its zero value
// (0001-01-01T00:00:00Z) and garbage are the zero time.
func engineTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

// Remove force-removes the job's container (and anonymous volumes),
// killing it if it runs. A missing container, or one being removed
// already, is not an error.
func (e *Executor) Remove(ctx context.Context, j *api.Job) error {
	name := executor.ContainerOf(e.installation, j)
	err := e.cli.ContainerRemove(ctx, name, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err == nil || cerrdefs.IsNotFound(err) {
		return nil
	}
	if cerrdefs.IsConflict(err) { // "removal already in progress"?
		c, ierr := e.cli.ContainerInspect(ctx, name)
		if cerrdefs.IsNotFound(ierr) || ierr == nil && c.State != nil && (c.State.Status == container.StateRemoving || c.State.Dead) {
			return nil
		}
	}
	return fmt.Errorf("remove job %d: %w", j.ID, err)
}

// Usage reads the container's counters once: cpu time since it started,
// memory in use now and, where the kernel reports it (cgroup v1), the
// peak.
func (e *Executor) Usage(ctx context.Context, j *api.Job) (api.Usage, error) {
	u, err := ContainerUsage(ctx, e.cli, executor.ContainerOf(e.installation, j))
	if err != nil {
		return api.Usage{}, fmt.Errorf("usage of job %d: %w", j.ID, err)
	}
	return u, nil
}

// ContainerUsage reads the counters of the container name (a name or an
// id) of the engine cli once, as Executor.Usage does. A missing container
// is executor.ErrNotFound.
func ContainerUsage(ctx context.Context, cli *client.Client, name string) (api.Usage, error) {
	r, err := cli.ContainerStatsOneShot(ctx, name)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return api.Usage{}, fmt.Errorf("%s: %w", name, executor.ErrNotFound)
		}
		return api.Usage{}, err
	}
	defer r.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(r.Body).Decode(&s); err != nil {
		return api.Usage{}, fmt.Errorf("decode stats of %s: %w", name, err)
	}
	return api.Usage{
		CPUSeconds: float64(s.CPUStats.CPUUsage.TotalUsage) / 1e9,
		Memory:     int64(s.MemoryStats.Usage),
		MaxMemory:  int64(s.MemoryStats.MaxUsage),
	}, nil
}
