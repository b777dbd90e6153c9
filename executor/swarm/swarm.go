// Package swarm runs GoDocker jobs on Docker Swarm mode. It is registered
// as the executor type "swarm".
//
// Each job attempt (each array task is a job) is one service named
// executor.ContainerOf(job) (godocker-INSTALLATION-ID-ATTEMPT, see package
// executor), in the replicated-job mode (one task, one completion) with the
// restart condition none, so that swarm runs it once and never again. The
// task's container runs job.Run exactly as the docker executor's does: the
// image, the argv (Command and Args: an image's ENTRYPOINT never
// interferes), the working directory, the environment, the bind mounts with
// their read-only flag, the uid:gid and the supplementary groups,
// docker-init as pid 1, no capabilities at all for a non-root job, and the
// cpu, memory and pid limits. The cpus and memory are reserved too, so that
// swarm places a job only where they are free. The service and its
// container carry executor.LabelInstallation, executor.LabelJob and
// friends, so that a restarted server finds every service it started, and
// only those: Events follows the tasks of the executor's installation
// alone, and Start never takes over another installation's service. The
// job's output goes to its job directory on the shared directory (the argv
// redirects it), which must be mounted at the same path on every node.
//
// Placement: a job placed on a node (Placement.Node, a host name as Nodes
// reports it) gets the constraint node.hostname==NODE; the configured
// NodeSelector and the job's Placement.Labels become node.labels.K==V
// constraints. Nodes lists the swarm's ready, active nodes with the
// capacity swarm reports for them.
//
// Events: Docker 20.10 has no task events, so Events polls the task list
// of GoDocker's services (one call a second, and at once after a
// container event of the manager's engine) and reports each task's start
// and exit once per stream; Inspect reports the service's task, with the
// exact times and the OOM kill read from its container through the engine
// of its node where that engine is reachable.
//
// Engines of the nodes: Kill, Exec (the SSH gateway), Usage and DialJob
// reach a task's container through the Docker engine of the node that
// runs it: the manager's own engine (Config.Host) for the manager's node,
// Config.Endpoints[hostname] for the others (the same TLS settings as the
// manager's, from DOCKER_CERT_PATH and DOCKER_TLS_VERIFY). A node with no
// endpoint has no exec, usage or port forwarding (executor.ErrUnsupported),
// and its jobs are killed by stopping their service instead. DialJob and
// an exec session's Signal also need the node's engine to run on the
// machine GoDocker runs on (they enter the container from the host), so in
// practice they work for jobs on the manager's node only.
//
// Limitations, and what GoDocker does about them:
//
//   - Images are never pulled. The 20.10 swarm agent tries to pull every
//     image given by name before each task, even one it has (with no
//     registry it logs "pulling image failed" and uses its own; with a
//     registry that has an image of that name it would run that one); it
//     pulls nothing when the image is given by its id. Start therefore
//     gives the service the id of the image on the manager's engine
//     (label godocker.image keeps the name), and every node that runs
//     jobs needs that same image (docker save and docker load keep its
//     id). An image the manager does not have is given by name, as a
//     fallback. A node without the image rejects the task, and the job
//     fails with a message that says so.
//   - no-new-privileges: swarm passes it to the containers from API 1.46
//     (Docker 27) only. New logs a warning on older engines; set
//     "no-new-privileges": true in the daemon.json of their nodes.
//   - Swap: a service cannot set the swap limit, so a node with swap lets
//     a job swap as much again as its memory limit (the engine's default).
//   - The passwd entry the docker executor gives a job's uid cannot be
//     written: the swarm agent creates and starts the container at once.
//     The job's uid may have no name in the container (whoami fails, the
//     shell prompt shows "I have no name!"); images that need one must
//     have it, or a users' passwd mounted read-only at /etc/passwd.
//   - Suspend and Resume are not supported: Docker Swarm cannot pause a
//     service's container. They return an error wrapping
//     executor.ErrUnsupported that says so.
//   - Kill sends SIGKILL to the task's container through its node's
//     engine (the job ends with 137); a task that its node is starting is
//     killed once it runs. A task that is not on a node yet, or runs on a
//     node with no endpoint, is stopped by removing its service instead:
//     Inspect then reports it missing, which the server records as
//     killed.
//   - Docker 20.10 neither stops the tasks of a removed replicated-job
//     service nor forgets them (moby/moby#44312, fixed by
//     moby/swarmkit#3112 in later engines). Remove and Kill therefore
//     first set the service to zero completions, which makes swarm stop
//     and remove a task that has not ended, then remove the containers of
//     ended tasks through their nodes' engines, then the service. The
//     manager still keeps the ended tasks of removed services in its task
//     list (Events lists them every second, and reports nothing of them),
//     likely until it restarts or another manager leads.
//   - Network: Config.Network is the network the tasks attach to: empty
//     (or "bridge"), each node's default bridge; "host"; or a
//     swarm-scoped network (docker network create --driver overlay
//     --attachable NAME). "none" does not exist for swarm services, and
//     New refuses it.
//   - Config.CPUs and Config.Memory cap the capacity Nodes reports for
//     each node (the smaller of the two wins): swarm reserves what a node
//     has, so a node cannot be given more than swarm sees.
package swarm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/client"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/executor/docker"
)

