package e2e

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// terminal is a real terminal: a tmux session running one command line,
// for the tests of what people see (ssh with a PTY, gtop).
type terminal struct {
	t    *testing.T
	sock string
}

var terminals atomic.Int64

// newTerminal runs cmdline (a shell command line) in a new tmux session of
// width×height cells; the session ends with the test.
func newTerminal(t *testing.T, cmdline string, width, height int) *terminal {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux is missing (make deps installs it)")
		}
		t.Skip("tmux is missing (make deps installs it)")
	}
	term := &terminal{t: t, sock: "godocker-e2e-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(terminals.Add(1), 10)}
	term.tmux("new-session", "-d", "-s", "t", "-x", strconv.Itoa(width), "-y", strconv.Itoa(height), cmdline)
	t.Cleanup(func() { exec.Command("tmux", "-L", term.sock, "kill-server").Run() })
	return term
}

func (term *terminal) tmux(args ...string) string {
	term.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", term.sock, "-f", "/dev/null"}, args...)...).CombinedOutput()
	if err != nil {
		term.t.Fatalf("tmux %v: %v: %s", args, err, out)
	}
	return string(out)
}

// screen is what the terminal shows now.
func (term *terminal) screen() string { return term.tmux("capture-pane", "-p", "-t", "t") }

// waitFor waits until the screen satisfies ok, and fails the test with
// what it shows after limit.
func (term *terminal) waitFor(what string, limit time.Duration, ok func(screen string) bool) string {
	term.t.Helper()
	var got string
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = term.screen(); ok(got) {
			return got
		}
	}
	term.t.Fatalf("the terminal never showed %s; it shows:\n%s", what, got)
	return ""
}

// shows waits for text on the screen.
func (term *terminal) shows(text string) string {
	term.t.Helper()
	return term.waitFor(strconv.Quote(text), 30*time.Second, func(s string) bool { return strings.Contains(s, text) })
}

// typeLine types line and Enter.
func (term *terminal) typeLine(line string) {
	term.tmux("send-keys", "-t", "t", "-l", line)
	term.tmux("send-keys", "-t", "t", "Enter")
}

// keys sends tmux key names (C-c, Enter, q, ...).
func (term *terminal) keys(keys ...string) {
	term.tmux(append([]string{"send-keys", "-t", "t"}, keys...)...)
}

func (term *terminal) resize(width, height int) {
	term.tmux("resize-window", "-t", "t", "-x", strconv.Itoa(width), "-y", strconv.Itoa(height))
}
