//go:build linux

package sftpd_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godocker/godocker/sshgw/sftpd"
	"github.com/pkg/sftp"
	"golang.org/x/sys/unix"
)

// nobody is an unprivileged uid and gid that exist without creating users.
const nobody = 65534

func TestMain(m *testing.M) {
	sftpd.Init()
	os.Exit(m.Run())
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the SFTP child chroots and changes uid: run as root")
	}
}

// jobDir makes <tmp>/jobs/alice/123 owned by uid:gid, mode 0700, and
// returns it. Its parents stay root's, mode 0700: the child chroots as root
// and so needs no access to them as the user.
func jobDir(t *testing.T, uid, gid int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "jobs", "alice", "123")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	return dir
}

// session is a running child and an SFTP client talking to it.
type session struct {
	*sftp.Client
	cmd    *exec.Cmd
	stderr *bytes.Buffer
}

// start starts the child for dir and connects a client to it. Cleanup
// closes the client, which ends the child, and checks it exited cleanly.
func start(t *testing.T, dir string, uid, gid int, groups []int) *session {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd, err := sftpd.Command(ctx, dir, uid, gid, groups)
	if err != nil {
		cancel()
		t.Fatalf("Command: %v", err)
	}
	s := &session{cmd: cmd, stderr: new(bytes.Buffer)}
	cmd.Stderr = s.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.Client, err = sftp.NewClientPipe(stdout, stdin)
	if err != nil {
		cancel()
		_ = cmd.Wait()
		t.Fatalf("sftp handshake: %v; child stderr: %s", err, s.stderr)
	}
	t.Cleanup(func() {
		defer cancel()
		s.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("child: %v; stderr: %s", err, s.stderr)
		}
		if s.stderr.Len() > 0 {
			t.Errorf("child stderr: %s", s.stderr)
		}
	})
	return s
}

