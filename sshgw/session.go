package sshgw

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
)

// Exit statuses of sessions the gateway ends itself.
const (
	exitRefused = 1   // the job cannot be entered now; the message says why
	exitFailed  = 255 // the gateway could not do it (as ssh's own errors)
)

// loginShell is the shell of ssh job-N@HOST: bash if the image has it,
// else sh, as a login shell in the job's working directory.
var loginShell = []string{"/bin/sh", "-c", `if command -v bash >/dev/null 2>&1; then exec bash -l; fi; exec sh -l`}

// session serves ssh job-N@HOST [CMD] and ssh USER@HOST.
func (g *Gateway) session(s ssh.Session) {
	p, err := g.authorize(s.Context(), s.User(), s.PublicKey())
	if err != nil {
		g.refuse(s, exitFailed, "permission denied")
		return
	}
	if !p.isJob() {
		g.userPage(s, p)
		return
	}
	j, ex, err := g.enter(s.Context(), p)
	if err != nil {
		g.refuse(s, exitRefused, err.Error())
		return
	}
	g.log.Info("ssh session in job", "job", j.Ref(), "key_user", p.keyUser, "remote", s.RemoteAddr(), "command", s.RawCommand() != "")
	code, err := g.run(s, j, ex)
	if err != nil {
		g.log.Warn("ssh session in job failed", "job", j.Ref(), "user", p.keyUser, "err", err)
		g.refuse(s, exitFailed, fmt.Sprintf("could not run in job %s: %v", j.Ref(), err))
		return
	}
	_ = s.Exit(code)
}

// enter re-reads the principal's job and returns it with its executor if
// it may be entered now.
func (g *Gateway) enter(ctx context.Context, p *principal) (*api.Job, executor.Executor, error) {
	j, err := g.job(ctx, p.login.job)
	if err != nil {
		return nil, nil, fmt.Errorf("job %s: %w", p.login.job, err)
	}
	if j.User != p.job.User {
		return nil, nil, fmt.Errorf("job %s changed hands", j.Ref())
	}
	if err := g.enterable(j); err != nil {
		return nil, nil, err
	}
	ex, ok := g.execs[j.Executor]
	if !ok {
		return nil, nil, fmt.Errorf("job %s runs on executor %q, which this server does not drive", j.Ref(), j.Executor)
	}
	if err := waitStarted(ctx, ex, j); err != nil {
		return nil, nil, err
	}
	return j, ex, nil
}

// startWait is how long a session waits for the container of a job that
// is marked running to have started.
const startWait = 30 * time.Second