func init() {
	executor.Register("swarm", func(ctx context.Context, name string, cfg executor.Config) (executor.Executor, error) {
		return New(ctx, name, cfg)
	})
}

// LabelImage is the label of a job's service that keeps the image's name
// as the job asked for it (the service itself names the image by id).
const LabelImage = "godocker.image"

// StopGracePeriod is how long swarm waits after SIGTERM before it kills
// the container of a task it stops (Remove, or Kill of a task that does
// not run yet).
const StopGracePeriod = 2 * time.Second

// Executor runs jobs as replicated-job services of a Docker swarm, through
// the engine of one of its managers. It is safe for concurrent use.
type Executor struct {
	name string
	cli  *client.Client // the manager's engine
	// installation is the store's installation id (Config.Installation),
	// "" for none: see executor.ContainerName.
	installation string
	self         string // the manager's node id
	cpus         int    // per-node capacity cap, 0: none
	memory       int64  // per-node capacity cap, 0: none
	network      string
	selector     map[string]string
	endpoints    map[string]string // node host name → engine endpoint

	mu      sync.Mutex
	engines map[string]*client.Client // by endpoint, opened on first use
	hosts   map[string]string         // node id → host name
}

var (
	_ executor.Executor = (*Executor)(nil)
	_ executor.Dialer   = (*Executor)(nil)
)

// New connects to the Docker engine at cfg.Host (empty: DOCKER_HOST, or
// the default socket), which must be an active swarm manager. See the
// package documentation for cfg.Endpoints, cfg.Network, cfg.NodeSelector,
// cfg.CPUs and cfg.Memory.
func New(ctx context.Context, name string, cfg executor.Config) (*Executor, error) {
	e := &Executor{
		name: name, installation: cfg.Installation, cpus: cfg.CPUs, network: cfg.Network,
		selector:  cfg.NodeSelector,
		endpoints: cfg.Endpoints,
		engines:   map[string]*client.Client{},
		hosts:     map[string]string{},
	}
	if cfg.CPUs < 0 {
		return nil, fmt.Errorf("executor %s: cpus %d: want 0 (what swarm reports) or more", name, cfg.CPUs)
	}
	if cfg.Memory != "" {
		m, err := api.ParseMemory(cfg.Memory)
		if err != nil {
			return nil, fmt.Errorf("executor %s: %w", name, err)
		}
		e.memory = m
	}
	for host, ep := range cfg.Endpoints {
		if host == "" || ep == "" {
			return nil, fmt.Errorf("executor %s: endpoints: %q: %q: want a node's host name and its engine's address (tcp://NODE:2376)", name, host, ep)
		}
	}
	cli, err := newClient(cfg.Host)
	if err != nil {
		return nil, fmt.Errorf("executor %s: docker client: %w", name, err)
	}
	if err := e.connect(ctx, cli); err != nil {
		cli.Close()
		return nil, fmt.Errorf("executor %s: %w", name, err)
	}
	return e, nil
}

// newClient returns a client of the engine at host (empty: DOCKER_HOST,
// or the default socket).
func newClient(host string) (*client.Client, error) {
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	return client.NewClientWithOpts(opts...)
}

