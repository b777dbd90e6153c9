package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/client"
)

// gstatRuns is how many times each gstat command is timed.
const gstatRuns = 10

// schedulerInterval is scheduler.interval in the servers' configuration.
const schedulerInterval = 2 * time.Second

// queue is the population of the gstat server.
type queue struct {
	held       int64   // alice's held job every other waits for
	alice, bob int     // waiting jobs of each (alice's with the held one)
	known      int     // jobs the server knows, finished ones included
	sample     []int64 // a few of the waiting jobs, to watch
}

// gstatAndMemory fills one api-only server with a queue and times gstat
// on it (group gstat), then reads the server's memory, and that of a full
// server started on the same state (group memory).
func (b *bench) gstatAndMemory(ctx context.Context) error {
	s, err := b.startServer(ctx, "gstat", serverConfig{}, apiOnly)
	if err != nil {
		return err
	}
	defer s.discard(ctx)
	q, err := b.populate(ctx, s)
	if err != nil {
		return err
	}
	if b.opts.only["gstat"] {
		if err := b.gstatFigures(ctx, s, q, "10k"); err != nil {
			return err
		}
	}
	extra := b.scaled(90000, 4)
	del := func(ctx context.Context, c *client.Client, j *api.Job) error {
		r, err := c.Delete(ctx, api.JobRef{ID: j.ID})
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		if r.Action != api.ActionDeleted {
			return fmt.Errorf("delete of a queued job answered %q; want %q", r.Action, api.ActionDeleted)
		}
		return nil
	}
	spec := b.bob.spec("true")
	if _, _, err := b.submitBatch(ctx, s, batch{what: count(extra) + " jobs of bob's, each deleted at once", as: b.bob, n: extra,
		spec: func(int) api.Spec { return spec }, then: del}); err != nil {
		return err
	}
	q.known += extra
	if b.opts.only["gstat"] {
		if err := b.gstatFigures(ctx, s, q, "100k"); err != nil {
			return err
		}
	}
	if b.opts.only["memory"] {
		if err := b.memoryFigures(ctx, s, q); err != nil {
			return err
		}
	}
	return s.discard(ctx)
}

// populate submits alice's held job, then the waiting jobs of alice and
// bob, every one depending on the held job so that no scheduler may ever
// start them.
func (b *bench) populate(ctx context.Context, s *server) (*queue, error) {
	q := &queue{alice: b.scaled(1000, 2), bob: b.scaled(9000, 2)}
	hold := b.alice.spec("true")
	hold.Hold = true
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	h, err := b.alice.client(s).Submit(hctx, hold)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("submit the held job: %w", err)
	}
	q.held = h.ID
	waiting := func(a account) func(int) api.Spec {
		spec := a.spec("true")
		spec.Dependencies = []api.Dependency{{Type: api.AfterAny, Jobs: []int64{h.ID}}}
		return func(int) api.Spec { return spec }
	}
	total := count(q.alice + q.bob)
	ai, _, err := b.submitBatch(ctx, s, batch{what: fmt.Sprintf("alice's %s queued jobs (of %s)", count(q.alice-1), total), as: b.alice, n: q.alice - 1, spec: waiting(b.alice)})
	if err != nil {
		return nil, err
	}
	bi, _, err := b.submitBatch(ctx, s, batch{what: fmt.Sprintf("bob's %s queued jobs (of %s)", count(q.bob), total), as: b.bob, n: q.bob, spec: waiting(b.bob)})
	if err != nil {
		return nil, err
	}
	q.known = q.alice + q.bob
	q.sample = []int64{ai[0], ai[len(ai)-1], bi[0], bi[len(bi)/2], bi[len(bi)-1]}
	return q, nil
}

// gstatFigures times gstat -u '*' (every waiting job) and plain gstat
// (alice's) as alice.
func (b *bench) gstatFigures(ctx context.Context, s *server, q *queue, stage string) error {
	waiting := q.alice + q.bob
	all, err := b.timeGstat(ctx, s, `-u '*'`, waiting)
	if err != nil {
		return err
	}
	own, err := b.timeGstat(ctx, s, "", q.alice)
	if err != nil {
		return err
	}
	allTarget, where := 100.0, fmt.Sprintf("%s queued jobs", count(waiting))
	if q.known > waiting {
		allTarget, where = 200, fmt.Sprintf("%s known, %s queued", count(q.known), count(waiting))
	}
	b.add(
		newFigure("gstat.all_"+stage, fmt.Sprintf("gstat -u '*': %s", where), "ms", all, atMost(allTarget)),
		newFigure("gstat.own_"+stage, fmt.Sprintf("gstat (alice's %s jobs), %s", count(q.alice), where), "ms", own, atMost(50)),
	)
	return nil
}

