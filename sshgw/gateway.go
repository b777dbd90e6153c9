// Package sshgw is GoDocker's SSH gateway: one SSH endpoint that routes by
// user name into jobs' containers through the executor's exec, so that
// images need no sshd and nobody reads a mapped port.
//
//	ssh -p 2222 job-123@HOST            a login shell in job 123, as its user
//	ssh -p 2222 job-123@HOST CMD        CMD, its output and exit status
//	ssh -p 2222 -L 8888:localhost:8888 job-123@HOST   port 8888 inside the job
//	sftp -P 2222 job-123@HOST           the job's directory
//	ssh -p 2222 alice@HOST              gtop as alice (no terminal: her jobs)
//
// Users authenticate with a public key of theirs (gctl key add, or their
// authorized_keys where the site allows). A key opens only its owner's
// jobs (and, if the site allows, every job for an admin's key), and only
// running interactive ones unless batch jobs are allowed too. Passwords,
// keyboard-interactive, remote forwarding, agent and X11 forwarding are
// refused.
package sshgw

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/store"
)

// Config is what the gateway needs of godockerd's configuration.
type Config struct {
	// HostKey is the private host key's file, generated on first use.
	HostKey string
	// Address is where users ssh to (HOST:PORT), for the texts that say
	// how to enter a job.
	Address string
	// AuthorizedKeys is the file in a user's home whose keys are the
	// user's too ("" : registered keys only).
	AuthorizedKeys string
	// Admins lets the keys of admins open every job.
	Admins bool
	// AdminUsers are the admins (root always is one).
	AdminUsers []string
	// BatchJobs lets users enter running batch jobs, not only
	// interactive ones.
	BatchJobs bool
	// Dashboard, if set, is what ssh USER@HOST opens in a terminal (gtop,
	// acting as user); without a terminal, or without Dashboard, the user
	// gets a short list of their jobs.
	Dashboard Dashboard
}

// Dashboard runs a full-screen application for user on t until the user
// quits it or ctx ends (the client went away).
type Dashboard func(ctx context.Context, user string, t Terminal) error

// Terminal is an SSH session's terminal.
type Terminal struct {
	In  io.Reader
	Out io.Writer
	// Env is the terminal's environment: TERM, and the client's LANG,
	// LC_*, COLORTERM and NO_COLOR.
	Env    []string
	Size   Size
	Resize <-chan Size // the client's window changes; closed at the end
}

// Size is a terminal's size in cells.
type Size struct{ Width, Height int }

// Store is what the gateway reads: jobs and registered keys.
type Store interface {
	Job(ctx context.Context, id int64) (*api.Job, error)
	Jobs(ctx context.Context, q store.Query) ([]*api.Job, error)
	Keys(ctx context.Context, user string) ([]*api.Key, error)
}

// Gateway is the SSH gateway.
type Gateway struct {
	cfg   Config
	store Store
	execs map[string]executor.Executor
	log   *slog.Logger
	srv   *ssh.Server
}

// New builds a gateway over st and execs (by name), loading its host key
// or generating it the first time.
func New(cfg Config, st Store, execs map[string]executor.Executor, log *slog.Logger) (*Gateway, error) {
	signer, err := hostKey(cfg.HostKey)
	if err != nil {
		return nil, err
	}
	g := &Gateway{cfg: cfg, store: st, execs: execs, log: log}
	g.srv = &ssh.Server{
		Version:          "GoDocker",
		Handler:          g.session,
		PublicKeyHandler: g.publicKey,
		// Refused: passwords and keyboard-interactive (no handlers),
		// remote forwarding (no callback), agent and X11 (filtered
		// from sessions).
		LocalPortForwardingCallback: g.mayForward,
		ChannelHandlers: map[string]ssh.ChannelHandler{
			"session":      refuseAgentAndX11(ssh.DefaultSessionHandler),
			"direct-tcpip": g.directTCPIP,
		},
		SubsystemHandlers: map[string]ssh.SubsystemHandler{"sftp": g.sftp},
		// A connection that has not authenticated within a minute is
		// dropped; an authenticated one may idle (a shell in a job).
		ServerConfigCallback: func(ssh.Context) *gossh.ServerConfig {
			return &gossh.ServerConfig{MaxAuthTries: 6}
		},
		ConnCallback: func(ctx ssh.Context, c net.Conn) net.Conn {
			_ = c.SetDeadline(time.Now().Add(authTimeout))
			ctx.SetValue(connKey{}, c)
			return c
		},
		ConnectionFailedCallback: func(c net.Conn, err error) {
			log.Debug("ssh connection failed", "remote", c.RemoteAddr(), "err", err)
		},
	}
	g.srv.AddHostKey(signer)
	return g, nil
}

// authTimeout is how long a connection may take to authenticate.
const authTimeout = time.Minute

// connKey holds a connection's net.Conn in its context, to lift the
// authentication deadline once the user is known.
type connKey struct{}

// Serve answers SSH connections on ln until ctx ends.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			g.srv.Close()
		case <-done:
		}
	}()
	g.log.Info("ssh gateway listening", "addr", ln.Addr().String())
	err := g.srv.Serve(ln)
	if errors.Is(err, ssh.ErrServerClosed) || ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("ssh gateway: %w", err)
}

// hostKey loads the host key at path, or generates an ed25519 key there
// (mode 0600) when there is none yet.
func hostKey(path string) (gossh.Signer, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if b, err = newHostKey(path); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("read ssh host key: %w", err)
	}
	s, err := gossh.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("ssh host key %s: %w", path, err)
	}
	return s, nil
}

func newHostKey(path string) ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ssh host key: %w", err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "godocker ssh gateway")
	if err != nil {
		return nil, fmt.Errorf("encode ssh host key: %w", err)
	}
	b := pem.EncodeToMemory(block)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create ssh host key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create ssh host key: %w", err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("write ssh host key: %w", err)
	}
	return b, nil
}
