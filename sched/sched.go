// Package sched makes scheduling decisions as a pure function of a
// snapshot of the queue and the nodes: Plan does no I/O, so tests and
// benchmarks drive it with any number of jobs.
package sched

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/godocker/godocker/api"
)

// Node is a machine's total capacity, as the executor reports it.
type Node struct {
	Name   string
	CPUs   int
	Memory int64
}

// Snapshot is everything Plan looks at.
type Snapshot struct {
	// Pending jobs, in any order.
	Pending []*api.Job
	// Running jobs (running and suspended): they hold their node's
	// resources.
	Running []*api.Job
	Nodes   []Node
	Now     time.Time
}

// Action is what to do with a pending job.
type Action int

// Actions.
const (
	Wait  Action = iota // keep it pending, with a reason
	Start               // start it on Decision.Node
)

// Decision is Plan's verdict on one pending job.
type Decision struct {
	Job    *api.Job
	Action Action
	Node   string     // for Start
	Reason api.Reason // for Wait
}

// Plan decides, first in first out (a higher -p priority first, then
// submission order), which pending jobs start now and where, and why the
// others wait. A job that does not fit does not block smaller jobs behind
// it (as Grid Engine without reservation). Among the nodes a job fits on
// it picks the fullest one (pack), keeping large holes for large jobs.
func Plan(s Snapshot) []Decision {
	free := make([]Node, len(s.Nodes))
	copy(free, s.Nodes)
	index := make(map[string]int, len(free))
	for i, n := range free {
		index[n.Name] = i
	}
	for _, j := range s.Running {
		if i, ok := index[j.Node]; ok {
			cpus, mem := demand(j)
			free[i].CPUs -= cpus
			free[i].Memory -= mem
		}
	}

	queue := slices.Clone(s.Pending)
	slices.SortFunc(queue, func(a, b *api.Job) int {
		if c := cmp.Compare(b.Spec.Priority, a.Spec.Priority); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})

	out := make([]Decision, 0, len(queue))
	blocked := false // an earlier job waits for resources
	for _, j := range queue {
		cpus, mem := demand(j)
		best := -1
		for i, n := range free {
			if n.CPUs >= cpus && n.Memory >= mem && (best < 0 || less(n, free[best])) {
				best = i
			}
		}
		if best >= 0 {
			free[best].CPUs -= cpus
			free[best].Memory -= mem
			out = append(out, Decision{Job: j, Action: Start, Node: free[best].Name})
			continue
		}
		out = append(out, Decision{Job: j, Action: Wait, Reason: waitReason(cpus, mem, s.Nodes, free, blocked)})
		blocked = true
	}
	return out
}

// less orders nodes fullest first, then by name for a stable choice.
func less(a, b Node) bool {
	if a.CPUs != b.CPUs {
		return a.CPUs < b.CPUs
	}
	if a.Memory != b.Memory {
		return a.Memory < b.Memory
	}
	return a.Name < b.Name
}

func demand(j *api.Job) (int, int64) {
	if j.Run != nil {
		return max(j.Run.CPUs, 1), j.Run.Memory
	}
	return j.CPUs(), j.Spec.Memory
}

func waitReason(cpus int, mem int64, nodes, free []Node, behind bool) api.Reason {
	fitsSomewhere := false
	for _, n := range nodes {
		if n.CPUs >= cpus && n.Memory >= mem {
			fitsSomewhere = true
			break
		}
	}
	if !fitsSomewhere {
		return api.Reason{Code: api.ReasonTooLarge, Message: fmt.Sprintf(
			"needs %s; no node is that large (largest: %s)", size(cpus, mem), largest(nodes))}
	}
	msg := fmt.Sprintf("needs %s; the largest free node has %s", size(cpus, mem), largest(free))
	if len(free) == 0 {
		msg = fmt.Sprintf("needs %s; no node is available", size(cpus, mem))
	}
	return api.Reason{Code: api.ReasonResources, Message: msg}
}

func largest(nodes []Node) string {
	if len(nodes) == 0 {
		return "none"
	}
	best := nodes[0]
	for _, n := range nodes[1:] {
		if n.CPUs > best.CPUs || n.CPUs == best.CPUs && n.Memory > best.Memory {
			best = n
		}
	}
	return size(max(best.CPUs, 0), max(best.Memory, 0))
}

func size(cpus int, mem int64) string {
	unit := "cpus"
	if cpus == 1 {
		unit = "cpu"
	}
	return fmt.Sprintf("%d %s and %s memory", cpus, unit, api.FormatMemory(mem))
}
