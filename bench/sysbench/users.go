package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/client"
)

// account is a Unix user who submits jobs.
type account struct {
	name     string
	uid, gid int
	groups   []uint32
	home     string
}

// ensureAccount looks the user up, creating it as the e2e tests do when
// it is missing.
func ensureAccount(ctx context.Context, name string) (account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		out, aerr := exec.CommandContext(ctx, "useradd", "--create-home", "--shell", "/bin/sh", name).CombinedOutput()
		if aerr != nil {
			return account{}, fmt.Errorf("useradd %s: %v: %s", name, aerr, bytes.TrimSpace(out))
		}
		if u, err = user.Lookup(name); err != nil {
			return account{}, fmt.Errorf("look up %s: %w", name, err)
		}
	}
	a := account{name: name, home: u.HomeDir}
	a.uid, _ = strconv.Atoi(u.Uid)
	a.gid, _ = strconv.Atoi(u.Gid)
	ids, _ := u.GroupIds()
	for _, g := range ids {
		n, _ := strconv.Atoi(g)
		a.groups = append(a.groups, uint32(n))
	}
	return a, nil
}

// env is the environment the commands run with as a.
func (a account) env(socket string) []string {
	return []string{
		"GODOCKER_SOCKET=" + socket, "HOME=" + a.home, "USER=" + a.name, "LOGNAME=" + a.name,
		"SHELL=/bin/sh", "PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C", "TZ=UTC",
	}
}

// spec is the job `gsub -b y CMD...` submits when a runs it in its home.
func (a account) spec(cmd ...string) api.Spec {
	host, _ := os.Hostname()
	return api.Spec{
		Name:       filepath.Base(cmd[0]),
		Command:    cmd,
		SubmitDir:  a.home,
		SubmitHost: host,
		SubmitEnv: map[string]string{
			"HOME": a.home, "PATH": "/usr/local/bin:/usr/bin:/bin", "LOGNAME": a.name, "USER": a.name, "SHELL": "/bin/sh",
		},
	}
}

// client is a new client (its own connections) of s acting as a.
func (a account) client(s *server) *client.Client { return client.New(s.socket).As(a.name) }

// shell runs script with bash as a, through runuser, in a's home with
// GODOCKER_SOCKET set to s's and BIN the commands' directory, and returns
// its standard output. The script times itself (EPOCHREALTIME) so that
// runuser's own start is not counted.
func (b *bench) shell(ctx context.Context, a account, s *server, timeout time.Duration, script string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	full := "set -u\ncd ~ || exit 1\nexport GODOCKER_SOCKET=" + s.socket + "\nBIN=" + b.bin + "\n" + script
	cmd := groupCommand(ctx, "runuser", "-u", a.name, "--", "bash", "-c", full)
	cmd.Env = a.env(s.socket)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return "", fmt.Errorf("shell as %s did not finish within %v: %s", a.name, timeout, lastLines(errb.String(), 10))
	case err != nil:
		return "", fmt.Errorf("shell as %s: %v: %s", a.name, err, lastLines(errb.String(), 10))
	}
	return out.String(), nil
}

// groupCommand is exec.CommandContext in a process group of its own,
// all of which the end of ctx kills (a shell's children too).
func groupCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd
}

// run runs one of the commands as a (directly, with a's credentials) and
// returns its standard output.
func (b *bench) run(ctx context.Context, a account, s *server, timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(b.bin, name), args...)
	cmd.Dir = a.home
	cmd.Env = a.env(s.socket)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid), Groups: a.groups}}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("did not finish within %v", timeout)
		}
		return "", fmt.Errorf("%s %s as %s: %v: %s", name, abbreviate(args), a.name, err, lastLines(errb.String(), 10))
	}
	return out.String(), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// abbreviate shortens a long argument list for an error message.
func abbreviate(args []string) string {
	if len(args) > 6 {
		return strings.Join(args[:5], " ") + fmt.Sprintf(" … (%d arguments)", len(args))
	}
	return strings.Join(args, " ")
}

// epochPair parses two of bash's $EPOCHREALTIME values and returns the
// time between them in milliseconds.
func epochPair(start, end string) (float64, error) {
	s, err1 := strconv.ParseFloat(start, 64)
	e, err2 := strconv.ParseFloat(end, 64)
	if err1 != nil || err2 != nil || e < s {
		return 0, fmt.Errorf("bad timing %q %q from the shell", start, end)
	}
	return (e - s) * 1000, nil
}
