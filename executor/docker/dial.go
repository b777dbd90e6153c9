package docker

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"

	cerrdefs "github.com/containerd/errdefs"

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
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("dial port %d in job %d: want a port from 1 to 65535", port, j.ID)
	}
	name := executor.ContainerName(j)
	c, err := e.cli.ContainerInspect(ctx, name)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("dial port %d in job %d: %s: %w", port, j.ID, name, executor.ErrNotFound)
		}
		return nil, fmt.Errorf("dial port %d in job %d: %w", port, j.ID, err)
	}
	if c.State == nil || !c.State.Running || c.State.Pid <= 0 {
		return nil, fmt.Errorf("dial port %d in job %d: %s is not running: %w", port, j.ID, name, executor.ErrNotFound)
	}
	ns, err := e.openNetns(ctx, name, c.State.Pid, c.ID)
	if err != nil {
		return nil, fmt.Errorf("dial port %d in job %d: %w", port, j.ID, err)
	}
	defer ns.Close()
	conn, err := dialInNetns(ctx, ns, "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return nil, fmt.Errorf("dial port %d in job %d: %w", port, j.ID, err)
	}
	return conn, nil
}

// openNetns opens the network namespace of the container's process pid
// and checks that pid is still that container's, so that the open file
// names the container's network. If the container ended meanwhile, the
// error wraps executor.ErrNotFound.
func (e *Executor) openNetns(ctx context.Context, name string, pid int, id string) (*os.File, error) {
	ns, err := os.Open("/proc/" + strconv.Itoa(pid) + "/ns/net")
	if err == nil {
		if err = inContainer(pid, id); err == nil {
			return ns, nil
		}
		ns.Close()
	} else if cerr := inContainer(pid, id); cerr != nil {
		err = cerr // why the pid is not here
	}
	if c, ierr := e.cli.ContainerInspect(ctx, name); cerrdefs.IsNotFound(ierr) || ierr == nil && (c.State == nil || !c.State.Running) {
		return nil, fmt.Errorf("%s has ended: %w", name, executor.ErrNotFound)
	}
	return nil, fmt.Errorf("open network namespace of %s: %w", name, err)
}
