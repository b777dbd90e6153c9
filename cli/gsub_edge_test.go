package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
)

func TestGsubEmptyScriptIsRefused(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.sh")
	if err := os.WriteFile(empty, []byte("\n  \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := newFake("alice")
	for _, tc := range []struct {
		stdin string
		args  []string
	}{{"", nil}, {" \n\t\n", []string{"-"}}, {"", []string{empty}}} {
		r := gsub(f, tc.stdin, tc.args...)
		if r.code != 1 || !strings.Contains(r.stderr, "is empty") {
			t.Errorf("gsub %q with stdin %q: exit %d, stderr %q; want 1 and \"is empty\"", tc.args, tc.stdin, r.code, r.stderr)
		}
	}
	if len(f.specs) != 0 {
		t.Errorf("an empty script reached the server")
	}
}

// The script's own arguments are the script's: neither --help nor -pe
// among them is gsub's.
func TestGsubScriptArgumentsAreLeftAlone(t *testing.T) {
	f := newFake("alice")
	r := gsub(f, "echo\n", "-pe", "smp", "2", "-", "--help", "-pe", "a", "b")
	if r.code != 0 || len(f.specs) != 1 {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	s := f.specs[0]
	if s.CPUs != 2 || !slices.Equal(s.Args, []string{"--help", "-pe", "a", "b"}) {
		t.Errorf("cpus %d args %q; want 2 and the arguments as given", s.CPUs, s.Args)
	}
	if r := gsub(f, "echo\n", "--pe", "mpi", "3-8"); r.code != 0 || f.specs[1].CPUs != 3 {
		t.Errorf("--pe mpi 3-8: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestGsubPrintsTheNameAsIs(t *testing.T) {
	r := gsub(newFake("alice"), "echo\n", "-N", `a\b`)
	if want := "Your job 101 (\"a\\b\") has been submitted\n"; r.stdout != want {
		t.Errorf("stdout %q; want %q", r.stdout, want)
	}
}

func TestGsubDirectiveQuotes(t *testing.T) {
	f := newFake("alice")
	r := gsub(f, "#$ -l h_vmem=\"2G\" -N 'my\"job'\necho\n")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if s := f.specs[0]; s.Memory != 2<<30 || s.Name != "myjob" {
		t.Errorf("memory %d name %q; want every quote character removed", s.Memory, s.Name)
	}
}

func TestGsubBadValues(t *testing.T) {
	f := newFake("alice")
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"echo\n", []string{"-j", "maybe"}, `-j "maybe": want y or n`},
		{"echo\n", []string{"-sync", "x"}, `-sync "x": want y or n`},
		{"#$ -b perhaps\necho\n", nil, `STDIN:1: -b "perhaps": want y or n in #$ directive`},
		{"echo\n", []string{"-p", "5000"}, "from -1023 to 1024"},
	} {
		r := gsub(f, tc.stdin, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("gsub %q: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if len(f.specs) != 0 {
		t.Errorf("bad input reached the server")
	}
}

func TestGstatEmptyJSONIsAnArray(t *testing.T) {
	if r := gstat(newFake("bob"), "--json"); r.code != 0 || r.stdout != "[]\n" {
		t.Errorf("empty gstat --json: exit %d, %q; want []", r.code, r.stdout)
	}
}

// unreachable is a godockerd that drops some calls as if it restarted.
type unreachable struct {
	*fake
	jobFails   atomic.Int32 // Job calls left that fail to connect
	jobCalls   atomic.Int32
	closedFeed bool // Events returns a stream that has already ended
}

var errConn = errors.New("cannot reach godockerd at /run/godocker/godockerd.sock")

func (u *unreachable) Job(ctx context.Context, ref api.JobRef) (*api.Job, error) {
	u.jobCalls.Add(1)
	if u.jobFails.Add(-1) >= 0 {
		return nil, errConn
	}
	return u.fake.Job(ctx, ref)
}

func (u *unreachable) Events(ctx context.Context, ids ...int64) (<-chan api.Event, error) {
	if u.closedFeed {
		ch := make(chan api.Event)
		close(ch)
		return ch, nil
	}
	return u.fake.Events(ctx, ids...)
}

// waitForJob returns the id of the fake's first job once it exists.
func waitForJob(t *testing.T, f *fake) int64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		f.mu.Lock()
		for id := range f.jobs {
			f.mu.Unlock()
			return id
		}
		f.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	t.Fatal("no job was submitted")
	return 0
}

// A restart of godockerd while gsub -sync y waits does not end the wait.
func TestGsubSyncSurvivesLostContact(t *testing.T) {
	u := &unreachable{fake: newFake("alice")}
	u.events = make(chan api.Event, 1)
	u.jobFails.Store(1)
	var out, errb bytes.Buffer
	done := make(chan int)
	go func() {
		done <- Gsub(context.Background(), u, []string{"-sync", "y"}, strings.NewReader("exit 3\n"), &out, &errb)
	}()
	id := waitForJob(t, u.fake)
	u.mu.Lock()
	u.jobs[id].State, u.jobs[id].ExitCode = api.Failed, exitCode(3)
	u.mu.Unlock()
	u.events <- api.Event{Kind: api.EventFinished, Job: &api.Job{ID: id}}
	select {
	case code := <-done:
		if code != 3 || !strings.Contains(out.String(), "exited with exit code 3.") || !strings.Contains(errb.String(), "still waiting for job") {
			t.Errorf("exit %d, stdout %q, stderr %q; want 3 after a lost contact", code, out.String(), errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("gsub -sync y did not return")
	}
}

// A stream that keeps ending does not make gsub -sync y spin.
func TestGsubSyncDoesNotSpinOnAnEndedStream(t *testing.T) {
	u := &unreachable{fake: newFake("alice"), closedFeed: true}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb bytes.Buffer
	done := make(chan int)
	go func() {
		done <- Gsub(ctx, u, []string{"-sync", "y"}, strings.NewReader("sleep 100\n"), &out, &errb)
	}()
	waitForJob(t, u.fake)
	time.Sleep(100 * time.Millisecond) // let a busy loop show itself
	cancel()
	if code := <-done; code != 130 {
		t.Errorf("exit %d; want 130", code)
	}
	if n := u.jobCalls.Load(); n > 3 {
		t.Errorf("%d job lookups in 100ms with an ended stream; want a few (poll every %v)", n, syncPoll)
	}
}
