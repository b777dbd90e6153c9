package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/client"
)

// withServer starts a server, runs f with it and discards it, reporting
// the first error of the three.
func (b *bench) withServer(ctx context.Context, name string, sc serverConfig, roles string, f func(*server) error) error {
	s, err := b.startServer(ctx, name, sc, roles)
	if err != nil {
		return err
	}
	err = f(s)
	if derr := s.discard(ctx); err == nil {
		err = derr
	}
	return err
}

// warmUp submits one job as alice, so that what is measured next does
// not pay for the server's first submission (alice looked up, cold store
// pages).
func (b *bench) warmUp(ctx context.Context, s *server) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := b.alice.client(s).Submit(ctx, b.alice.spec("true")); err != nil {
		return fmt.Errorf("warm-up submission: %w", err)
	}
	return nil
}

// submitGroup measures submission: gsub in a shell loop, the API with
// concurrent clients, and that every acknowledged job survives kill -9.
func (b *bench) submitGroup(ctx context.Context) error {
	n := b.scaled(1000, 5)
	var gsubRate, trueRate, ratio []float64
	for r := range b.opts.runs {
		b.logf("submit: run %d/%d: a loop of %s gsub -b y true as %s…", r+1, b.opts.runs, count(n), b.alice.name)
		g, t, err := b.submitLoop(ctx, n)
		if err != nil {
			return err
		}
		gsubRate = append(gsubRate, float64(n)/(g/1000))
		trueRate = append(trueRate, float64(n)/(t/1000))
		ratio = append(ratio, g/t)
	}
	f := newFigure("submit.cli", fmt.Sprintf("submit: loop of %s `gsub -b y true`, one shell", count(n)), "jobs/s", gsubRate, atLeast(170))
	tf := newFigure("submit.cli_true", "same loop of `/bin/true`", "/s", trueRate, nil)
	tf.sub, tf.note = true, fmt.Sprintf("(ratio %.1f)", median(ratio))
	rf := newFigure("submit.cli_ratio", "ratio gsub loop time / true loop time", "×", ratio, nil)
	rf.sub = true
	b.add(f, tf, rf)

	m := b.scaled(20000, 8)
	procs := runtime.GOMAXPROCS(0)
	lean, err := b.apiRates(ctx, m, serverConfig{}, 1, "")
	if err != nil {
		return err
	}
	all, err := b.apiRates(ctx, m, serverConfig{}, procs, fmt.Sprintf(", clients on %d threads", procs))
	if err != nil {
		return err
	}
	full, err := b.apiRates(ctx, m, serverConfig{sync: "full"}, 1, ", store.sync full")
	if err != nil {
		return err
	}
	af := newFigure("submit.api_threads", fmt.Sprintf("same, clients on %d threads (GOMAXPROCS)", procs), "jobs/s", all, nil)
	ff := newFigure("submit.api_full", "same, store.sync full (flushed before answering)", "jobs/s", full, nil)
	af.sub, ff.sub = true, true
	b.add(newFigure("submit.api", fmt.Sprintf("submit: %s jobs through the API, %d clients", count(m), workers), "jobs/s", lean, atLeast(10000)), af, ff)

	return b.durability(ctx)
}

