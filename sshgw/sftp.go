package sshgw

import (
	"fmt"
	"strings"

	"github.com/gliderlabs/ssh"

	"github.com/godocker/godocker/sshgw/sftpd"
)

// sftp serves the sftp subsystem: the job's directory, as the job's user,
// with nothing outside it reachable (see package sftpd). The same rules
// as for a shell decide who may open it.
func (g *Gateway) sftp(s ssh.Session) {
	p, err := g.authorize(s.Context(), s.User(), s.PublicKey())
	if err != nil || !p.isJob() {
		g.refuse(s, exitFailed, "sftp opens a job's directory: sftp -P PORT job-ID@HOST")
		return
	}
	j, _, err := g.enter(s.Context(), p)
	if err != nil {
		g.refuse(s, exitRefused, err.Error())
		return
	}
	cmd, err := sftpd.Command(s.Context(), j.Dir, j.Run.UID, j.Run.GID, j.Run.Groups)
	if err != nil {
		g.log.Warn("sftp in job", "job", j.Ref(), "err", err)
		g.refuse(s, exitFailed, fmt.Sprintf("could not open the directory of job %s", j.Ref()))
		return
	}
	var complaints strings.Builder
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, &complaints
	g.log.Info("sftp in job", "job", j.Ref(), "key_user", p.keyUser, "remote", s.RemoteAddr())
	if err := cmd.Run(); err != nil && s.Context().Err() == nil {
		g.log.Warn("sftp server in job ended", "job", j.Ref(), "err", err, "stderr", complaints.String())
		_ = s.Exit(exitFailed)
		return
	}
	_ = s.Exit(0)
}