// connect checks that cli is the engine of an active swarm manager and
// that the configured network can take services.
func (e *Executor) connect(ctx context.Context, cli *client.Client) error {
	e.cli = cli
	info, err := cli.Info(ctx)
	if err != nil {
		return fmt.Errorf("cannot reach the Docker engine at %s: is dockerd running? (%w)", cli.DaemonHost(), err)
	}
	switch s := info.Swarm; {
	case s.LocalNodeState == swarm.LocalNodeStateInactive:
		return fmt.Errorf("the Docker engine at %s is not in a swarm: run docker swarm init there (or point host at a manager of your swarm)", cli.DaemonHost())
	case s.LocalNodeState != swarm.LocalNodeStateActive:
		return fmt.Errorf("the Docker engine at %s is in swarm state %q, not active: see docker info (a locked manager needs docker swarm unlock)", cli.DaemonHost(), s.LocalNodeState)
	case !s.ControlAvailable:
		return fmt.Errorf("the Docker engine at %s is a swarm worker, not a manager: point host at a manager (docker node ls there lists the managers)", cli.DaemonHost())
	}
	e.self = info.Swarm.NodeID
	if versions.LessThan(cli.ClientVersion(), "1.46") {
		slog.Warn("swarm engines before API 1.46 (Docker 27) do not give services no-new-privileges: set \"no-new-privileges\": true in the daemon.json of the nodes",
			"executor", e.name, "api", cli.ClientVersion())
	}
	switch e.network {
	case "", "host", "bridge":
	case "none":
		return errors.New(`network "none" does not exist for swarm services: leave network empty (each node's bridge), or name a swarm-scoped network`)
	default:
		n, err := cli.NetworkInspect(ctx, e.network, network.InspectOptions{})
		switch {
		case cerrdefs.IsNotFound(err):
			return fmt.Errorf("network %q does not exist: create it with docker network create --driver overlay --attachable %s", e.network, e.network)
		case err != nil:
			return fmt.Errorf("inspect network %q: %w", e.network, err)
		case n.Scope != "swarm":
			return fmt.Errorf("network %q is %s-scoped: services attach only to swarm-scoped networks (docker network create --driver overlay --attachable NAME), or \"host\"", e.network, n.Scope)
		}
	}
	return nil
}

// Close releases the clients' connections. Services keep running.
func (e *Executor) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for ep, c := range e.engines {
		c.Close()
		delete(e.engines, ep)
	}
	return e.cli.Close()
}

// Client is the manager's Docker client, for tests and tools that need to
// look at services directly.
func (e *Executor) Client() *client.Client { return e.cli }

// Name is the name the executor was configured under.
func (e *Executor) Name() string { return e.name }

// Nodes lists the swarm's nodes that are ready and active: their host
// names, cpus, memory, labels and gpus (generic resources whose kind
// names a gpu, e.g. NVIDIA-GPU), each capped by the configured cpus and
// memory.
func (e *Executor) Nodes(ctx context.Context) ([]executor.Node, error) {
	list, err := e.cli.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return nil, fmt.Errorf("nodes: list swarm nodes: %w", err)
	}
	var nodes []executor.Node
	e.mu.Lock()
	for _, n := range list {
		e.hosts[n.ID] = n.Description.Hostname
	}
	e.mu.Unlock()
	for _, n := range list {
		if n.Status.State != swarm.NodeStateReady || n.Spec.Availability != swarm.NodeAvailabilityActive {
			continue
		}
		r := n.Description.Resources
		node := executor.Node{
			Name:   n.Description.Hostname,
			CPUs:   int(r.NanoCPUs / 1e9),
			Memory: r.MemoryBytes,
			GPUs:   gpus(r.GenericResources),
		}
		if len(n.Spec.Labels) > 0 {
			node.Labels = maps.Clone(n.Spec.Labels)
		}
		if e.cpus > 0 {
			node.CPUs = min(node.CPUs, e.cpus)
		}
		if e.memory > 0 {
			node.Memory = min(node.Memory, e.memory)
		}
		nodes = append(nodes, node)
	}
	slices.SortFunc(nodes, func(a, b executor.Node) int { return strings.Compare(a.Name, b.Name) })
	return nodes, nil
}

// gpus counts the generic resources whose kind names a gpu: discrete ones
// by their value, named ones (a gpu's uuid each) one by one.
func gpus(rs []swarm.GenericResource) int {
	n := 0
	for _, r := range rs {
		switch {
		case r.DiscreteResourceSpec != nil && isGPU(r.DiscreteResourceSpec.Kind):
			n += int(r.DiscreteResourceSpec.Value)
		case r.NamedResourceSpec != nil && isGPU(r.NamedResourceSpec.Kind):
			n++
		}
	}
	return n
}

