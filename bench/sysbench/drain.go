package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/client"
)

// drainCPUs is the docker executor's capacity on the latency server:
// room for that many 1-cpu jobs at once.
const drainCPUs = 8

// drainGroup measures how fast a full server runs a batch of trivial
// jobs released at once, beside docker run alone at its best parallelism.
// docker run goes first: its best parallelism P becomes the executor's
// declared cpus, so that GoDocker, whose jobs ask for 1 cpu each, runs as
// many containers at once as the best baseline and the ratio is what
// GoDocker adds to each container.
func (b *bench) drainGroup(ctx context.Context) error {
	n := b.scaled(200, 4)
	best, bestRate := 0, 0.0
	var perN []*Figure
	for _, p := range []int{1, 2, 4, 8, 16} {
		b.logf("drain: baseline: %s `docker run --rm` with xargs -P %d…", count(n), p)
		rate, err := b.rawDrain(ctx, n, p)
		if err != nil {
			return err
		}
		f := newFigure("drain.raw_p"+strconv.Itoa(p), fmt.Sprintf("docker run --rm, xargs -P %d (one run)", p), "jobs/s", []float64{rate}, nil)
		f.sub = true
		perN = append(perN, f)
		if rate > bestRate {
			best, bestRate = p, rate
		}
	}
	var rates, raw []float64
	for r := range b.opts.runs {
		b.logf("drain: baseline run %d/%d at -P %d…", r+1, b.opts.runs, best)
		rate, err := b.rawDrain(ctx, n, best)
		if err != nil {
			return err
		}
		raw = append(raw, rate)
		b.logf("drain: run %d/%d: %s held jobs released at once, executor cpus %d…", r+1, b.opts.runs, count(n), best)
		if rate, err = b.drainOnce(ctx, n, best); err != nil {
			return err
		}
		rates = append(rates, rate)
	}
	gd := newFigure("drain.godocker", fmt.Sprintf("drain: %s released `true` jobs, executor cpus %d", count(n), best), "jobs/s", rates, nil)
	rf := newFigure("drain.raw", fmt.Sprintf("docker run --rm, best xargs -P %d", best), "jobs/s", raw, nil)
	rf.sub = true
	ratio := median(rates) / median(raw)
	cmp := newFigure("drain.ratio", "ratio GoDocker / raw (of the medians)", "×", []float64{ratio}, atLeast(0.95))
	cmp.sub = true
	b.add(gd, rf, cmp)
	b.add(perN...)
	return nil
}

// drainOnce submits n held jobs `true` as alice on a fresh full server
// whose docker executor declares cpus, releases them with one gctl release, and returns n over the time from
// the release to the last job's end, in jobs per second.
func (b *bench) drainOnce(ctx context.Context, n, cpus int) (float64, error) {
	var rate float64
	err := b.withServer(ctx, "drain", serverConfig{cpus: cpus}, allRole, func(s *server) error {
		spec := b.alice.spec("true")
		spec.Hold = true
		ids, _, err := b.submitBatch(ctx, s, batch{what: count(n) + " held jobs", as: b.alice, n: n, spec: func(int) api.Spec { return spec }})
		if err != nil {
			return err
		}
		limit := 2*time.Minute + time.Duration(n)*time.Second
		wctx, cancel := context.WithTimeout(ctx, limit)
		defer cancel()
		events, err := s.api.Events(wctx, ids...)
		if err != nil {
			return fmt.Errorf("subscribe to the jobs' events: %w", err)
		}
		args := []string{"release"}
		for _, id := range ids {
			args = append(args, strconv.FormatInt(id, 10))
		}
		start := time.Now()
		if _, err := b.run(wctx, b.alice, s, time.Minute, "gctl", args...); err != nil {
			return err
		}
		end, err := waitFinished(wctx, s, ids, events, limit)
		if err != nil {
			return err
		}
		rate = float64(n) / end.Sub(start).Seconds()
		return nil
	})
	return rate, err
}

// waitFinished waits until every job of ids has ended, done, and returns
// when the last one did as seen here: the arrival of its finished event,
// or the poll that found it, should an event have been missed.
func waitFinished(ctx context.Context, s *server, ids []int64, events <-chan api.Event, limit time.Duration) (time.Time, error) {
	want := make(map[int64]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	var last time.Time
	ended := func(j *api.Job) error {
		if !want[j.ID] || !j.State.Finished() {
			return nil
		}
		if j.State != api.Done {
			return fmt.Errorf("job %d ended %s (%s: %s); want done", j.ID, j.State, j.Reason.Code, j.Reason.Message)
		}
		delete(want, j.ID)
		last = time.Now()
		return nil
	}
	// The polls are a safety net for a missed event: rare and brief, so
	// that the measurement does not take the CPU from what it measures.
	poll := time.NewTicker(time.Second)
	defer poll.Stop()
	for len(want) > 0 {
		select {
		case ev, ok := <-events:
			if !ok {
				events = nil // the stream ended: the polls go on
				continue
			}
			if ev.Kind == api.EventFinished && ev.Job != nil {
				if err := ended(ev.Job); err != nil {
					return last, err
				}
			}
		case <-poll.C:
			left := make([]int64, 0, len(want))
			for id := range want {
				left = append(left, id)
			}
			jobs, err := s.api.Jobs(ctx, client.Query{Users: []string{"*"}, IDs: left, Brief: true})
			if err != nil {
				if ctx.Err() != nil {
					continue // the deadline's case reports it
				}
				return last, fmt.Errorf("poll the jobs: %w", err)
			}
			for _, j := range jobs {
				if err := ended(j); err != nil {
					return last, err
				}
			}
		case <-ctx.Done():
			return last, fmt.Errorf("%d of %d jobs had not ended within %v (%v)", len(want), len(ids), limit, ctx.Err())
		}
	}
	return last, nil
}

// rawDrain runs n `docker run --rm IMAGE true`, p at a time, and returns
// n over the time they took, in containers per second.
func (b *bench) rawDrain(ctx context.Context, n, p int) (float64, error) {
	limit := time.Minute + time.Duration(n)*5*time.Second
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	script := fmt.Sprintf("seq %d | xargs -P %d -I{} docker run --rm %s true", n, p, image)
	start := time.Now()
	out, err := groupCommand(ctx, "bash", "-c", script).CombinedOutput()
	elapsed := time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("not done within %v", limit)
		}
		return 0, fmt.Errorf("%s: %v: %s", script, err, lastLines(string(out), 10))
	}
	return float64(n) / elapsed.Seconds(), nil
}