// apiRates measures, b.opts.runs times on a fresh server configured with
// sc, the rate at which workers clients submit m jobs through the API.
// The clients run in this process on procs threads (GOMAXPROCS). They
// share the machine with godockerd, and the Go runtime's threads cost
// most when there are more of them than cores: on one thread, as
// separate single-threaded client processes would be, the clients leave
// more of the cpu to godockerd, which is what the figure is about (on
// the 2-core reference machine they take 37 us of cpu per job on one
// thread against 48 on two; BENCHMARKS.md has both figures).
func (b *bench) apiRates(ctx context.Context, m int, sc serverConfig, procs int, what string) ([]float64, error) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	var rates []float64
	for r := range b.opts.runs {
		b.logf("submit: run %d/%d: %s jobs through the API, %d clients%s…", r+1, b.opts.runs, count(m), workers, what)
		err := b.withServer(ctx, "submit-api", sc, apiOnly, func(s *server) error {
			if err := b.warmUp(ctx, s); err != nil {
				return err
			}
			spec := b.alice.spec("true")
			_, elapsed, err := b.submitBatch(ctx, s, batch{what: count(m) + " jobs", as: b.alice, n: m, spec: func(int) api.Spec { return spec }})
			if err != nil {
				return err
			}
			rates = append(rates, float64(m)/elapsed.Seconds())
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return rates, nil
}

// submitLoop times, in one bash as alice, n `gsub -b y true` and then n
// `/bin/true`, and returns both times in milliseconds.
func (b *bench) submitLoop(ctx context.Context, n int) (gsubMS, trueMS float64, err error) {
	err = b.withServer(ctx, "submit-cli", serverConfig{}, apiOnly, func(s *server) error {
		if err := b.warmUp(ctx, s); err != nil {
			return err
		}
		script := fmt.Sprintf(`s=$EPOCHREALTIME
for ((i = 1; i <= %[1]d; i++)); do
	"$BIN/gsub" -b y true >/dev/null || { echo "gsub failed at job $i of %[1]d" >&2; exit 1; }
done
e=$EPOCHREALTIME
s2=$EPOCHREALTIME
for ((i = 1; i <= %[1]d; i++)); do /bin/true; done
e2=$EPOCHREALTIME
echo "$s $e $s2 $e2"
`, n)
		out, err := b.shell(ctx, b.alice, s, time.Minute+time.Duration(n)*100*time.Millisecond, script)
		if err != nil {
			return err
		}
		f := strings.Fields(out)
		if len(f) != 4 {
			return fmt.Errorf("the gsub loop printed %q; want 4 times", out)
		}
		if gsubMS, err = epochPair(f[0], f[1]); err != nil {
			return err
		}
		if trueMS, err = epochPair(f[2], f[3]); err != nil {
			return err
		}
		// Every gsub exited 0; check the jobs are there too.
		jobs, err := s.api.Jobs(ctx, client.Query{Users: []string{b.alice.name}})
		if err != nil {
			return fmt.Errorf("list alice's jobs: %w", err)
		}
		if len(jobs) != n+1 {
			return fmt.Errorf("after %d gsub (and one warm-up job), alice has %d jobs", n, len(jobs))
		}
		return nil
	})
	return gsubMS, trueMS, err
}

// durability submits through the API with several clients, kills
// godockerd with SIGKILL while they are at it, restarts it on the same
// state, and checks that every job it had acknowledged is there, pending.
// (The server has no executor role: nothing starts, so no job has a
// directory yet.)
func (b *bench) durability(ctx context.Context) error {
	threshold := b.scaled(2000, 16)
	b.logf("submit: durability: kill -9 after %s acknowledged jobs…", count(threshold))
	s, err := b.startServer(ctx, "durability", serverConfig{}, apiOnly)
	if err != nil {
		return err
	}
	defer s.discard(ctx)

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu     sync.Mutex
		acked  []int64
		killed atomic.Bool
		reach  = make(chan struct{})
		once   sync.Once
		wg     sync.WaitGroup
		errs   = make(chan error, workers)
	)
	spec := b.alice.spec("true")
	for range workers {
		c := b.alice.client(s)
		wg.Go(func() {
			for sctx.Err() == nil {
				j, err := c.Submit(sctx, spec)
				if err != nil {
					if !killed.Load() && sctx.Err() == nil {
						errs <- fmt.Errorf("submit before the kill: %w", err)
					}
					return
				}
				mu.Lock()
				acked = append(acked, j.ID)
				n := len(acked)
				mu.Unlock()
				if n >= threshold {
					once.Do(func() { close(reach) })
				}
			}
		})
	}
	select {
	case <-reach:
	case err := <-errs:
		cancel()
		wg.Wait()
		return err
	case <-time.After(time.Minute + time.Duration(threshold)*10*time.Millisecond):
		cancel()
		wg.Wait()
		return fmt.Errorf("durability: %d jobs were not acknowledged in time", threshold)
	case <-ctx.Done():
		cancel()
		wg.Wait()
		return ctx.Err()
	}
	killed.Store(true)
	if err := s.kill(); err != nil {
		cancel()
		wg.Wait()
		return err
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(30 * time.Second):
		cancel()
		<-finished
		return errors.New("durability: the submitting clients did not notice the kill within 30 s")
	}
	mu.Lock()
	ids := append([]int64(nil), acked...)
	mu.Unlock()
	b.logf("submit: durability: %s acknowledged when godockerd was killed; restarting it…", count(len(ids)))

	if err := s.start(ctx, apiOnly); err != nil {
		return fmt.Errorf("restart after kill -9: %w", err)
	}
	lctx, lcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer lcancel()
	jobs, err := s.api.Jobs(lctx, client.Query{Users: []string{"*"}})
	if err != nil {
		return fmt.Errorf("list the jobs after the restart: %w", err)
	}
	listed := make(map[int64]bool, len(jobs))
	for _, j := range jobs {
		listed[j.ID] = j.State == api.Pending
	}
	found := 0
	var missing []string
	for _, id := range ids {
		if listed[id] {
			found++
		} else {
			missing = append(missing, strconv.FormatInt(id, 10))
		}
	}
	if len(missing) > 0 {
		b.logf("submit: durability: LOST %d acknowledged jobs (not listed, or not pending): %s", len(missing), strings.Join(missing[:min(len(missing), 10)], ", "))
	}
	f := newFigure("submit.durable", "submit: acknowledged jobs found after kill -9", "jobs", []float64{float64(found)}, nil)
	f.Text = count(found) + " of " + count(len(ids))
	ok := found == len(ids)
	f.OK, f.Target = &ok, "all"
	b.add(f)
	return s.discard(ctx)
}