func writeFile(t *testing.T, name, data string, mode fs.FileMode, uid, gid int) {
	t.Helper()
	if err := os.WriteFile(name, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(name, uid, gid); err != nil {
		t.Fatal(err)
	}
}

func readRemote(c *sftp.Client, name string) (string, error) {
	f, err := c.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return string(b), err
}

func names(t *testing.T, c *sftp.Client, dir string) []string {
	t.Helper()
	fis, err := c.ReadDir(dir)
	if err != nil {
		t.Fatalf("ReadDir(%q): %v", dir, err)
	}
	var ns []string
	for _, fi := range fis {
		ns = append(ns, fi.Name())
	}
	slices.Sort(ns)
	return ns
}

func owner(t *testing.T, name string) (uid, gid uint32) {
	t.Helper()
	fi, err := os.Lstat(name)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return st.Uid, st.Gid
}

func TestFiles(t *testing.T) {
	needRoot(t)
	dir := jobDir(t, nobody, nobody)
	s := start(t, dir, nobody, nobody, nil)

	if wd, err := s.Getwd(); err != nil || wd != "/" {
		t.Errorf("Getwd = %q, %v; want /", wd, err)
	}

	// Upload: on the host, in the job dir, owned by the user.
	const data = "hello from the client\n"
	f, err := s.Create("hello.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	host := filepath.Join(dir, "hello.txt")
	if b, err := os.ReadFile(host); err != nil || string(b) != data {
		t.Fatalf("host %s = %q, %v; want %q", host, b, err, data)
	}
	if u, g := owner(t, host); u != nobody || g != nobody {
		t.Errorf("uploaded file owned by %d:%d, want %d:%d", u, g, nobody, nobody)
	}

	// Download, absolute and relative.
	for _, name := range []string{"hello.txt", "/hello.txt"} {
		if got, err := readRemote(s.Client, name); err != nil || got != data {
			t.Errorf("download %s = %q, %v; want %q", name, got, err, data)
		}
	}

	// List, mkdir, rename, remove.
	if got := names(t, s.Client, "/"); !slices.Equal(got, []string{"hello.txt"}) {
		t.Errorf("ls / = %q", got)
	}
	if err := s.Mkdir("sub"); err != nil {
		t.Fatal(err)
	}
	if u, g := owner(t, filepath.Join(dir, "sub")); u != nobody || g != nobody {
		t.Errorf("new dir owned by %d:%d", u, g)
	}
	if err := s.Rename("hello.txt", "sub/moved.txt"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "sub", "moved.txt")); err != nil {
		t.Errorf("after rename: %v", err)
	}
	if got := names(t, s.Client, "sub"); !slices.Equal(got, []string{"moved.txt"}) {
		t.Errorf("ls sub = %q", got)
	}
	if err := s.Remove("sub/moved.txt"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveDirectory("sub"); err != nil {
		t.Fatal(err)
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
		t.Errorf("job dir after removes: %v, %v", ents, err)
	}
}

func TestEscapes(t *testing.T) {
	needRoot(t)
	dir := jobDir(t, nobody, nobody)
	// A world-readable canary next to the job dir and one above it: if a
	// path got out, the user could read them.
	outside := filepath.Join(filepath.Dir(dir), "outside.txt")
	writeFile(t, outside, "outside", 0o644, 0, 0)
	above := filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(dir))), "above.txt")
	writeFile(t, above, "above", 0o644, 0, 0)

	writeFile(t, filepath.Join(dir, "mine.txt"), "mine", 0o644, nobody, nobody)
	writeFile(t, filepath.Join(dir, "rootonly"), "secret", 0o600, 0, 0)
	if err := os.Mkdir(filepath.Join(dir, "rootdir"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"shadow":   "/etc/shadow",
		"passwd":   "/etc/passwd",
		"sibling":  outside,
		"relative": "../outside.txt",
		"up":       "../../../above.txt",
	} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}

	s := start(t, dir, nobody, nobody, nil)

	// Every way out is not found: the names resolve inside the job dir.
	for _, name := range []string{
		"../../etc/passwd", "/etc/passwd", "../../../../../../etc/shadow",
		"../outside.txt", "/../outside.txt", outside, above, "../../../above.txt",
		"shadow", "passwd", "sibling", "relative", "up",
	} {
		got, err := readRemote(s.Client, name)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("read %s = %q, %v; want not found", name, got, err)
		}
	}
	for _, name := range []string{"..", "../..", "/..", "/../../.."} {
		if got := names(t, s.Client, name); !slices.Contains(got, "mine.txt") || slices.Contains(got, "outside.txt") {
			t.Errorf("ls %s = %q; want the job dir", name, got)
		}
	}
	if p, err := s.RealPath("../../.."); err != nil || p != "/" {
		t.Errorf("realpath ../../.. = %q, %v; want /", p, err)
	}

	// /etc/passwd is the job dir's own, when there is one.
	if err := os.Mkdir(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "etc", "passwd"), "inside", 0o644, 0, 0)
	for _, name := range []string{"/etc/passwd", "../../etc/passwd", "passwd"} {
		if got, err := readRemote(s.Client, name); err != nil || got != "inside" {
			t.Errorf("read %s = %q, %v; want the job dir's etc/passwd", name, got, err)
		}
	}

	// Symlinks made through SFTP stay inside too, whatever they say.
	if err := s.Symlink("/", "root"); err != nil {
		t.Fatal(err)
	}
	if err := s.Symlink("../../../..", "parent"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"root", "parent", "root/root/parent"} {
		if got := names(t, s.Client, name); !slices.Contains(got, "mine.txt") || slices.Contains(got, "outside.txt") {
			t.Errorf("ls %s = %q; want the job dir", name, got)
		}
	}
	if got, err := readRemote(s.Client, "parent/outside.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("read parent/outside.txt = %q, %v; want not found", got, err)
	}
	// The targets are stored as given (relative ones stay relative).
	if got, err := os.Readlink(filepath.Join(dir, "parent")); err != nil || got != "../../../.." {
		t.Errorf("host readlink parent = %q, %v", got, err)
	}

	// The kernel checks permissions as the user.
	if got, err := readRemote(s.Client, "rootonly"); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("read root's 0600 file = %q, %v; want permission denied", got, err)
	}
	if _, err := s.ReadDir("rootdir"); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("ls root's 0700 dir: %v; want permission denied", err)
	}
	if err := s.Chown("mine.txt", 0, 0); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("chown to root: %v; want permission denied", err)
	}
	if err := s.Remove("etc/passwd"); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("remove root's file in root's dir: %v; want permission denied", err)
	}
	if err := s.Chmod("rootonly", 0o644); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("chmod root's file: %v; want permission denied", err)
	}
	if err := s.Link("rootonly", "stolen"); err == nil {
		if got, err := readRemote(s.Client, "stolen"); !errors.Is(err, fs.ErrPermission) {
			t.Errorf("read hard link to root's file = %q, %v; want permission denied", got, err)
		}
	}
	// Nothing outside changed.
	for name, want := range map[string]string{outside: "outside", above: "above"} {
		if b, err := os.ReadFile(name); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v", name, b, err)
		}
	}
}