func isGPU(kind string) bool { return strings.Contains(strings.ToLower(kind), "gpu") }

// Start creates the service of the job's current attempt; swarm then
// places and starts its task. If that service exists already (running or
// ended) it is left as it is and Start returns nil. Errors in the job's
// execution that swarm finds only on the node (a missing image, mount
// source or program) end the task: Inspect reports them.
func (e *Executor) Start(ctx context.Context, j *api.Job, p executor.Placement) error {
	if j.Run == nil || len(j.Run.Argv) == 0 {
		return fmt.Errorf("start job %d: no resolved execution (job.Run with an argv)", j.ID)
	}
	name := executor.ContainerOf(e.installation, j)
	svc, _, err := e.cli.ServiceInspectWithRaw(ctx, name, swarm.ServiceInspectOptions{})
	switch {
	case err == nil:
		return e.checkOwner(j, svc)
	case !cerrdefs.IsNotFound(err):
		return fmt.Errorf("start job %d: inspect service %s: %w", j.ID, name, err)
	}
	if p.Node != "" {
		if err := e.knownNode(ctx, p.Node); err != nil {
			return fmt.Errorf("start job %d: %w", j.ID, err)
		}
	}
	spec := e.serviceSpec(j, p, e.image(ctx, j))
	resp, err := e.cli.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{QueryRegistry: false})
	if err != nil {
		// Created meanwhile by another Start of this attempt?
		if svc, _, ierr := e.cli.ServiceInspectWithRaw(ctx, name, swarm.ServiceInspectOptions{}); ierr == nil {
			return e.checkOwner(j, svc)
		}
		return fmt.Errorf("start job %d: create service %s: %w", j.ID, name, err)
	}
	for _, w := range resp.Warnings {
		slog.Warn("swarm: create service", "executor", e.name, "job", j.ID, "service", name, "warning", w)
	}
	return nil
}

