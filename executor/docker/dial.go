package docker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
)

var _ executor.Dialer = (*Executor)(nil)

// DialJob connects to 127.0.0.1:port as seen from inside the job's
// running container, whatever its network (even "none"): it creates the
// socket in the container's network namespace, entered from the host
// through the pid of the container's first process. That works only where
// GoDocker runs on the engine's machine, in its pid namespace, as root;
// elsewhere the error wraps executor.ErrUnsupported. A job with no
// running container is executor.ErrNotFound.
func (e *Executor) DialJob(ctx context.Context, j *api.Job, port int) (net.Conn, error) {
	conn, err := DialContainer(ctx, e.cli, executor.ContainerOf(e.installation, j), port)
	if err != nil {
		return nil, fmt.Errorf("dial port %d in job %d: %w", port, j.ID, err)
	}
	return conn, nil
}

// DialContainer is DialJob for the container name (a name or an id) of
// the engine cli: the executors that run containers through a Docker
// engine of their own (swarm) use it. It works only where that engine
// runs on this machine; elsewhere the error wraps
// executor.ErrUnsupported. A container that is missing or not running is
// executor.ErrNotFound.
func DialContainer(ctx context.Context, cli *client.Client, name string, port int) (net.Conn, error) {
	if port < 1 || port > 65535 {
		return nil, errors.New("want a port from 1 to 65535")
	}
	c, err := cli.ContainerInspect(ctx, name)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("%s: %w", name, executor.ErrNotFound)
		}
		return nil, err
	}
	if c.State == nil || !c.State.Running || c.State.Pid <= 0 {
		return nil, fmt.Errorf("%s is not running: %w", name, executor.ErrNotFound)
	}
	ns, err := openNetns(ctx, cli, name, c.State.Pid, c.ID)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	return dialInNetns(ctx, ns, "127.0.0.1:"+strconv.Itoa(port))
}

// openNetns opens the network namespace of the container's process pid
// and checks that pid is still that container's, so that the open file
// names the container's network. If the container ended meanwhile, the
// error wraps executor.ErrNotFound.
func openNetns(ctx context.Context, cli *client.Client, name string, pid int, id string) (*os.File, error) {
	ns, err := os.Open("/proc/" + strconv.Itoa(pid) + "/ns/net")
	if err == nil {
		if err = inContainer(pid, id); err == nil {
			return ns, nil
		}
		ns.Close()
	} else if cerr := inContainer(pid, id); cerr != nil {
		err = cerr // why the pid is not here
	}
	if c, ierr := cli.ContainerInspect(ctx, name); cerrdefs.IsNotFound(ierr) || ierr == nil && (c.State == nil || !c.State.Running) {
		return nil, fmt.Errorf("%s has ended: %w", name, executor.ErrNotFound)
	}
	return nil, fmt.Errorf("open network namespace of %s: %w", name, err)
}