// TestIdentity looks at the child from outside, through /proc, while the
// session is open: every thread runs as the user, with no capabilities.
func TestIdentity(t *testing.T) {
	needRoot(t)
	dir := jobDir(t, nobody, nobody)
	s := start(t, dir, nobody, nobody, []int{100, nobody})
	// The child answers only once it has dropped privileges.
	if _, err := s.Getwd(); err != nil {
		t.Fatal(err)
	}
	pid := s.cmd.Process.Pid
	proc := "/proc/" + strconv.Itoa(pid)

	if root, err := os.Readlink(proc + "/root"); err != nil || root != dir {
		t.Errorf("child root = %q, %v; want %s", root, err, dir)
	}
	env, err := os.ReadFile(proc + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimSuffix(string(env), "\x00"), "\x00"); len(got) != 1 {
		t.Errorf("child environment = %q; want only the marker", got)
	}

	tasks, err := os.ReadDir(proc + "/task")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Uid":    "65534\t65534\t65534\t65534",
		"Gid":    "65534\t65534\t65534\t65534",
		"Groups": "100 65534",
		"CapPrm": "0000000000000000",
		"CapEff": "0000000000000000",
	}
	nnp := 0
	for _, task := range tasks {
		status, err := os.ReadFile(proc + "/task/" + task.Name() + "/status")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for line := range strings.Lines(string(status)) {
			k, v, _ := strings.Cut(strings.TrimSuffix(line, "\n"), ":")
			if _, ok := want[k]; ok {
				got[k] = strings.TrimSpace(v)
			}
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("thread %s: %s: %q, want %q", task.Name(), k, got[k], v)
			}
		}
		if strings.Contains(string(status), "\nNoNewPrivs:\t1\n") {
			nnp++
		}
	}
	// no_new_privs is per thread; the child sets it on all of them unless
	// the binary links cgo (as under -race), and then on the serving one.
	if _, _, errno := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_GET_NO_NEW_PRIVS, 0, 0); errno == syscall.ENOTSUP {
		if nnp == 0 {
			t.Errorf("no thread has NoNewPrivs set")
		}
	} else if nnp != len(tasks) {
		t.Errorf("%d of %d threads have NoNewPrivs set", nnp, len(tasks))
	}
}

// TestRootJob: uid 0 is allowed (for jobs the site lets run as root) and is
// still confined to the job dir.
func TestRootJob(t *testing.T) {
	needRoot(t)
	dir := jobDir(t, 0, 0)
	s := start(t, dir, 0, 0, nil)
	f, err := s.Create("out")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if u, g := owner(t, filepath.Join(dir, "out")); u != 0 || g != 0 {
		t.Errorf("file owned by %d:%d, want 0:0", u, g)
	}
	if got, err := readRemote(s.Client, "../../../../etc/passwd"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("read ../../../../etc/passwd = %q, %v; want not found", got, err)
	}
}