// waitStarted waits until the job's container runs: a job is marked
// running just before its container starts, and entering it in between
// must not fail.
func waitStarted(ctx context.Context, ex executor.Executor, j *api.Job) error {
	ctx, cancel := context.WithTimeout(ctx, startWait)
	defer cancel()
	delay := 20 * time.Millisecond
	for {
		st, err := ex.Inspect(ctx, j)
		switch {
		case err != nil && ctx.Err() == nil:
			return fmt.Errorf("job %s: inspect its container: %w", j.Ref(), err)
		case err == nil && (st.State == executor.StateRunning || st.State == executor.StatePaused):
			return nil
		case err == nil && st.State == executor.StateExited:
			return fmt.Errorf("job %s has ended: its files stay in %s", j.Ref(), j.Dir)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("job %s is marked running but its container has not started within %v: try again, or see gstat -j %s", j.Ref(), startWait, j.Ref())
		case <-t.C:
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

// run execs the session's command (or a login shell) in j's container and
// relays it until it ends: terminal, window size, signals, input, output
// and exit status. A client that hangs up sends the process SIGHUP.
func (g *Gateway) run(s ssh.Session, j *api.Job, ex executor.Executor) (int, error) {
	ctx := s.Context()
	pty, winch, tty := s.Pty()
	req := executor.ExecRequest{Cmd: loginShell, Env: clientEnv(s.Environ()), TTY: tty}
	if raw := s.RawCommand(); raw != "" {
		req.Cmd = []string{"/bin/sh", "-c", raw}
	}
	if tty {
		req.Env = append(req.Env, "TERM="+pty.Term)
		req.Rows, req.Cols = uint16(pty.Window.Height), uint16(pty.Window.Width)
	}

	// The exec outlives a dropped connection unless told: it gets its own
	// context, and SIGHUP when the client goes.
	execCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	proc, err := ex.Exec(execCtx, j, req)
	if err != nil {
		return 0, err
	}
	defer proc.Close()

	sigs := make(chan ssh.Signal, 4)
	s.Signals(sigs)
	defer s.Signals(nil)
	finished := make(chan struct{})
	go func() {
		for {
			select {
			case <-finished:
				return
			case <-ctx.Done(): // the client hung up
				g.hangUp(execCtx, j, proc, finished)
				return
			case sig := <-sigs:
				if n, ok := signals[sig]; ok {
					if err := proc.Signal(execCtx, n); err != nil {
						g.log.Debug("signal the process in the job", "job", j.Ref(), "signal", sig, "err", err)
					}
				}
			case w, ok := <-winch:
				if !ok {
					winch = nil
					continue
				}
				if err := proc.Resize(execCtx, uint16(w.Height), uint16(w.Width)); err != nil {
					g.log.Debug("resize the terminal in the job", "job", j.Ref(), "err", err)
				}
			}
		}
	}()
	defer close(finished)

	go func() {
		_, _ = io.Copy(proc.Stdin(), s)
		// End of input, without a terminal. With one, there is no end of
		// input (^D is a character), and Docker would close the output
		// too.
		if !tty {
			_ = proc.Stdin().Close()
		}
	}()
	var out sync.WaitGroup
	out.Go(func() { _, _ = io.Copy(s, proc.Stdout()) })
	out.Go(func() { _, _ = io.Copy(s.Stderr(), proc.Stderr()) })
	out.Wait()
	code, err := proc.Wait(execCtx)
	if err != nil {
		return 0, fmt.Errorf("wait for the process: %w", err)
	}
	return code, nil
}

// hangUpGrace is how long a process has to end after SIGHUP, once its
// client has gone, before it is killed.
const hangUpGrace = 10 * time.Second

// hangUp ends the process of a client that went away: SIGHUP, as a
// terminal's hang-up, then SIGKILL if it is still there after a grace.
func (g *Gateway) hangUp(ctx context.Context, j *api.Job, proc executor.Session, finished <-chan struct{}) {
	if err := proc.Signal(ctx, syscall.SIGHUP); err != nil {
		g.log.Debug("hang up the process in the job", "job", j.Ref(), "err", err)
	}
	t := time.NewTimer(hangUpGrace)
	defer t.Stop()
	select {
	case <-finished:
	case <-t.C:
		if err := proc.Signal(ctx, syscall.SIGKILL); err != nil {
			g.log.Debug("kill the process in the job", "job", j.Ref(), "err", err)
		}
	}
}

// signals are the SSH signal names passed on to the process.
var signals = map[ssh.Signal]syscall.Signal{
	ssh.SIGABRT: syscall.SIGABRT, ssh.SIGALRM: syscall.SIGALRM, ssh.SIGFPE: syscall.SIGFPE,
	ssh.SIGHUP: syscall.SIGHUP, ssh.SIGILL: syscall.SIGILL, ssh.SIGINT: syscall.SIGINT,
	ssh.SIGKILL: syscall.SIGKILL, ssh.SIGPIPE: syscall.SIGPIPE, ssh.SIGQUIT: syscall.SIGQUIT,
	ssh.SIGSEGV: syscall.SIGSEGV, ssh.SIGTERM: syscall.SIGTERM, ssh.SIGUSR1: syscall.SIGUSR1,
	ssh.SIGUSR2: syscall.SIGUSR2,
}

// clientEnv keeps the client's locale (OpenSSH's default SendEnv): the
// job's own environment is the container's, and nothing else a client
// sends may change it.
func clientEnv(env []string) []string {
	var keep []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if k == "LANG" || strings.HasPrefix(k, "LC_") {
			keep = append(keep, kv)
		}
	}
	return keep
}

// refuse ends the session with a message on stderr and an exit status.
func (g *Gateway) refuse(s ssh.Session, code int, msg string) {
	_, _ = io.WriteString(s.Stderr(), "godocker: "+msg+"\r\n")
	_ = s.Exit(code)
}

// refuseAgentAndX11 wraps the session channel handler so that agent and
// X11 forwarding requests are answered no (gliderlabs/ssh says yes to
// agent forwarding, though it opens no agent channel).
func refuseAgentAndX11(next ssh.ChannelHandler) ssh.ChannelHandler {
	return func(srv *ssh.Server, conn *gossh.ServerConn, ch gossh.NewChannel, ctx ssh.Context) {
		next(srv, conn, filteredChannel{ch}, ctx)
	}
}

type filteredChannel struct{ gossh.NewChannel }

func (f filteredChannel) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, reqs, err := f.NewChannel.Accept()
	if err != nil {
		return ch, reqs, err
	}
	out := make(chan *gossh.Request)
	go func() {
		defer close(out)
		for r := range reqs {
			switch r.Type {
			case "auth-agent-req@openssh.com", "x11-req":
				if r.WantReply {
					_ = r.Reply(false, nil)
				}
			default:
				out <- r
			}
		}
	}()
	return ch, out, nil
}
