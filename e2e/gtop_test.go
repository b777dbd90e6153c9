package e2e

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
)

// rowState is the state column of the queue row that names name ("" when
// no row does).
func rowState(screen, name string) string {
	for _, line := range strings.Split(screen, "\n") {
		fields := strings.Fields(line)
		if !slices.Contains(fields, name) {
			continue
		}
		for _, f := range fields {
			switch f {
			case "qw", "hqw", "r", "s", "dr", "ds", "t":
				return f
			}
		}
		return "?"
	}
	return ""
}

// followQueue checks what a user watching gtop sees of a job's life: its
// row waits (qw), runs (r), and goes once it has ended.
func followQueue(t *testing.T, s *server, alice account, term *terminal) {
	t.Helper()
	term.shows("blocker")
	id := s.submit(alice, "sleep 4\n", "-N", "watched")
	term.waitFor("the job waiting (qw)", 30*time.Second, func(sc string) bool { return rowState(sc, "watched") == "qw" })
	blocker := s.waitState(s.jobNamed(alice, "blocker"), api.Running)
	if r := s.run(alice, "", "gdel", strconv.FormatInt(blocker.ID, 10)); r.code != 0 {
		t.Fatalf("gdel: %s%s", r.stdout, r.stderr)
	}
	term.waitFor("the job running (r)", 60*time.Second, func(sc string) bool { return rowState(sc, "watched") == "r" })
	s.waitState(id, api.Done)
	term.waitFor("the job gone from the queue", 30*time.Second, func(sc string) bool {
		return rowState(sc, "watched") == "" && strings.Contains(sc, "gtop")
	})
}

// jobNamed is the id of the only active job of a's named name.
func (s *server) jobNamed(a account, name string) int64 {
	s.t.Helper()
	r := s.run(a, "", "gstat")
	for _, line := range strings.Split(r.stdout, "\n") {
		f := strings.Fields(line)
		if len(f) > 2 && f[2] == name {
			id, err := strconv.ParseInt(f[0], 10, 64)
			if err == nil {
				return id
			}
		}
	}
	s.t.Fatalf("no job named %s in gstat:\n%s", name, r.stdout)
	return 0
}

// oneCPU is a configuration whose node has one cpu, so that a second job
// waits.
const oneCPU = "executors:\n  - type: docker\n    cpus: 1\n"

// TestGtopFollowsTheQueue: gtop in a real terminal, as a user, against a
// real godockerd: a job's row goes from qw to r to gone.
func TestGtopFollowsTheQueue(t *testing.T) {
	s := startServer(t, oneCPU)
	alice := lookup(t, "gdtest-alice")
	s.submit(alice, "sleep 300\n", "-N", "blocker")
	cmd := fmt.Sprintf("runuser -u %s -- env HOME=%s GODOCKER_SOCKET=%s TERM=xterm-256color %s", alice.name, alice.home, s.socket, filepath.Join(bin, "gtop"))
	term := newTerminal(t, cmd+"; sleep 600", 120, 30)
	followQueue(t, s, alice, term)
	term.keys("q")
	term.waitFor("gtop ending on q", 10*time.Second, func(sc string) bool { return !strings.Contains(sc, "NAME") })
}

// TestGtopThroughTheGateway: ssh USER@HOST in a terminal opens gtop, as
// that user, at the terminal's size.
func TestGtopThroughTheGateway(t *testing.T) {
	g := startGateway(t, oneCPU)
	alice := lookup(t, "gdtest-alice")
	key, pub := g.newKey("alice")
	if r := g.run(alice, pub, "gctl", "key", "add", "-"); r.code != 0 {
		t.Fatalf("gctl key add: %s%s", r.stdout, r.stderr)
	}
	g.submit(alice, "sleep 300\n", "-N", "blocker")
	ssh := "ssh " + strings.Join(append(sshOptions(key), "-p", g.port, "-tt", "gdtest-alice@127.0.0.1"), " ")
	term := newTerminal(t, "env HOME="+g.keys+" TERM=xterm-256color "+ssh+"; sleep 600", 120, 30)
	followQueue(t, g.server, alice, term)
	// The session's window changes reach gtop: at 80 columns it drops
	// the columns that do not fit.
	term.shows("IMAGE")
	term.resize(80, 24)
	term.waitFor("the dashboard laid out for 80 columns", 10*time.Second, func(sc string) bool {
		return strings.Contains(sc, "NAME") && !strings.Contains(sc, "IMAGE")
	})
	term.keys("q")
	term.waitFor("the ssh session ending on q", 10*time.Second, func(sc string) bool { return !strings.Contains(sc, "NAME") })
}