// checkOwner checks that svc, found under the name of j's attempt, is
// that attempt's. A service of another installation is refused, whatever
// its job and attempt; one without an installation label is the
// attempt's only under the name of before installations existed
// (godocker-ID-ATTEMPT, recorded by a job started then).
func (e *Executor) checkOwner(j *api.Job, svc swarm.Service) error {
	l := svc.Spec.Labels
	if inst := l[executor.LabelInstallation]; inst != e.installation && (inst != "" || svc.Spec.Name != executor.ContainerName("", j)) {
		return fmt.Errorf("start job %d: service name %s is taken by a service of installation %s, not of this one (%s) (id %.12s): refusing to take it over",
			j.ID, svc.Spec.Name, installationName(inst), installationName(e.installation), svc.ID)
	}
	if l[executor.LabelJob] != strconv.FormatInt(j.ID, 10) || l[executor.LabelAttempt] != strconv.Itoa(j.Attempt) {
		return fmt.Errorf("start job %d: service name %s is taken by a service that is not this job attempt's (id %.12s)", j.ID, svc.Spec.Name, svc.ID)
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

// knownNode checks that host is the host name of a node of the swarm.
func (e *Executor) knownNode(ctx context.Context, host string) error {
	e.mu.Lock()
	for _, h := range e.hosts {
		if h == host {
			e.mu.Unlock()
			return nil
		}
	}
	e.mu.Unlock()
	nodes, err := e.cli.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return fmt.Errorf("list swarm nodes: %w", err)
	}
	found := false
	e.mu.Lock()
	for _, n := range nodes {
		e.hosts[n.ID] = n.Description.Hostname
		found = found || n.Description.Hostname == host
	}
	e.mu.Unlock()
	if !found {
		return fmt.Errorf("placed on node %q, which is not a node of this swarm (docker node ls)", host)
	}
	return nil
}

// image returns how the service names the job's image: by the id of the
// manager's image of that name, so that no node tries to pull it, or by
// its name if the manager has none.
func (e *Executor) image(ctx context.Context, j *api.Job) string {
	img, err := e.cli.ImageInspect(ctx, j.Run.Image)
	switch {
	case cerrdefs.IsNotFound(err):
		slog.Debug("swarm: the manager has no image of that name: the nodes get its name (and try to pull it)",
			"executor", e.name, "job", j.ID, "image", j.Run.Image)
	case err != nil:
		slog.Warn("swarm: cannot look up the image on the manager: the nodes get its name (and try to pull it)",
			"executor", e.name, "job", j.ID, "image", j.Run.Image, "err", err)
	case img.ID != "":
		return img.ID
	}
	return j.Run.Image
}

// serviceSpec translates the job's resolved execution into a service. It
// decides nothing that job.Run does not say, apart from the hardening
// every job gets and the placement.
func (e *Executor) serviceSpec(j *api.Job, p executor.Placement, image string) swarm.ServiceSpec {
	r := j.Run
	labels := map[string]string{
		executor.LabelJob:     strconv.FormatInt(j.ID, 10),
		executor.LabelAttempt: strconv.Itoa(j.Attempt),
		executor.LabelUser:    j.User,
		executor.LabelName:    j.Name,
		executor.LabelProject: j.Project,
	}
	if e.installation != "" {
		labels[executor.LabelInstallation] = e.installation
	}
	withInit := true
	grace := StopGracePeriod
	cs := &swarm.ContainerSpec{
		Image:           image,
		Labels:          maps.Clone(labels),
		Command:         append([]string(nil), r.Argv[:1]...),
		Args:            append([]string{}, r.Argv[1:]...),
		Dir:             r.WorkDir,
		Env:             append([]string(nil), r.Env...),
		User:            fmt.Sprintf("%d:%d", r.UID, r.GID),
		Init:            &withInit,
		StopGracePeriod: &grace,
		Privileges:      &swarm.Privileges{NoNewPrivileges: true}, // from API 1.46
	}
	if r.UID != 0 {
		cs.CapabilityDrop = []string{"ALL"}
	}
	for _, g := range r.Groups {
		cs.Groups = append(cs.Groups, strconv.Itoa(g))
	}
	for _, m := range r.Mounts {
		cs.Mounts = append(cs.Mounts, mount.Mount{Type: mount.TypeBind, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	res := &swarm.ResourceRequirements{Limits: &swarm.Limit{}, Reservations: &swarm.Resources{}}
	if r.CPUs > 0 {
		res.Limits.NanoCPUs = int64(r.CPUs) * 1e9
		res.Reservations.NanoCPUs = res.Limits.NanoCPUs
	}
	if r.Memory > 0 {
		res.Limits.MemoryBytes = r.Memory
		res.Reservations.MemoryBytes = r.Memory
	}
	if r.Pids > 0 {
		res.Limits.Pids = r.Pids
	}
	one := uint64(1)
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: executor.ContainerOf(e.installation, j), Labels: labels},
		Mode:        swarm.ServiceMode{ReplicatedJob: &swarm.ReplicatedJob{MaxConcurrent: &one, TotalCompletions: &one}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: cs,
			Resources:     res,
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone},
			Placement:     &swarm.Placement{Constraints: e.constraints(p)},
		},
	}
	if image != r.Image {
		spec.Labels[LabelImage] = r.Image
	}
	if e.network != "" {
		spec.TaskTemplate.Networks = []swarm.NetworkAttachmentConfig{{Target: e.network}}
	}
	return spec
}

// constraints are the placement constraints of a job placed at p: its
// node, the executor's node selector and the job's node labels.
func (e *Executor) constraints(p executor.Placement) []string {
	var c []string
	if p.Node != "" {
		c = append(c, "node.hostname=="+p.Node)
	}
	for _, m := range []map[string]string{e.selector, p.Labels} {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			c = append(c, "node.labels."+k+"=="+m[k])
		}
	}
	return c
}

// service returns the service of j's current attempt and its tasks, the
// latest first. A missing service is executor.ErrNotFound.
func (e *Executor) service(ctx context.Context, j *api.Job) (swarm.Service, []swarm.Task, error) {
	name := executor.ContainerOf(e.installation, j)
	svc, _, err := e.cli.ServiceInspectWithRaw(ctx, name, swarm.ServiceInspectOptions{})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return svc, nil, fmt.Errorf("service %s: %w", name, executor.ErrNotFound)
		}
		return svc, nil, fmt.Errorf("inspect service %s: %w", name, err)
	}
	tasks, err := e.cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", svc.ID))})
	if err != nil {
		if cerrdefs.IsNotFound(err) { // removed meanwhile
			return svc, nil, fmt.Errorf("service %s: %w", name, executor.ErrNotFound)
		}
		return svc, nil, fmt.Errorf("list tasks of service %s: %w", name, err)
	}
	slices.SortFunc(tasks, func(a, b swarm.Task) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return svc, tasks, nil
}

