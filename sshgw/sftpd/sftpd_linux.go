package sftpd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/sys/unix"
)

// self is the path the child is executed from: the very binary running now,
// even if the file it was loaded from has since been replaced or removed.
// Under `go test` this is the test binary, which is why the test's TestMain
// must call [Init].
const self = "/proc/self/exe"

// Init must be called first thing in main, before flags are parsed or
// anything else is started (and in TestMain of the packages whose tests
// start the child). When this process was started by [Command] as the SFTP
// child, Init serves SFTP on standard input and output and exits: status 0
// when the client closed the session, 1 on any error, which it reports in
// one line on standard error. Otherwise it returns at once.
func Init() {
	v, ok := os.LookupEnv(envMarker)
	if !ok {
		return
	}
	// From here on this process is the child, whatever else is wrong:
	// never return to the caller's main, which would run as root.
	if err := child(v, os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", childName, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Command returns the child that serves SFTP on its standard input and
// output, confined to dir and running as uid, gid and groups. The caller
// connects Stdin/Stdout to the SSH channel (sets cmd.Stdin and cmd.Stdout,
// or uses pipes), sets Stderr if it wants the child's complaints, and Starts
// it. ctx ends the child (see [exec.CommandContext]).
//
// dir must be an absolute path to a directory, not a symbolic link. The
// child chroots into it before dropping privileges, so the user needs no
// access to dir's parents, and it refuses to serve if dir is no longer the
// directory Command saw. groups are the supplementary groups; nil means
// none. The child's environment holds only its marker, and it creates files
// with umask 022.
//
// uid 0 is allowed, for jobs the site lets run as root: the child then
// keeps root's privileges inside the chroot. SFTP gives it no way to
// leave the directory, but inside it the client can do whatever root can to
// files (chown, setuid bits, reading others' files).
//
// Command starts nothing; its errors say what is wrong with the arguments.
func Command(ctx context.Context, dir string, uid, gid int, groups []int) (*exec.Cmd, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("sftpd: job dir %q is not an absolute path", dir)
	}
	dir = filepath.Clean(dir)
	if err := checkID("uid", uid); err != nil {
		return nil, err
	}
	if err := checkID("gid", gid); err != nil {
		return nil, err
	}
	gs := make([]string, len(groups))
	for i, g := range groups {
		if err := checkID("group", g); err != nil {
			return nil, err
		}
		gs[i] = strconv.Itoa(g)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("sftpd: job dir: %w", err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("sftpd: job dir %s is a symbolic link", dir)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("sftpd: job dir %s is not a directory", dir)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, fmt.Errorf("sftpd: job dir %s: no device and inode", dir)
	}

	cmd := exec.CommandContext(ctx, self,
		dir, strconv.Itoa(uid), strconv.Itoa(gid), strings.Join(gs, ","),
		strconv.FormatUint(st.Dev, 10), strconv.FormatUint(st.Ino, 10))
	cmd.Args[0] = childName
	cmd.Env = []string{envMarker + "=" + markerValue}
	cmd.Dir = "/"
	return cmd, nil
}

func checkID(what string, id int) error {
	if id < 0 || id > maxID {
		return fmt.Errorf("sftpd: %s %d out of range", what, id)
	}
	return nil
}

// job is what the child is told to serve.
type job struct {
	dir      string
	uid, gid int
	groups   []int
	dev, ino uint64 // of dir, as Command saw it
}

// parseArgs parses the child's arguments as Command wrote them, and
// nothing else: exact count, plain decimal numbers, a clean absolute dir.
func parseArgs(marker string, args []string) (job, error) {
	var j job
	if marker != markerValue {
		return j, fmt.Errorf("%s=%q: want %q", envMarker, marker, markerValue)
	}
	if len(args) != 7 || args[0] != childName {
		return j, fmt.Errorf("arguments %q: want %s DIR UID GID GROUPS DEV INO", args, childName)
	}
	j.dir = args[1]
	if !filepath.IsAbs(j.dir) || filepath.Clean(j.dir) != j.dir {
		return j, fmt.Errorf("dir %q is not a clean absolute path", j.dir)
	}
	var err error
	if j.uid, err = parseID("uid", args[2]); err != nil {
		return j, err
	}
	if j.gid, err = parseID("gid", args[3]); err != nil {
		return j, err
	}
	j.groups = []int{}
	if args[4] != "" {
		for g := range strings.SplitSeq(args[4], ",") {
			id, err := parseID("group", g)
			if err != nil {
				return j, err
			}
			j.groups = append(j.groups, id)
		}
	}
	if j.dev, err = strconv.ParseUint(args[5], 10, 64); err != nil {
		return j, fmt.Errorf("dev: %w", err)
	}
	if j.ino, err = strconv.ParseUint(args[6], 10, 64); err != nil {
		return j, fmt.Errorf("ino: %w", err)
	}
	return j, nil
}

// parseID parses a decimal uid or gid: digits only (ParseUint refuses
// signs and spaces), at most maxID.
func parseID(what, s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n > maxID {
		return 0, fmt.Errorf("%s %q is not a valid id", what, s)
	}
	return int(n), nil
}

// child confines this process to the job and serves SFTP. It returns an
// error, before serving anything, if any step of the confinement fails.
func child(marker string, args []string) error {
	j, err := parseArgs(marker, args)
	if err != nil {
		return err
	}
	// Load the local time zone while /etc/localtime is still reachable;
	// it is used for the long listing (ls -l) of directories.
	_ = time.Local.String()

	if err := confine(j); err != nil {
		return err
	}
	if err := drop(j); err != nil {
		return err
	}
	unix.Umask(0o022)

	// No working-directory option: the working directory is "/", the job
	// dir, and relative paths stay relative, so that relative symlink
	// targets are stored as given rather than made absolute.
	srv, err := sftp.NewServer(stdio{os.Stdin, os.Stdout})
	if err != nil {
		return fmt.Errorf("start sftp server: %w", err)
	}
	if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("serve sftp: %w", err)
	}
	return nil
}

// confine makes the job directory this process's root and working
// directory. It opens dir without following a symbolic link at its end and
// checks it is the directory Command saw (device and inode), so that a
// directory swapped in meanwhile (a rename, a symlink in a parent) is
// refused, then chroots into the open directory without resolving its path
// again.
func confine(j job) error {
	fd, err := unix.Open(j.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open job dir %s: %w", j.dir, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat job dir %s: %w", j.dir, err)
	}
	if st.Dev != j.dev || st.Ino != j.ino {
		return fmt.Errorf("job dir %s changed since the session was set up", j.dir)
	}
	// chroot and chdir apply to the whole process: Go's threads share
	// their file-system context (CLONE_FS).
	if err := unix.Fchdir(fd); err != nil {
		return fmt.Errorf("chdir to job dir %s: %w", j.dir, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot to job dir %s: %w", j.dir, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir to / in job dir %s: %w", j.dir, err)
	}
	if err := unix.Stat("/", &st); err != nil || st.Dev != j.dev || st.Ino != j.ino {
		return fmt.Errorf("chroot to job dir %s: / is not the job dir (%v)", j.dir, err)
	}
	return nil
}