// timeGstat runs `gstat ARGS` gstatRuns times in one shell as alice,
// timing each run (process start included), and checks each printed the
// header and one line per job of the want it should list.
func (b *bench) timeGstat(ctx context.Context, s *server, args string, want int) ([]float64, error) {
	b.logf("gstat: timing `%s` (%s jobs listed), %d runs…", strings.TrimSpace("gstat "+args), count(want), gstatRuns)
	script := fmt.Sprintf(`out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
for ((i = 0; i < %d; i++)); do
	s=$EPOCHREALTIME
	"$BIN/gstat" %s >"$out" || { head "$out" >&2; exit 1; }
	e=$EPOCHREALTIME
	echo "$s $e $(wc -l <"$out")"
done
`, gstatRuns, args)
	out, err := b.shell(ctx, b.alice, s, 5*time.Minute, script)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != gstatRuns {
		return nil, fmt.Errorf("gstat %s: the shell printed %q", args, out)
	}
	wantLines := want + 2 // the header and its line of dashes
	var ms []float64
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 3 {
			return nil, fmt.Errorf("gstat %s: the shell printed %q", args, l)
		}
		if n, _ := strconv.Atoi(f[2]); n != wantLines {
			return nil, fmt.Errorf("gstat %s printed %s lines; want %s (header, dashes and %s jobs)", args, f[2], count(wantLines), count(want))
		}
		d, err := epochPair(f[0], f[1])
		if err != nil {
			return nil, err
		}
		ms = append(ms, d)
	}
	return ms, nil
}

// memoryFigures reads the api-only server's memory, then restarts it with
// every role on the same state and reads it again once the scheduler has
// gone over the queue a few times.
func (b *bench) memoryFigures(ctx context.Context, s *server, q *queue) error {
	rss, hwm, err := s.memory()
	if err != nil {
		return err
	}
	where := fmt.Sprintf("%s known, %s queued", count(q.known), count(q.alice+q.bob))
	after := "gstat"
	if !b.opts.only["gstat"] {
		after = "the population"
	}
	b.addMemory("memory.api", "memory: api-only server after "+after+", "+where, rss, hwm)
	b.logf("memory: restarting the server with every role on the same state…")
	if err := s.stop(); err != nil {
		return err
	}
	if err := s.start(ctx, allRole); err != nil {
		return fmt.Errorf("start the full server on the gstat state: %w", err)
	}
	if err := b.waitDependencyReason(ctx, s, q); err != nil {
		return err
	}
	b.logf("memory: the scheduler saw the queue; waiting 3 more passes…")
	select {
	case <-time.After(3 * schedulerInterval):
	case <-ctx.Done():
		return ctx.Err()
	}
	if rss, hwm, err = s.memory(); err != nil {
		return err
	}
	b.addMemory("memory.full", "memory: full server on that state, after 3+ scheduler passes", rss, hwm)
	return nil
}

// addMemory adds the rows of one reading of a server's memory.
func (b *bench) addMemory(id, name string, rss, hwm float64) {
	peak := newFigure(id+"_hwm", "same, peak (VmHWM)", "MB", []float64{hwm}, atMost(300))
	peak.sub = true
	b.add(newFigure(id+"_rss", name+": VmRSS", "MB", []float64{rss}, atMost(300)), peak)
}

// waitDependencyReason polls a sample of the queue until the scheduler
// has recorded that its jobs wait for the held one.
func (b *bench) waitDependencyReason(ctx context.Context, s *server, q *queue) error {
	const limit = 60 * time.Second
	deadline := time.Now().Add(limit)
	for {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		jobs, err := s.api.Jobs(pctx, client.Query{Users: []string{"*"}, IDs: q.sample})
		cancel()
		if err != nil {
			return fmt.Errorf("look at the queue on the full server: %w", err)
		}
		waiting, last := 0, "no job listed"
		for _, j := range jobs {
			if j.State == api.Pending && j.Reason.Code == api.ReasonDependency {
				waiting++
			} else {
				last = fmt.Sprintf("job %d is %s (%s: %s)", j.ID, j.State, j.Reason.Code, j.Reason.Message)
			}
		}
		if len(jobs) == len(q.sample) && waiting == len(q.sample) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the full server's scheduler did not mark the queue as waiting for job %d within %v: %s%s", q.held, limit, last, s.logTail())
		}
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
