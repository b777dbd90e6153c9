package sqlite

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
)

// crashChildEnv names the database the child process of TestSurvivesKill
// writes to, and crashSyncEnv the store's Sync.
const (
	crashChildEnv = "GODOCKER_SQLITE_CRASH_CHILD"
	crashSyncEnv  = "GODOCKER_SQLITE_CRASH_SYNC"
)

// TestSurvivesKill: at either Sync, every job whose CreateJob returned is
// there after the server is killed with SIGKILL, and no id it handed out
// comes back. The writer is this test binary run again as a child, killed
// while it is still submitting.
func TestSurvivesKill(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path, store.Sync(os.Getenv(crashSyncEnv)))
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	for _, sync := range []store.Sync{store.SyncNormal, store.SyncFull} {
		t.Run(string(sync), func(t *testing.T) { survivesKill(t, sync) })
	}
}

func survivesKill(t *testing.T, sync store.Sync) {
	path := filepath.Join(t.TempDir(), "godocker.db")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestSurvivesKill$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path, crashSyncEnv+"="+string(sync))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []int64
	lines := bufio.NewScanner(out)
	for len(acked) < 200 && lines.Scan() {
		id, err := strconv.ParseInt(lines.Text(), 10, 64)
		if err != nil {
			continue // the test framework's own output
		}
		acked = append(acked, id)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v before it was killed; acknowledged %d jobs", err, len(acked))
	}
	if len(acked) < 200 {
		t.Fatalf("child acknowledged only %d jobs", len(acked))
	}

	s := openStore(t, path)
	defer s.Close()
	for _, id := range acked {
		if _, err := s.Job(t.Context(), id); err != nil {
			t.Errorf("acknowledged job %d after kill -9: %v", id, err)
		}
	}
	last := acked[len(acked)-1]
	if id, err := s.NextID(t.Context()); err != nil || id <= last {
		t.Errorf("NextID after kill -9 = %d, %v; want more than %d", id, err, last)
	}
}

// crashChild submits jobs until it is killed, printing the id of each
// once CreateJob has returned.
func crashChild(path string, sync store.Sync) {
	ctx := context.Background()
	s, err := Open(ctx, path, store.Options{Sync: sync})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for {
		id, err := s.NextID(ctx)
		if err == nil {
			err = s.CreateJob(ctx, job(id, "alice", api.Pending))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println(id)
	}
}
