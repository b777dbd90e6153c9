package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/client"
)

// workers is how many clients submit at once through the API.
const workers = 8

// batch is a number of jobs submitted through the API by workers
// goroutines, each with its own client, as one user.
type batch struct {
	what string // for progress and errors: "10,000 queued jobs"
	as   account
	n    int
	spec func(i int) api.Spec
	// then, if set, is called with each accepted job by the goroutine
	// that submitted it (e.g. to delete it).
	then func(ctx context.Context, c *client.Client, j *api.Job) error
}

// submitBatch submits the batch to s and returns the jobs' ids, in no
// particular order, and how long it took. It gives up on the first
// error, or when the jobs take much longer than they should.
func (b *bench) submitBatch(ctx context.Context, s *server, bt batch) ([]int64, time.Duration, error) {
	limit := time.Minute + time.Duration(bt.n)*10*time.Millisecond
	ctx, cancel := context.WithTimeoutCause(ctx, limit, fmt.Errorf("submitting %s took more than %v", bt.what, limit))
	defer cancel()
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)

	var next, done atomic.Int64
	ids := make([][]int64, workers)
	stop := b.progress("submitting "+bt.what, &done)
	defer stop()
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		c := bt.as.client(s)
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= bt.n || ctx.Err() != nil {
					return
				}
				j, err := c.Submit(ctx, bt.spec(i))
				if err != nil {
					fail(fmt.Errorf("submit job %d of %s as %s: %w", i+1, bt.what, bt.as.name, err))
					return
				}
				ids[w] = append(ids[w], j.ID)
				if bt.then != nil {
					if err := bt.then(ctx, c, j); err != nil {
						fail(fmt.Errorf("%s, job %d: %w", bt.what, j.ID, err))
						return
					}
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return nil, elapsed, err
	}
	var all []int64
	for _, l := range ids {
		all = append(all, l...)
	}
	if len(all) != bt.n {
		return nil, elapsed, fmt.Errorf("submitting %s: %d accepted, want %d", bt.what, len(all), bt.n)
	}
	return all, elapsed, nil
}

// progress prints "bench: WHAT… N" every few seconds until stopped.
func (b *bench) progress(what string, n *atomic.Int64) (stop func()) {
	b.logf("%s…", what)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(3 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				b.logf("%s… %s", what, count(int(n.Load())))
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