// noNewPrivs sets no_new_privs, which is per thread, on every thread of
// the process. In a binary that links cgo, where that is not possible
// (AllThreadsSyscall returns ENOTSUP), it sets it on the calling thread,
// which then stays locked to the goroutine that serves: no_new_privs only
// matters to execve, which the child never calls.
func noNewPrivs() error {
	_, _, errno := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0)
	if errno == syscall.ENOTSUP {
		runtime.LockOSThread()
		return unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
	}
	if errno != 0 {
		return errno
	}
	return nil
}

// drop sets no_new_privs and switches every thread to the job's groups,
// gid and uid (real, effective and saved), then checks it cannot go back.
// It uses package syscall, whose set*id functions apply to all threads on
// Linux; x/sys/unix's Setgroups, for one, changes only the calling thread.
func drop(j job) error {
	if err := noNewPrivs(); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	if err := syscall.Setgroups(j.groups); err != nil {
		return fmt.Errorf("set groups %v: %w", j.groups, err)
	}
	if err := syscall.Setresgid(j.gid, j.gid, j.gid); err != nil {
		return fmt.Errorf("set gid %d: %w", j.gid, err)
	}
	if err := syscall.Setresuid(j.uid, j.uid, j.uid); err != nil {
		return fmt.Errorf("set uid %d: %w", j.uid, err)
	}

	if r, e, s := unix.Getresuid(); r != j.uid || e != j.uid || s != j.uid {
		return fmt.Errorf("set uid %d: still uid %d/%d/%d", j.uid, r, e, s)
	}
	if r, e, s := unix.Getresgid(); r != j.gid || e != j.gid || s != j.gid {
		return fmt.Errorf("set gid %d: still gid %d/%d/%d", j.gid, r, e, s)
	}
	got, err := syscall.Getgroups()
	if err != nil {
		return fmt.Errorf("get groups: %w", err)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(j.groups))
	if !slices.Equal(slices.Compact(got), slices.Compact(want)) {
		return fmt.Errorf("set groups %v: groups are %v", j.groups, got)
	}
	if j.uid != 0 {
		if err := syscall.Setuid(0); err == nil {
			return fmt.Errorf("set uid %d: could become root again", j.uid)
		}
		if err := syscall.Setgroups([]int{0}); err == nil {
			return fmt.Errorf("set uid %d: could set groups again", j.uid)
		}
	}
	if v, err := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); err != nil || v != 1 {
		return fmt.Errorf("no_new_privs is not set (%d, %v)", v, err)
	}
	return nil
}

// stdio is the child's end of the SSH channel.
type stdio struct {
	io.Reader
	io.WriteCloser
}
