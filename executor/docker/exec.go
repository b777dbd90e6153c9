package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
)

// Exec runs r.Cmd in the job's running container as the job's uid:gid
// (with the container's supplementary groups), in the job's working
// directory, with r.Env added to the container's environment. The
// returned session must be closed.
//
// Read Stdout and Stderr concurrently until EOF (or Close the session):
// the output is not buffered, so an unread stream holds the other one
// back. Wait returns once the output stream has ended and the engine
// reports the process's exit code.
func (e *Executor) Exec(ctx context.Context, j *api.Job, r executor.ExecRequest) (executor.Session, error) {
	return ExecContainer(ctx, e.cli, executor.ContainerOf(e.installation, j), j, r)
}

// ExecContainer is Exec in the container name (a name or an id) of the
// engine cli, which runs job j: the executors that run containers through
// a Docker engine of their own (swarm) use it. A missing container is
// executor.ErrNotFound. The session's Signal kills the process's host
// pid, which works only where that engine runs on this machine; elsewhere
// it returns an error wrapping executor.ErrUnsupported.
func ExecContainer(ctx context.Context, cli *client.Client, name string, j *api.Job, r executor.ExecRequest) (executor.Session, error) {
	if len(r.Cmd) == 0 {
		return nil, fmt.Errorf("exec in job %d: empty command", j.ID)
	}
	if j.Run == nil {
		return nil, fmt.Errorf("exec in job %d: no resolved execution (job.Run)", j.ID)
	}
	opts := container.ExecOptions{
		User:         fmt.Sprintf("%d:%d", j.Run.UID, j.Run.GID),
		Tty:          r.TTY,
		AttachStdin:  true,
		AttachStdout: true,
		AttachStderr: true,
		Env:          r.Env,
		WorkingDir:   j.Run.WorkDir,
		Cmd:          r.Cmd,
	}
	var size *[2]uint
	if r.TTY && r.Rows > 0 && r.Cols > 0 {
		size = &[2]uint{uint(r.Rows), uint(r.Cols)}
		opts.ConsoleSize = size // honoured from API 1.42; resized below for older engines
	}
	created, err := cli.ContainerExecCreate(ctx, name, opts)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("exec in job %d: %s: %w", j.ID, name, executor.ErrNotFound)
		}
		return nil, fmt.Errorf("exec in job %d: %w", j.ID, err)
	}
	hj, err := cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{Tty: r.TTY, ConsoleSize: size})
	if err != nil {
		return nil, fmt.Errorf("exec in job %d: attach: %w", j.ID, err)
	}
	s := &session{cli: cli, job: j.ID, id: created.ID, hj: hj, done: make(chan struct{})}
	var outW, errW *io.PipeWriter
	s.stdout, outW = io.Pipe()
	s.stderr, errW = io.Pipe()
	go s.pump(r.TTY, outW, errW)
	if size != nil && versions.LessThan(cli.ClientVersion(), "1.42") {
		s.initialSize(ctx, r.Rows, r.Cols)
	}
	return s, nil
}

// initialSize sets the TTY's size on engines that ignore ConsoleSize
// (before API 1.42), as the docker CLI does: right after the start, again
// if the process was not running yet. A program that reads its size in
// its first instant may still see 0x0; it gets SIGWINCH when the size is
// set.
func (s *session) initialSize(ctx context.Context, rows, cols uint16) {
	delay := 5 * time.Millisecond
	for range 8 {
		err := s.Resize(ctx, rows, cols)
		if err == nil {
			return
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.done: // the process ended already
			t.Stop()
			return
		case <-t.C:
		}
		delay *= 2
	}
	slog.Debug("exec: could not set the initial TTY size", "job", s.job, "exec", s.id)
}

// session is a process started by Exec, attached through a hijacked
// connection to the engine.
type session struct {
	cli            *client.Client
	job            int64
	id             string // the exec's id
	hj             types.HijackedResponse
	stdout, stderr *io.PipeReader
	done           chan struct{} // closed when the output stream ended
	closeOnce      sync.Once
}

// pump copies the engine's output stream to the stdout and stderr pipes:
// raw with a TTY, demultiplexed without one.
func (s *session) pump(tty bool, outW, errW *io.PipeWriter) {
	defer close(s.done)
	var err error
	if tty {
		_, err = io.Copy(outW, s.hj.Reader)
	} else {
		_, err = stdcopy.StdCopy(outW, errW, s.hj.Reader)
	}
	outW.CloseWithError(err) // nil: EOF
	errW.CloseWithError(err)
}

func (s *session) Stdin() io.WriteCloser { return stdin{s} }
func (s *session) Stdout() io.Reader     { return s.stdout }

// Stderr is empty with a TTY: the terminal merges it into Stdout.
func (s *session) Stderr() io.Reader { return s.stderr }

