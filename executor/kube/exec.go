package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
	"k8s.io/streaming/pkg/httpstream"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
)

// Exec runs r.Cmd in the job's running container through the pods/exec
// subresource: over a WebSocket (Kubernetes 1.30 and later), else over
// SPDY. The process runs as the pod's user (the job's uid, gid and
// groups: Kubernetes cannot exec as another user), in the container's
// working directory (the job's), with r.Env added through the image's
// env program (only when r.Env is not empty). The returned session must
// be closed.
//
// Exec returns once the request is under way; an error of the connection
// (the API server refuses it, the pod has gone) is Wait's error, and
// Stdout's. Read Stdout and Stderr concurrently until EOF (or Close the
// session): the output is not buffered, so an unread stream holds the
// other one back. Wait returns the exit code once the output has ended.
func (e *Executor) Exec(ctx context.Context, j *api.Job, r executor.ExecRequest) (executor.Session, error) {
	if len(r.Cmd) == 0 {
		return nil, fmt.Errorf("exec in job %d: empty command", j.ID)
	}
	if e.rest == nil {
		return nil, fmt.Errorf("exec in job %d: the executor was built without a REST configuration: %w", j.ID, executor.ErrUnsupported)
	}
	name := executor.ContainerOf(e.installation, j)
	pod, err := e.client.CoreV1().Pods(e.namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("exec in job %d: pod %s: %w", j.ID, name, executor.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("exec in job %d: get pod %s: %w", j.ID, name, err)
	}
	if st := status(pod); st.State != executor.StateRunning {
		return nil, fmt.Errorf("exec in job %d: pod %s is not running (%s)", j.ID, name, st.State)
	}
	cmd := r.Cmd
	if len(r.Env) > 0 {
		cmd = append(append([]string{"env", "--"}, r.Env...), r.Cmd...)
	}
	url := e.execClient.Post().Resource("pods").Namespace(e.namespace).Name(name).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: ContainerName,
			Command:   cmd,
			Stdin:     true,
			Stdout:    true,
			Stderr:    !r.TTY,
			TTY:       r.TTY,
		}, scheme.ParameterCodec).URL()
	spdy, err := remotecommand.NewSPDYExecutor(e.rest, "POST", url)
	if err != nil {
		return nil, fmt.Errorf("exec in job %d: %w", j.ID, err)
	}
	ws, err := remotecommand.NewWebSocketExecutor(e.rest, "GET", url.String())
	if err != nil {
		return nil, fmt.Errorf("exec in job %d: %w", j.ID, err)
	}
	stream, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return nil, fmt.Errorf("exec in job %d: %w", j.ID, err)
	}

	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &session{job: j.ID, tty: r.TTY, ctx: sctx, cancel: cancel, sizes: make(chan remotecommand.TerminalSize, 1), done: make(chan struct{})}
	s.stdinR, s.stdinW = io.Pipe()
	s.stdout, s.outW = io.Pipe()
	s.stderr, s.errW = io.Pipe()
	opts := remotecommand.StreamOptions{Stdin: s.stdinR, Stdout: s.outW, Tty: r.TTY}
	if r.TTY {
		s.errW.Close() // the terminal merges stderr into stdout
		opts.TerminalSizeQueue = s
		if r.Rows > 0 && r.Cols > 0 {
			s.sizes <- remotecommand.TerminalSize{Width: r.Cols, Height: r.Rows}
		}
	} else {
		opts.Stderr = s.errW
	}
	go s.run(stream, opts)
	return s, nil
}

// session is a process started by Exec.
type session struct {
	job    int64
	tty    bool
	ctx    context.Context // the stream's; cancelled by Close
	cancel context.CancelFunc

	stdinR         *io.PipeReader
	stdinW         *io.PipeWriter
	stdout, stderr *io.PipeReader
	outW, errW     *io.PipeWriter
	sizes          chan remotecommand.TerminalSize

	done      chan struct{} // closed when the stream has ended
	err       error         // the stream's result, set before done is closed
	closeOnce sync.Once
}

// run streams until the process ends or the session is closed.
func (s *session) run(stream remotecommand.Executor, opts remotecommand.StreamOptions) {
	defer close(s.done)
	s.err = stream.StreamWithContext(s.ctx, opts)
	var pipeErr error // nil: the readers see EOF
	var exit utilexec.ExitError
	if s.err != nil && !errors.As(s.err, &exit) {
		pipeErr = fmt.Errorf("exec in job %d: %w", s.job, s.err)
	}
	s.outW.CloseWithError(pipeErr)
	s.errW.CloseWithError(pipeErr)
	s.stdinW.Close() // the stream's reader sees EOF; writes fail from now on
}

var errClosed = errors.New("exec session closed")

// Stdin is the process's standard input; closing it sends end of input.
func (s *session) Stdin() io.WriteCloser { return s.stdinW }

// Stdout is the process's standard output (with a TTY, the terminal's).
func (s *session) Stdout() io.Reader { return s.stdout }

// Stderr is the process's standard error; empty with a TTY, which merges
// it into Stdout.
func (s *session) Stderr() io.Reader { return s.stderr }

// Next is the terminal size queue of the stream: it returns the sizes
// Resize asks for, and nil once the session is over.
func (s *session) Next() *remotecommand.TerminalSize {
	select {
	case sz := <-s.sizes:
		return &sz
	case <-s.ctx.Done():
	case <-s.done:
	}
	return nil
}

// Resize changes the size of the exec's TTY. Resizing a process that has
// ended is not an error.
func (s *session) Resize(ctx context.Context, rows, cols uint16) error {
	if !s.tty {
		return fmt.Errorf("resize exec in job %d: the exec has no TTY", s.job)
	}
	sz := remotecommand.TerminalSize{Width: cols, Height: rows}
	for {
		select {
		case s.sizes <- sz:
			return nil
		case <-s.done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("resize exec in job %d: %w", s.job, ctx.Err())
		default:
		}
		// A size not sent yet is out of date: replace it.
		select {
		case <-s.sizes:
		default:
		}
	}
}

// Wait waits for the process to end and returns its exit code.
func (s *session) Wait(ctx context.Context) (int, error) {
	select {
	case <-s.done:
	case <-ctx.Done():
		return -1, fmt.Errorf("wait for exec in job %d: %w", s.job, ctx.Err())
	}
	var exit utilexec.ExitError
	switch {
	case s.err == nil:
		return 0, nil
	case errors.As(s.err, &exit):
		return exit.ExitStatus(), nil
	}
	return -1, fmt.Errorf("exec in job %d: %w", s.job, s.err)
}

// Signal is not supported: the exec API has no way to signal a process.
func (s *session) Signal(ctx context.Context, sig syscall.Signal) error {
	return fmt.Errorf("signal exec in job %d: Kubernetes cannot signal an exec'd process: %w", s.job, executor.ErrUnsupported)
}

// Close ends the stream (the process may go on running until it reads
// its closed input or writes to its closed output) and waits for it to
// stop.
func (s *session) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.stdout.CloseWithError(errClosed)
		s.stderr.CloseWithError(errClosed)
		s.stdinW.Close()
		<-s.done
	})
	return nil
}