func TestCommandRefuses(t *testing.T) {
	needRoot(t)
	dir := jobDir(t, nobody, nobody)
	link := filepath.Join(filepath.Dir(dir), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(filepath.Dir(dir), "file")
	writeFile(t, file, "", 0o644, 0, 0)
	rel, err := filepath.Rel("/", dir)
	if err != nil {
		t.Fatal(err)
	}

	for name, tc := range map[string]struct {
		dir           string
		uid, gid      int
		groups        []int
		wantErrSubstr string
	}{
		"relative":    {dir: rel, uid: nobody, gid: nobody, wantErrSubstr: "not an absolute path"},
		"dot":         {dir: ".", uid: nobody, gid: nobody, wantErrSubstr: "not an absolute path"},
		"missing":     {dir: dir + "/nope", uid: nobody, gid: nobody, wantErrSubstr: "no such file"},
		"symlink":     {dir: link, uid: nobody, gid: nobody, wantErrSubstr: "symbolic link"},
		"file":        {dir: file, uid: nobody, gid: nobody, wantErrSubstr: "not a directory"},
		"uid -1":      {dir: dir, uid: -1, gid: nobody, wantErrSubstr: "uid -1"},
		"gid -1":      {dir: dir, uid: nobody, gid: -1, wantErrSubstr: "gid -1"},
		"uid 2^32-1":  {dir: dir, uid: 1<<32 - 1, gid: nobody, wantErrSubstr: "uid 4294967295"},
		"group -5":    {dir: dir, uid: nobody, gid: nobody, groups: []int{100, -5}, wantErrSubstr: "group -5"},
		"group 2^32":  {dir: dir, uid: nobody, gid: nobody, groups: []int{1 << 32}, wantErrSubstr: "group 4294967296"},
		"empty dir":   {dir: "", uid: nobody, gid: nobody, wantErrSubstr: "not an absolute path"},
		"dotdot file": {dir: dir + "/../file", uid: nobody, gid: nobody, wantErrSubstr: "not a directory"},
	} {
		t.Run(name, func(t *testing.T) {
			cmd, err := sftpd.Command(t.Context(), tc.dir, tc.uid, tc.gid, tc.groups)
			if err == nil || !strings.Contains(err.Error(), tc.wantErrSubstr) {
				t.Errorf("Command(%q, %d, %d, %v) = %v; want an error containing %q", tc.dir, tc.uid, tc.gid, tc.groups, err, tc.wantErrSubstr)
			}
			if cmd != nil {
				t.Errorf("Command returned a command with its error")
			}
		})
	}
}

// run runs cmd with no input and returns its output, complaints and exit
// error.
func run(t *testing.T, cmd *exec.Cmd) (stdout, stderr string, err error) {
	t.Helper()
	var out, errs bytes.Buffer
	cmd.Stdin = strings.NewReader("")
	cmd.Stdout, cmd.Stderr = &out, &errs
	cmd.WaitDelay = 10 * time.Second
	err = cmd.Run()
	return out.String(), errs.String(), err
}

// TestFailClosed: a child that cannot set itself up exactly as told serves
// nothing and exits non-zero with one line on stderr.
func TestFailClosed(t *testing.T) {
	needRoot(t)

	t.Run("swapped", func(t *testing.T) {
		// The job dir is replaced between Command and Start.
		dir := jobDir(t, nobody, nobody)
		cmd, err := sftpd.Command(t.Context(), dir, nobody, nobody, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(dir, dir+".old"); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		checkFailed(t, cmd, "changed")
	})

	t.Run("symlinked", func(t *testing.T) {
		// The job dir becomes a symlink to / between Command and Start.
		dir := jobDir(t, nobody, nobody)
		cmd, err := sftpd.Command(t.Context(), dir, nobody, nobody, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/", dir); err != nil {
			t.Fatal(err)
		}
		checkFailed(t, cmd, "open job dir")
	})

	// The child's arguments are parsed strictly.
	dir := jobDir(t, nobody, nobody)
	good, err := sftpd.Command(t.Context(), dir, nobody, nobody, []int{100})
	if err != nil {
		t.Fatal(err)
	}
	args := good.Args
	for name, tc := range map[string]struct {
		env  string
		edit func([]string) []string
		want string
	}{
		"marker":  {env: "_GODOCKER_SFTPD=2", want: "_GODOCKER_SFTPD"},
		"missing": {edit: func(a []string) []string { return a[:len(a)-1] }, want: "arguments"},
		"extra":   {edit: func(a []string) []string { return append(a, "x") }, want: "arguments"},
		"argv0":   {edit: func(a []string) []string { a[0] = "sh"; return a }, want: "arguments"},
		"reldir":  {edit: func(a []string) []string { a[1] = a[1][1:]; return a }, want: "absolute"},
		"unclean": {edit: func(a []string) []string { a[1] += "/."; return a }, want: "absolute"},
		"uid +":   {edit: func(a []string) []string { a[2] = "+65534"; return a }, want: "uid"},
		"uid -1":  {edit: func(a []string) []string { a[2] = "-1"; return a }, want: "uid"},
		"uid max": {edit: func(a []string) []string { a[2] = "4294967295"; return a }, want: "uid"},
		"uid hex": {edit: func(a []string) []string { a[2] = "0x10"; return a }, want: "uid"},
		"gid":     {edit: func(a []string) []string { a[3] = " 1"; return a }, want: "gid"},
		"groups":  {edit: func(a []string) []string { a[4] = "100,"; return a }, want: "group"},
		"ino":     {edit: func(a []string) []string { a[6] = "1"; return a }, want: "changed"},
	} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), good.Path)
			cmd.Args = slices.Clone(args)
			if tc.edit != nil {
				cmd.Args = tc.edit(cmd.Args)
			}
			cmd.Env = slices.Clone(good.Env)
			if tc.env != "" {
				cmd.Env = []string{tc.env}
			}
			checkFailed(t, cmd, tc.want)
		})
	}
}

func checkFailed(t *testing.T, cmd *exec.Cmd, want string) {
	t.Helper()
	stdout, stderr, err := run(t, cmd)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("child exit: %v; want status 1", err)
	}
	if stdout != "" {
		t.Errorf("child wrote %q to stdout", stdout)
	}
	if !strings.HasPrefix(stderr, "godocker-sftpd: ") || !strings.Contains(stderr, want) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("child stderr = %q; want one line about %q", stderr, want)
	}
}

// TestCancel: ending ctx ends the child.
func TestCancel(t *testing.T) {
	needRoot(t)
	dir := jobDir(t, nobody, nobody)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd, err := sftpd.Command(ctx, dir, nobody, nobody, nil)
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c, err := sftp.NewClientPipe(stdout, stdin)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := cmd.Wait(); err == nil {
		t.Error("child exited cleanly after cancel; want killed")
	}
	if _, err := c.Getwd(); err == nil {
		t.Error("session still answers after cancel")
	}
	c.Close()
}