// stdin writes to the hijacked connection; closing it half-closes the
// connection, which the engine passes on as end of input.
type stdin struct{ s *session }

func (w stdin) Write(p []byte) (int, error) { return w.s.hj.Conn.Write(p) }
func (w stdin) Close() error                { return w.s.hj.CloseWrite() }

// Resize changes the size of the exec's TTY.
func (s *session) Resize(ctx context.Context, rows, cols uint16) error {
	err := s.cli.ContainerExecResize(ctx, s.id, container.ResizeOptions{Height: uint(rows), Width: uint(cols)})
	if err != nil {
		return fmt.Errorf("resize exec in job %d: %w", s.job, err)
	}
	return nil
}

// Wait waits for the output stream to end, then for the engine to report
// the process's exit code.
func (s *session) Wait(ctx context.Context) (int, error) {
	select {
	case <-s.done:
	case <-ctx.Done():
		return -1, fmt.Errorf("wait for exec in job %d: %w", s.job, ctx.Err())
	}
	// The stream ends when the process's output closes; the engine records
	// the exit code a moment later.
	delay := time.Millisecond
	for {
		in, err := s.cli.ContainerExecInspect(ctx, s.id)
		if err != nil {
			return -1, fmt.Errorf("wait for exec in job %d: %w", s.job, err)
		}
		if !in.Running {
			return in.ExitCode, nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return -1, fmt.Errorf("wait for exec in job %d: %w", s.job, ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// Signal sends sig to the process. The engine has no API for signalling
// an exec'd process, so Signal kills the host pid the engine reports for
// it; that works only where GoDocker runs on the engine's machine, in its
// pid namespace and with the right to signal the process (as root).
// Before killing, it checks that the pid is still in the job's container
// (its cgroup names the container's id), so that a reused pid is never
// signalled; where it cannot check, the error wraps
// executor.ErrUnsupported. Signalling a process that has ended is not an
// error.
func (s *session) Signal(ctx context.Context, sig syscall.Signal) error {
	in, err := s.inspectStarted(ctx)
	if err != nil {
		return fmt.Errorf("signal exec in job %d: %w", s.job, err)
	}
	if !in.Running || in.Pid <= 0 {
		return nil // ended, or never started
	}
	if err := inContainer(in.Pid, in.ContainerID); err != nil {
		// The process may have ended between the inspect and the check.
		if again, ierr := s.cli.ContainerExecInspect(ctx, s.id); ierr == nil && !again.Running {
			return nil
		}
		return fmt.Errorf("signal exec in job %d: %w", s.job, err)
	}
	if err := syscall.Kill(in.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal exec in job %d: kill pid %d: %w", s.job, in.Pid, err)
	}
	return nil
}

// inspectStarted inspects the exec once the engine has started its
// process. The engine answers the attach before it starts the process, so
// right after Exec there may be no pid yet (the engine reports it running
// already); a signal sent then must not be lost. A process that has not
// started has no pid; one that has ended keeps it.
func (s *session) inspectStarted(ctx context.Context) (container.ExecInspect, error) {
	delay := time.Millisecond
	for {
		in, err := s.cli.ContainerExecInspect(ctx, s.id)
		if err != nil || in.Pid > 0 {
			return in, err
		}
		t := time.NewTimer(delay)
		select {
		case <-s.done: // the output ended: the process will not start now
			t.Stop()
			return s.cli.ContainerExecInspect(ctx, s.id)
		case <-ctx.Done():
			t.Stop()
			return in, ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// inContainer checks that the host process pid belongs to the container
// with the full id id: its /proc/PID/cgroup names the container's
// cgroup (".../docker-ID.scope" with the systemd driver, "/docker/ID"
// with cgroupfs). If not, the error wraps executor.ErrUnsupported: the
// engine's pids are not this machine's (a remote engine, another pid
// namespace).
func inContainer(pid int, id string) error {
	if id == "" {
		return fmt.Errorf("the engine did not say which container pid %d is in: %w", pid, executor.ErrUnsupported)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return fmt.Errorf("pid %d of container %.12s is not visible here (a remote engine or another pid namespace?): %w (%v)", pid, id, executor.ErrUnsupported, err)
	}
	if !strings.Contains(string(b), id) {
		return fmt.Errorf("pid %d here is not in container %.12s (a remote engine or another pid namespace?): %w", pid, id, executor.ErrUnsupported)
	}
	return nil
}

// Close releases the connection (the process keeps running if it has not
// ended) and waits for the output pump to stop.
func (s *session) Close() error {
	s.closeOnce.Do(func() {
		s.hj.Close()
		s.stdout.CloseWithError(errClosed)
		s.stderr.CloseWithError(errClosed)
		<-s.done
	})
	return nil
}

var errClosed = errors.New("exec session closed")
