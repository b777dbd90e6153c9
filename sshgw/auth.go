package sshgw

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/user"
	"slices"
	"time"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
)

// errDenied is every refusal the client sees: it learns nothing about
// which jobs or users exist.
var errDenied = errors.New("permission denied")

// principal is an authorised login: whose key it is and what it opens.
type principal struct {
	login
	keyUser string   // the user whose key was accepted
	job     *api.Job // for a job login, as read at authorisation
}

// publicKey is the SSH public key check: key must open login.
func (g *Gateway) publicKey(ctx ssh.Context, key ssh.PublicKey) bool {
	p, err := g.authorize(ctx, ctx.User(), key)
	if err != nil {
		if !errors.Is(err, errDenied) {
			g.log.Warn("ssh authentication failed", "login", ctx.User(), "remote", ctx.RemoteAddr(), "err", err)
		}
		return false
	}
	if c, ok := ctx.Value(connKey{}).(net.Conn); ok {
		_ = c.SetDeadline(time.Time{})
	}
	g.log.Debug("ssh key accepted", "login", ctx.User(), "key_user", p.keyUser, "fingerprint", gossh.FingerprintSHA256(key))
	return true
}

// authorize decides whether key opens the login name: a job's owner's
// key (or an admin's, if the site allows) opens the job; a user's key
// opens the user's page. It is asked at authentication and again, with
// the key that actually signed, when a session or channel opens.
func (g *Gateway) authorize(ctx context.Context, name string, key gossh.PublicKey) (*principal, error) {
	if key == nil {
		return nil, errDenied
	}
	l, err := parseLogin(name)
	if err != nil {
		return nil, errDenied
	}
	if !l.isJob() {
		u, err := user.Lookup(l.user)
		if err != nil {
			return nil, errDenied
		}
		if ok, err := g.ownsKey(ctx, u, key); err != nil || !ok {
			return nil, denied(err)
		}
		return &principal{login: l, keyUser: u.Username}, nil
	}
	j, err := g.job(ctx, l.job)
	if err != nil {
		return nil, denied(err)
	}
	candidates := []string{j.User}
	if g.cfg.Admins {
		for _, a := range append([]string{"root"}, g.cfg.AdminUsers...) {
			if !slices.Contains(candidates, a) {
				candidates = append(candidates, a)
			}
		}
	}
	for _, name := range candidates {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		ok, err := g.ownsKey(ctx, u, key)
		if err != nil {
			return nil, err
		}
		if ok {
			return &principal{login: l, keyUser: name, job: j}, nil
		}
	}
	return nil, errDenied
}

// denied turns a lookup's failure into a refusal: not found is plain
// denial, anything else is kept for the log.
func denied(err error) error {
	if err == nil || errors.Is(err, store.ErrNotFound) {
		return errDenied
	}
	return err
}

// job reads the job or array task ref.
func (g *Gateway) job(ctx context.Context, ref api.JobRef) (*api.Job, error) {
	if ref.Task == 0 {
		j, err := g.store.Job(ctx, ref.ID)
		if err != nil {
			return nil, fmt.Errorf("read job %d: %w", ref.ID, err)
		}
		return j, nil
	}
	jobs, err := g.store.Jobs(ctx, store.Query{Arrays: []int64{ref.ID}, Tasks: []int64{ref.Task}, Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("read task %s: %w", ref, err)
	}
	if len(jobs) == 0 {
		return nil, store.ErrNotFound
	}
	return jobs[0], nil
}

// enterable says why a job cannot be entered now, or nil.
func (g *Gateway) enterable(j *api.Job) error {
	ref := j.Ref()
	switch {
	case j.Spec.Array != nil && j.ArrayID == 0:
		return fmt.Errorf("job %s is an array: enter one of its tasks, job-%s.TASK (gstat -j %s lists them)", ref, ref, ref)
	case j.State == api.Pending || j.State == api.Held:
		msg := fmt.Sprintf("job %s has not started yet (%s)", ref, j.State)
		if j.Reason.Message != "" {
			msg += ": " + j.Reason.Message
		}
		return errors.New(msg + "; ssh again once gstat shows it running")
	case j.State == api.Suspended:
		return fmt.Errorf("job %s is suspended: gctl resume %s, then ssh again", ref, ref)
	case j.State != api.Running || j.Deleting:
		return fmt.Errorf("job %s has ended (%s): its files stay in %s", ref, j.State, j.Dir)
	case !j.Spec.Interactive && !g.cfg.BatchJobs:
		return fmt.Errorf("job %s is a batch job: only interactive jobs (gsub -I) may be entered here", ref)
	case j.Run == nil:
		return fmt.Errorf("job %s has no execution recorded", ref)
	}
	return nil
}