// ended are the states of a task that has ended. Before running, a task
// is new, allocated, pending, assigned, accepted, preparing, ready, then
// starting.
var ended = []swarm.TaskState{
	swarm.TaskStateComplete, swarm.TaskStateFailed, swarm.TaskStateShutdown,
	swarm.TaskStateRejected, swarm.TaskStateOrphaned, swarm.TaskStateRemove,
}

// taskState maps a task's state to a container state: new to starting
// are created, running is running, the others exited.
func taskState(s swarm.TaskState) executor.ContainerState {
	switch {
	case s == swarm.TaskStateRunning:
		return executor.StateRunning
	case slices.Contains(ended, s):
		return executor.StateExited
	}
	return executor.StateCreated
}

// containerID is the id of the task's container, "" if it has none.
func containerID(t swarm.Task) string {
	if t.Status.ContainerStatus == nil {
		return ""
	}
	return t.Status.ContainerStatus.ContainerID
}

// startError is why an ended task did not run its program, "" if it did
// (it exited, with whatever code).
func startError(t swarm.Task) string {
	switch t.Status.State {
	case swarm.TaskStateRejected:
		if t.Status.Err != "" {
			return t.Status.Err
		}
		return "rejected by swarm: " + t.Status.Message
	case swarm.TaskStateFailed:
		if strings.HasPrefix(t.Status.Err, "task: non-zero exit") {
			return ""
		}
		return t.Status.Err
	case swarm.TaskStateOrphaned:
		return "its node stopped answering and swarm gave the task up (orphaned)"
	case swarm.TaskStateShutdown:
		return "swarm shut the task down (its node was drained, or left the swarm)"
	}
	return ""
}

// Inspect reports the task of the job's current attempt: its state,
// container, node, exit code and, for a task that could not run its
// program, why. The times and the OOM kill come from the container, read
// through its node's engine; where that engine cannot be reached, from
// the task (the start is then the task's creation). A missing service is
// executor.StateMissing and no error; a service with no task yet is
// executor.StateCreated.
func (e *Executor) Inspect(ctx context.Context, j *api.Job) (executor.Status, error) {
	svc, tasks, err := e.service(ctx, j)
	if errors.Is(err, executor.ErrNotFound) {
		return executor.Status{State: executor.StateMissing}, nil
	}
	if err != nil {
		return executor.Status{}, fmt.Errorf("inspect job %d: %w", j.ID, err)
	}
	if len(tasks) == 0 {
		return executor.Status{State: executor.StateCreated}, nil
	}
	t := tasks[0]
	st := executor.Status{State: taskState(t.Status.State), Container: containerID(t)}
	if t.NodeID != "" {
		st.Node, _ = e.hostname(ctx, t.NodeID)
	}
	switch st.State {
	case executor.StateCreated:
		st.Error = t.Status.Err // e.g. no suitable node
		return st, nil
	case executor.StateExited:
		if t.Status.ContainerStatus != nil {
			st.ExitCode = t.Status.ContainerStatus.ExitCode
		}
		st.Error = e.explain(svc, st.Node, startError(t))
		st.FinishedAt = t.Status.Timestamp
		st.StartedAt = t.CreatedAt
	case executor.StateRunning:
		st.StartedAt = t.Status.Timestamp
	}
	if st.Container == "" {
		return st, nil
	}
	cli, err := e.engine(ctx, t.NodeID)
	if err != nil {
		return st, nil // no engine: the task's times
	}
	c, err := docker.InspectContainer(ctx, cli, st.Container)
	if err != nil || c.State == executor.StateMissing {
		slog.Debug("swarm: container of a task not found on its node: the task's times", "executor", e.name, "job", j.ID, "container", st.Container, "err", err)
		return st, nil
	}
	if !c.StartedAt.IsZero() {
		st.StartedAt = c.StartedAt
	}
	if st.State == executor.StateExited {
		st.OOMKilled = c.OOMKilled
		if !c.FinishedAt.IsZero() {
			st.FinishedAt = c.FinishedAt
		}
	}
	return st, nil
}

