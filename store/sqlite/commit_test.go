package sqlite

import (
	"context"
	"errors"
	"sync"
	"testing"

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

// TestNextIDLeavesWritesDurable: after a NextID, committed without an
// fsync of its own, the writer connection is back to synchronous=FULL
// for the writes that follow.
func TestNextIDLeavesWritesDurable(t *testing.T) {
	s := tempStore(t)
	ctx := t.Context()
	if _, err := s.NextID(ctx); err != nil {
		t.Fatal(err)
	}
	var mode int
	if err := s.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != 2 { // FULL
		t.Errorf("synchronous after NextID = %d, want 2 (FULL)", mode)
	}
}
