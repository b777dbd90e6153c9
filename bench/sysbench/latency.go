package main

import (
	"context"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/client"
)

// latencyGroup measures, one job at a time, the time from Submit to the
// job's container running, beside the Docker API's create and start of
// the same container. Each side has one unmeasured warm-up first.
func (b *bench) latencyGroup(ctx context.Context) error {
	n := b.scaled(20, 3)
	var gd []float64
	err := b.withServer(ctx, "latency", serverConfig{cpus: drainCPUs}, allRole, func(s *server) error {
		ectx, cancel := context.WithCancel(ctx)
		defer cancel()
		events, err := s.api.Events(ectx)
		if err != nil {
			return fmt.Errorf("subscribe to the events: %w", err)
		}
		w := &watcher{s: s, events: events}
		c := b.alice.client(s)
		b.logf("latency: %d jobs `sleep 5`, one at a time…", n)
		for i := -1; i < n; i++ {
			d, err := b.submitToRunning(ctx, c, w)
			if err != nil {
				return err
			}
			if i >= 0 {
				gd = append(gd, d)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.logf("latency: %d containers `sleep 5` through the Docker API…", n)
	var raw []float64
	for i := -1; i < n; i++ {
		d, err := b.dockerCreateStart(ctx)
		if err != nil {
			return err
		}
		if i >= 0 {
			raw = append(raw, d)
		}
	}
	diff := median(gd) - median(raw)
	df := newFigure("latency.diff", "difference (of the medians)", "ms", []float64{diff}, atMost(50))
	df.sub, df.Text, df.Target = true, signed(diff, "ms"), "<= +50.0 ms"
	dk := newFigure("latency.docker", "Docker API: ContainerCreate + ContainerStart", "ms", raw, nil)
	dk.sub = true
	b.add(newFigure("latency.godocker", "latency: Submit to running, `sleep 5`, one job at a time", "ms", gd, nil), dk, df)
	return nil
}

// submitToRunning submits `sleep 5` as alice and returns the milliseconds
// until its started event; then deletes it and waits for its end.
func (b *bench) submitToRunning(ctx context.Context, c *client.Client, w *watcher) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	start := time.Now()
	j, err := c.Submit(ctx, b.alice.spec("sleep", "5"))
	if err != nil {
		return 0, fmt.Errorf("submit sleep 5: %w", err)
	}
	at, err := w.wait(ctx, j.ID, api.EventStarted, func(j *api.Job) bool { return j.State != api.Pending && j.State != api.Held })
	if err != nil {
		return 0, err
	}
	d := float64(at.Sub(start).Microseconds()) / 1000
	if _, err := c.Delete(ctx, api.JobRef{ID: j.ID}); err != nil {
		return 0, fmt.Errorf("delete job %d: %w", j.ID, err)
	}
	if _, err := w.wait(ctx, j.ID, api.EventFinished, func(j *api.Job) bool { return j.State.Finished() }); err != nil {
		return 0, err
	}
	return d, nil
}

// watcher follows one event stream for a series of jobs; should the
// stream end, it polls instead.
type watcher struct {
	s      *server
	events <-chan api.Event
}

// wait returns when the event kind of job id arrives or, once the stream
// has ended, when a poll every 5 ms finds cond true of the job.
func (w *watcher) wait(ctx context.Context, id int64, kind string, cond func(*api.Job) bool) (time.Time, error) {
	var tick <-chan time.Time
	if w.events == nil {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case ev, ok := <-w.events:
			if !ok {
				w.events = nil
				return w.wait(ctx, id, kind, cond)
			}
			if ev.Kind == kind && ev.Job != nil && ev.Job.ID == id {
				return time.Now(), nil
			}
		case <-tick:
			j, err := w.s.api.Job(ctx, api.JobRef{ID: id})
			if err != nil {
				return time.Time{}, fmt.Errorf("poll job %d: %w", id, err)
			}
			if cond(j) {
				return time.Now(), nil
			}
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("job %d: no %s event (%v)", id, kind, ctx.Err())
		}
	}
}

// dockerCreateStart creates and starts `sleep 5` as alice's uid through
// the Docker API, returns the milliseconds it took and removes the
// container.
func (b *bench) dockerCreateStart(ctx context.Context) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cfg := &container.Config{
		Image:  image,
		Cmd:    []string{"sleep", "5"},
		User:   fmt.Sprintf("%d:%d", b.alice.uid, b.alice.gid),
		Labels: map[string]string{benchLabel: "latency"},
	}
	start := time.Now()
	c, err := b.docker.ContainerCreate(ctx, cfg, &container.HostConfig{}, nil, nil, "")
	if err != nil {
		return 0, fmt.Errorf("docker create: %w", err)
	}
	err = b.docker.ContainerStart(ctx, c.ID, container.StartOptions{})
	d := float64(time.Since(start).Microseconds()) / 1000
	if rerr := b.docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); rerr != nil && err == nil {
		err = fmt.Errorf("remove the container: %w", rerr)
	}
	if err != nil {
		return 0, fmt.Errorf("docker start: %w", err)
	}
	return d, nil
}
