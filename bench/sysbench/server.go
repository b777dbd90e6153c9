package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/godocker/godocker/client"
)

// Roles a server is started with.
const (
	apiOnly = "api" // accepts and lists jobs, runs none
	allRole = ""    // every role: the scheduler runs jobs
)

const (
	readyTimeout = 30 * time.Second // for godockerd to answer
	stopTimeout  = 30 * time.Second // for it to exit after SIGTERM
)

// server is one godockerd on a state directory of its own.
type server struct {
	b       *bench
	name    string
	dir     string
	config  string
	socket  string
	logPath string

	cmd       *exec.Cmd
	exited    chan struct{}  // closed when cmd has exited
	api       *client.Client // as root: an admin
	discarded bool
}

// serverConfig is what a benchmark's godockerd is configured with,
// beyond what every one has.
type serverConfig struct {
	// cpus > 0 sets the docker executor's capacity.
	cpus int
	// sync, if set, is store.sync.
	sync string
}

// newServer prepares a directory and a configuration for a godockerd.
// It is not started.
func (b *bench) newServer(name string, sc serverConfig) (*server, error) {
	b.serial++
	dir := filepath.Join(b.tmp, fmt.Sprintf("srv%02d-%s", b.serial, name))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create the server directory: %w", err)
	}
	// Users reach the socket and their job directories through it.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	s := &server{
		b: b, name: name, dir: dir,
		config:  filepath.Join(dir, "godocker.yaml"),
		socket:  filepath.Join(dir, "godockerd.sock"),
		logPath: filepath.Join(dir, "godockerd.log"),
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "state_dir: %s/state\nshared_dir: %s/jobs\nsocket: %s\nlog_level: warn\n", dir, dir, s.socket)
	cfg.WriteString("ssh_gateway:\n  listen: \"\"\nscheduler:\n  interval: 2s\nexecutors:\n  - name: docker\n    type: docker\n")
	if sc.cpus > 0 {
		fmt.Fprintf(&cfg, "    cpus: %d\n", sc.cpus)
	}
	if sc.sync != "" {
		fmt.Fprintf(&cfg, "store:\n  sync: %s\n", sc.sync)
	}
	if err := os.WriteFile(s.config, []byte(cfg.String()), 0o644); err != nil {
		return nil, fmt.Errorf("write the server configuration: %w", err)
	}
	s.api = client.New(s.socket)
	b.servers = append(b.servers, s)
	return s, nil
}

// startServer prepares and starts a server in one step.
func (b *bench) startServer(ctx context.Context, name string, sc serverConfig, roles string) (*server, error) {
	s, err := b.newServer(name, sc)
	if err != nil {
		return nil, err
	}
	if err := s.start(ctx, roles); err != nil {
		_ = s.discard(ctx) // err has the end of its log
		return nil, err
	}
	return s, nil
}

// start runs godockerd with roles (allRole: all of them) and waits until
// it answers.
func (s *server) start(ctx context.Context, roles string) error {
	if s.cmd != nil {
		return fmt.Errorf("godockerd %s is already running", s.name)
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open the godockerd log: %w", err)
	}
	defer logf.Close() // the child has its own descriptor
	fmt.Fprintf(logf, "=== sysbench: start godockerd (roles %q) at %s\n", roles, time.Now().UTC().Format(time.RFC3339Nano))
	args := []string{"--config", s.config}
	if roles != allRole {
		args = append(args, "--roles", roles)
	}
	cmd := exec.Command(filepath.Join(s.b.bin, "godockerd"), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: an interrupt of the benchmark reaches it
	// through our stop, in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start godockerd: %w", err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(s.exited)

	deadline := time.Now().Add(readyTimeout)
	for {
		actx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := s.api.Whoami(actx)
		cancel()
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case s.hasExited():
			s.cmd = nil
			return fmt.Errorf("godockerd %s exited at start-up (%v)%s", s.name, cmd.ProcessState, s.logTail())
		case time.Now().After(deadline):
			return fmt.Errorf("godockerd %s did not answer within %v: %v%s", s.name, readyTimeout, err, s.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *server) hasExited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// pid is the running godockerd's process id.
func (s *server) pid() int { return s.cmd.Process.Pid }

// stop sends SIGTERM and waits for godockerd to exit.
func (s *server) stop() error {
	if s.cmd == nil {
		return nil
	}
	defer func() { s.cmd = nil }()
	if s.hasExited() {
		return fmt.Errorf("godockerd %s had exited by itself (%v)%s", s.name, s.cmd.ProcessState, s.logTail())
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		if st := s.cmd.ProcessState; st != nil && !st.Success() {
			return fmt.Errorf("godockerd %s exited with %v after SIGTERM%s", s.name, st, s.logTail())
		}
		return nil
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("godockerd %s did not exit within %v of SIGTERM (killed)%s", s.name, stopTimeout, s.logTail())
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() error {
	if s.cmd == nil {
		return fmt.Errorf("godockerd %s is not running", s.name)
	}
	defer func() { s.cmd = nil }()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill -9 godockerd: %w", err)
	}
	select {
	case <-s.exited:
		return nil
	case <-time.After(stopTimeout):
		return fmt.Errorf("godockerd %s still there %v after SIGKILL", s.name, stopTimeout)
	}
}

// discard stops the server, notes what its log said, removes its
// containers and, unless -keep, its directory; once. The first error is
// returned; the clean-up goes on regardless.
func (s *server) discard(ctx context.Context) error {
	if s.discarded {
		return nil
	}
	s.discarded = true
	err := s.stop()
	s.b.scanLog(s)
	if cerr := s.b.removeContainers(ctx, s.dir); cerr != nil && err == nil {
		err = cerr
	}
	if !s.b.opts.keep {
		if rerr := os.RemoveAll(s.dir); rerr != nil && err == nil {
			err = fmt.Errorf("remove %s: %w", s.dir, rerr)
		}
	}
	return err
}

// logTail is the end of the server's log, to append to an error.
func (s *server) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return "\n--- end of " + s.logPath + ":\n" + strings.Join(lines, "\n")
}

// memory reads the server's resident memory, now and at its peak, in MB.
func (s *server) memory() (rss, hwm float64, err error) {
	path := "/proc/" + strconv.Itoa(s.pid()) + "/status"
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("read godockerd's memory: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, perr := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if perr != nil {
			return 0, 0, fmt.Errorf("%s: %s %q: %w", path, k, v, perr)
		}
		if k == "VmRSS" {
			rss = kb / 1024
		} else {
			hwm = kb / 1024
		}
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, errors.New(path + " has no VmRSS or VmHWM")
	}
	return rss, hwm, sc.Err()
}

// logIssue is a warning or error godockerd logged.
type logIssue struct {
	server string
	line   string
}

// scanLog collects the warnings and errors of a server's log.
func (b *bench) scanLog(s *server) {
	f, err := os.Open(s.logPath)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "=== sysbench") || strings.TrimSpace(line) == "" {
			continue
		}
		b.issues = append(b.issues, logIssue{server: filepath.Base(s.dir), line: line})
	}
}
