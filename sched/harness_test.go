package sched

import (
	"fmt"
	"strings"
	"time"

	"github.com/godocker/godocker/api"
)

// The harness builds snapshots in a line or two:
//
//	Snapshot{Pending: jobs(job(1, 4, gib), job(2, 1, gib, by("ann"), wall(time.Hour))), Nodes: []Node{node("n", 4)}}

const gib = int64(1) << 30

// t0 is "now" in every test.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// opt sets one field of a test job.
type opt func(*api.Job)

// job is a pending job with resolved demand. It has no submission time
// unless waited sets one, so fifo orders such jobs by id.
func job(id int64, cpus int, mem int64, opts ...opt) *api.Job {
	j := &api.Job{ID: id, State: api.Pending, User: "u", Group: "g", Project: "default", Run: &api.Run{CPUs: cpus, Memory: mem}}
	for _, o := range opts {
		o(j)
	}
	return j
}

// running is a job running on node since t0 unless started says otherwise.
func running(id int64, node string, cpus int, mem int64, opts ...opt) *api.Job {
	j := job(id, cpus, mem, append([]opt{func(j *api.Job) { j.Started = t0 }}, opts...)...)
	j.State, j.Node = api.Running, node
	return j
}

func jobs(js ...*api.Job) []*api.Job { return js }

func by(user, group string) opt       { return func(j *api.Job) { j.User, j.Group = user, group } }
func in(project string) opt           { return func(j *api.Job) { j.Project = project } }
func prio(p int) opt                  { return func(j *api.Job) { j.Spec.Priority = p } }
func gpus(n int) opt                  { return func(j *api.Job) { j.Spec.GPUs = n } }
func waited(d time.Duration) opt      { return func(j *api.Job) { j.Submitted = t0.Add(-d) } }
func wall(d time.Duration) opt        { return func(j *api.Job) { j.Spec.Walltime = int64(d / time.Second) } }
func startedAgo(d time.Duration) opt  { return func(j *api.Job) { j.Started = t0.Add(-d) } }
func node(name string, cpus int) Node { return Node{Name: name, CPUs: cpus, Memory: 64 * gib} }
func gpuNode(name string, cpus, g int) Node {
	return Node{Name: name, CPUs: cpus, Memory: 64 * gib, GPUs: g}
}

// verdicts renders a plan as "1@n1 2:Resources 3!ProjectLimit ...", in
// plan order: @ starts, : waits, ! rejects.
func verdicts(ds []Decision) string {
	var parts []string
	for _, d := range ds {
		switch d.Action {
		case Start:
			parts = append(parts, fmt.Sprintf("%d@%s", d.Job.ID, d.Node))
		case Reject:
			parts = append(parts, fmt.Sprintf("%d!%s", d.Job.ID, d.Reason.Code))
		default:
			parts = append(parts, fmt.Sprintf("%d:%s", d.Job.ID, d.Reason.Code))
		}
	}
	return strings.Join(parts, " ")
}

// decision returns the decision about job id.
func decision(ds []Decision, id int64) Decision {
	for _, d := range ds {
		if d.Job.ID == id {
			return d
		}
	}
	return Decision{}
}