// explain adds to a node's "No such image" what to do about it.
func (e *Executor) explain(svc swarm.Service, node, err string) string {
	name := svc.Spec.Labels[LabelImage]
	if name == "" || !strings.Contains(err, "No such image") {
		return err
	}
	id := ""
	if cs := svc.Spec.TaskTemplate.ContainerSpec; cs != nil {
		id = cs.Image
	}
	return fmt.Sprintf("image %s (id %.19s) is not on node %s, and GoDocker does not pull images: load the manager's image there (docker save %s | docker load keeps its id) (%s)", name, id, node, name, err)
}

// hostname returns the host name of the node with id id.
func (e *Executor) hostname(ctx context.Context, id string) (string, error) {
	e.mu.Lock()
	h, ok := e.hosts[id]
	e.mu.Unlock()
	if ok {
		return h, nil
	}
	n, _, err := e.cli.NodeInspectWithRaw(ctx, id)
	if err != nil {
		return id, fmt.Errorf("inspect node %s: %w", id, err)
	}
	e.mu.Lock()
	e.hosts[id] = n.Description.Hostname
	e.mu.Unlock()
	return n.Description.Hostname, nil
}

// errNoEngine: a node's engine is not configured.
var errNoEngine = errors.New("no Docker engine configured for the node")

