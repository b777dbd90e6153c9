package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
)

// TestGroupCommitKeepsEachWriteApart: concurrent writes share commits,
// and one that fails in a batch (a job id taken, an update refused)
// takes nothing of the others with it, nor leaves anything of its own.
func TestGroupCommitKeepsEachWriteApart(t *testing.T) {
	s := tempStore(t)
	ctx := t.Context()
	const n = 300
	taken := job(1, "alice", api.Pending)
	if err := s.CreateJob(ctx, taken); err != nil {
		t.Fatal(err)
	}
	refused := errors.New("refused")
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			switch i % 3 {
			case 0: // a new job
				errs[i] = s.CreateJob(ctx, job(int64(10+i), "bob", api.Pending))
			case 1: // an id taken
				dup := job(1, "mallory", api.Running)
				errs[i] = s.CreateJob(ctx, dup)
			case 2: // an update whose fn refuses, after changing the job
				_, errs[i] = s.UpdateJob(ctx, 1, func(j *api.Job) error {
					j.State = api.Failed
					return refused
				})
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		var want error
		switch i % 3 {
		case 1:
			want = store.ErrExists
		case 2:
			want = refused
		}
		if !errors.Is(err, want) || (want == nil && err != nil) {
			t.Errorf("write %d: %v, want %v", i, err, want)
		}
	}
	if j, err := s.Job(ctx, 1); err != nil || j.User != "alice" || j.State != api.Pending {
		t.Errorf("job 1 after refused writes: %+v, %v; want alice's, pending", j, err)
	}
	bobs, err := s.Jobs(ctx, store.Query{Users: []string{"bob"}})
	if err != nil || len(bobs) != n/3 {
		t.Errorf("new jobs stored: %d, %v; want %d", len(bobs), err, n/3)
	}
}

// TestWriteAfterContextEnds: a write whose context ended is not done;
// after Close, writes fail and change nothing.
func TestWriteAfterContextEnds(t *testing.T) {
	s := tempStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.CreateJob(ctx, job(5, "alice", api.Pending)); !errors.Is(err, context.Canceled) {
		t.Errorf("CreateJob with an ended context: %v", err)
	}
	if _, err := s.Job(t.Context(), 5); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("job of the ended context: %v, want not found", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.NextID(t.Context()); !errors.Is(err, errClosed) {
		t.Errorf("NextID after Close: %v, want %v", err, errClosed)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestWhatIsFlushed: at SyncFull every write is committed with an fsync
// but a reservation of ids; at SyncNormal only a reservation of ids is.
// Either way the connection is back to the store's level afterwards.
func TestWhatIsFlushed(t *testing.T) {
	for _, tc := range []struct {
		sync           store.Sync
		write, reserve int // PRAGMA synchronous in their batches: 1 NORMAL, 2 FULL
	}{
		{store.SyncFull, 2, 1},
		{store.SyncNormal, 1, 2},
	} {
		t.Run(string(tc.sync), func(t *testing.T) {
			s, err := Open(t.Context(), filepath.Join(t.TempDir(), "godocker.db"), store.Options{Sync: tc.sync})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx := t.Context()
			level := func(ids bool) int {
				t.Helper()
				var mode int
				err := s.do(ctx, ids, func(ctx context.Context, tx *sql.Tx) error {
					return tx.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&mode)
				})
				if err != nil {
					t.Fatal(err)
				}
				return mode
			}
			if got := level(false); got != tc.write {
				t.Errorf("a write of jobs commits at synchronous %d, want %d", got, tc.write)
			}
			if got := level(true); got != tc.reserve {
				t.Errorf("a reservation of ids commits at synchronous %d, want %d", got, tc.reserve)
			}
			if got := level(false); got != tc.write {
				t.Errorf("a write of jobs after a reservation commits at synchronous %d, want %d", got, tc.write)
			}
		})
	}
	if _, err := Open(t.Context(), filepath.Join(t.TempDir(), "godocker.db"), store.Options{Sync: "sometimes"}); err == nil || !strings.Contains(err.Error(), `sync "sometimes"`) {
		t.Errorf("Open with sync sometimes: %v, want an error naming it", err)
	}
}

// TestNormalFlushesTheWAL: at SyncNormal the WAL is flushed to the disk
// when the store opens (its schema) and every second, and no longer after
// Close; at SyncFull, by every commit only.
func TestNormalFlushesTheWAL(t *testing.T) {
	var (
		mu      sync.Mutex
		flushed []string
	)
	real := flushFile
	flushFile = func(path string) error {
		mu.Lock()
		flushed = append(flushed, path)
		mu.Unlock()
		return real(path)
	}
	t.Cleanup(func() { flushFile = real })
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(flushed)
	}

	full, err := Open(t.Context(), filepath.Join(t.TempDir(), "full.db"), store.Options{Sync: store.SyncFull})
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	path := filepath.Join(t.TempDir(), "godocker.db")
	s, err := Open(t.Context(), path, store.Options{Sync: store.SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	opened := count()
	if opened != 1 {
		t.Errorf("WAL flushed %d times by Open, want once (the schema)", opened)
	}
	if err := s.CreateJob(t.Context(), job(1, "alice", api.Pending)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * flushEvery)
	for count() < opened+2 && time.Now().Before(deadline) {
		time.Sleep(flushEvery / 10)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	after := count()
	mu.Lock()
	got := slices.Clone(flushed)
	mu.Unlock()
	if len(got) < opened+2 {
		t.Fatalf("WAL flushed %d times in %v after Open, want one a %v", len(got)-opened, 10*flushEvery, flushEvery)
	}
	for _, p := range got {
		if p != path+"-wal" {
			t.Errorf("flushed %s, want only %s-wal", p, path)
		}
	}
	time.Sleep(2 * flushEvery)
	if n := count(); n != after {
		t.Errorf("WAL flushed %d more times after Close", n-after)
	}
}

// TestFlushFile: flushFile syncs a file that exists, and finds nothing to
// do for one that does not (no WAL yet).
func TestFlushFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("frames"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := flushFile(path); err != nil {
		t.Errorf("flush %s: %v", path, err)
	}
	if err := flushFile(path + "-missing"); err != nil {
		t.Errorf("flush of a missing file: %v, want nothing done", err)
	}
	if err := flushFile(t.TempDir()); err == nil {
		t.Error("flush of a directory opened for writing: no error")
	}
}
