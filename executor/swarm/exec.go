package swarm

import (
	"context"
	"fmt"
	"net"
	"slices"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/executor/docker"
)

// running returns the engine of the node that runs j's task and the id of
// the task's container. A job whose task does not run is
// executor.ErrNotFound; a node whose engine GoDocker cannot reach is
// executor.ErrUnsupported.
func (e *Executor) running(ctx context.Context, j *api.Job) (*client.Client, string, error) {
	_, tasks, err := e.service(ctx, j)
	if err != nil {
		return nil, "", err
	}
	// The container may run before the manager knows: a task that its
	// node is starting is asked to its node's engine too.
	if len(tasks) == 0 || containerID(tasks[0]) == "" ||
		tasks[0].Status.State != swarm.TaskStateRunning && !slices.Contains(onNode, tasks[0].Status.State) {
		return nil, "", fmt.Errorf("%s is not running: %w", executor.ContainerOf(e.installation, j), executor.ErrNotFound)
	}
	cli, err := e.engine(ctx, tasks[0].NodeID)
	if err != nil {
		return nil, "", err
	}
	return cli, containerID(tasks[0]), nil
}

// Exec runs r.Cmd in the job's running container, through the engine of
// the node that runs it, as the docker executor's Exec does: as the job's
// uid:gid, in its working directory, with r.Env added. A session's Signal
// works only for a container on this machine's engine (else
// executor.ErrUnsupported). The returned session must be closed.
func (e *Executor) Exec(ctx context.Context, j *api.Job, r executor.ExecRequest) (executor.Session, error) {
	if len(r.Cmd) == 0 {
		return nil, fmt.Errorf("exec in job %d: empty command", j.ID)
	}
	cli, id, err := e.running(ctx, j)
	if err != nil {
		return nil, fmt.Errorf("exec in job %d: %w", j.ID, err)
	}
	return docker.ExecContainer(ctx, cli, id, j, r)
}

// Usage reads the counters of the job's running container once, through
// the engine of its node.
func (e *Executor) Usage(ctx context.Context, j *api.Job) (api.Usage, error) {
	cli, id, err := e.running(ctx, j)
	if err == nil {
		var u api.Usage
		if u, err = docker.ContainerUsage(ctx, cli, id); err == nil {
			return u, nil
		}
	}
	return api.Usage{}, fmt.Errorf("usage of job %d: %w", j.ID, err)
}

// DialJob connects to 127.0.0.1:port inside the job's running container,
// as the docker executor's DialJob does. That needs the container's node
// to be this machine (its engine GoDocker's own): elsewhere the error
// wraps executor.ErrUnsupported. A job with no running container is
// executor.ErrNotFound.
func (e *Executor) DialJob(ctx context.Context, j *api.Job, port int) (net.Conn, error) {
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("dial port %d in job %d: want a port from 1 to 65535", port, j.ID)
	}
	cli, id, err := e.running(ctx, j)
	if err != nil {
		return nil, fmt.Errorf("dial port %d in job %d: %w", port, j.ID, err)
	}
	conn, err := docker.DialContainer(ctx, cli, id, port)
	if err != nil {
		return nil, fmt.Errorf("dial port %d in job %d: %w", port, j.ID, err)
	}
	return conn, nil
}