// engine returns a client of the Docker engine of the node with id id:
// the manager's for the manager's node, else the configured endpoint of
// the node's host name. A node with none is an error wrapping
// executor.ErrUnsupported.
func (e *Executor) engine(ctx context.Context, id string) (*client.Client, error) {
	if id == e.self {
		return e.cli, nil
	}
	host, err := e.hostname(ctx, id)
	if err != nil {
		return nil, err
	}
	ep, ok := e.endpoints[host]
	if !ok {
		return nil, fmt.Errorf("node %s: %w (executors[].endpoints[%s]): %w", host, errNoEngine, host, executor.ErrUnsupported)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.engines[ep]; ok {
		return c, nil
	}
	c, err := newClient(ep)
	if err != nil {
		return nil, fmt.Errorf("node %s: docker client for %s: %w", host, ep, err)
	}
	e.engines[ep] = c
	return c, nil
}

// startingWait is how long Kill waits for a task that its node is
// starting to run (its container may run before the manager knows).
const startingWait = 10 * time.Second

// Kill sends SIGKILL to the job's container through its node's engine:
// the task ends with 137. A task that its node is starting is killed once
// it runs (Kill waits up to 10 seconds for that). A task that is not on a
// node yet, or runs on a node whose engine GoDocker cannot reach, is
// stopped by removing the service (see Remove): Inspect then reports it
// missing. A task that ended already is not an error; a missing service is
// executor.ErrNotFound.
func (e *Executor) Kill(ctx context.Context, j *api.Job) error {
	deadline := time.Now().Add(startingWait)
	for delay := 20 * time.Millisecond; ; delay = min(2*delay, 200*time.Millisecond) {
		svc, tasks, err := e.service(ctx, j)
		if err != nil {
			return fmt.Errorf("kill job %d: %w", j.ID, err)
		}
		if len(tasks) > 0 && !live(tasks) {
			return nil // ended already
		}
		var t swarm.Task
		if len(tasks) > 0 {
			t = tasks[0]
		}
		wait := time.Now().Before(deadline)
		switch {
		case t.Status.State == swarm.TaskStateRunning:
			cli, err := e.engine(ctx, t.NodeID)
			if err == nil {
				if err = cli.ContainerKill(ctx, containerID(t), "KILL"); err == nil {
					return nil
				}
			}
			if !wait || errors.Is(err, executor.ErrUnsupported) {
				slog.Info("swarm: cannot kill the job's container; removing its service", "executor", e.name, "job", j.ID, "err", err)
				wait = false
			}
			// Else it may have ended meanwhile: look again.
		case !slices.Contains(onNode, t.Status.State):
			wait = false
		}
		if !wait {
			if err := e.remove(ctx, svc, tasks); err != nil {
				return fmt.Errorf("kill job %d: %w", j.ID, err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kill job %d: %w", j.ID, ctx.Err())
		case <-time.After(delay):
		}
	}
}

// onNode are the states of a task that its node is starting.
var onNode = []swarm.TaskState{
	swarm.TaskStateAssigned, swarm.TaskStateAccepted, swarm.TaskStatePreparing, swarm.TaskStateReady, swarm.TaskStateStarting,
}

// live reports whether any of tasks has not ended.
func live(tasks []swarm.Task) bool {
	return slices.ContainsFunc(tasks, func(t swarm.Task) bool { return taskState(t.Status.State) != executor.StateExited })
}

// Suspend is not supported: Docker Swarm cannot pause a service's
// container. A missing service is executor.ErrNotFound.
func (e *Executor) Suspend(ctx context.Context, j *api.Job) error {
	return e.unsupported(ctx, j, "suspend")
}

// Resume is not supported, as Suspend.
func (e *Executor) Resume(ctx context.Context, j *api.Job) error {
	return e.unsupported(ctx, j, "resume")
}

func (e *Executor) unsupported(ctx context.Context, j *api.Job, op string) error {
	name := executor.ContainerOf(e.installation, j)
	if _, _, err := e.cli.ServiceInspectWithRaw(ctx, name, swarm.ServiceInspectOptions{}); cerrdefs.IsNotFound(err) {
		return fmt.Errorf("%s job %d: service %s: %w", op, j.ID, name, executor.ErrNotFound)
	}
	return fmt.Errorf("%s job %d: Docker Swarm cannot pause a service's container, so executor %s cannot suspend or resume jobs: %w", op, j.ID, e.name, executor.ErrUnsupported)
}

// Remove deletes the job's service, stopping its task if it runs (SIGTERM,
// then SIGKILL after StopGracePeriod), and its task's container. A missing
// service is not an error. Inspect reports missing once Remove returned.
func (e *Executor) Remove(ctx context.Context, j *api.Job) error {
	svc, tasks, err := e.service(ctx, j)
	if errors.Is(err, executor.ErrNotFound) {
		return nil
	}
	if err == nil {
		err = e.remove(ctx, svc, tasks)
	}
	if err != nil {
		return fmt.Errorf("remove job %d: %w", j.ID, err)
	}
	return nil
}

// remove deletes svc, whose tasks are tasks. Docker 20.10 neither stops
// nor forgets the tasks of a removed job service (moby/moby#44312): a
// task that has not ended is stopped first by setting the service to zero
// completions (swarm then stops and removes the previous iteration's
// tasks), and the containers of ended tasks are removed through their
// nodes' engines where GoDocker can reach them.
func (e *Executor) remove(ctx context.Context, svc swarm.Service, tasks []swarm.Task) error {
	if live(tasks) || len(tasks) == 0 {
		if err := e.stop(ctx, svc); err != nil {
			return err
		}
	}
	for _, t := range tasks {
		id := containerID(t)
		if id == "" || taskState(t.Status.State) != executor.StateExited {
			continue // swarm removes those it stops
		}
		cli, err := e.engine(ctx, t.NodeID)
		if err == nil {
			err = cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
		}
		if err != nil && !cerrdefs.IsNotFound(err) && !cerrdefs.IsConflict(err) {
			slog.Warn("swarm: cannot remove the container of a removed job's task", "executor", e.name, "service", svc.Spec.Name, "container", id, "err", err)
		}
	}
	if err := e.cli.ServiceRemove(ctx, svc.ID); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove service %s: %w", svc.Spec.Name, err)
	}
	return nil
}

// stop sets svc to zero completions: swarm stops and removes the tasks of
// the job's previous iteration that have not ended, and starts no new one.
func (e *Executor) stop(ctx context.Context, svc swarm.Service) error {
	for range 3 {
		spec := svc.Spec
		zero := uint64(0)
		spec.Mode = swarm.ServiceMode{ReplicatedJob: &swarm.ReplicatedJob{MaxConcurrent: &zero, TotalCompletions: &zero}}
		spec.UpdateConfig, spec.RollbackConfig = nil, nil // jobs may have none
		_, err := e.cli.ServiceUpdate(ctx, svc.ID, svc.Version, spec, swarm.ServiceUpdateOptions{})
		switch {
		case err == nil, cerrdefs.IsNotFound(err):
			return nil
		case !strings.Contains(err.Error(), "out of sequence"):
			return fmt.Errorf("stop the task of service %s: %w", svc.Spec.Name, err)
		}
		// Updated meanwhile: again with its new version.
		if svc, _, err = e.cli.ServiceInspectWithRaw(ctx, svc.ID, swarm.ServiceInspectOptions{}); err != nil {
			if cerrdefs.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("stop the task of service %s: %w", svc.Spec.Name, err)
		}
	}
	return fmt.Errorf("stop the task of service %s: updated concurrently, again and again", svc.Spec.Name)
}
