// Package sched makes scheduling decisions as a pure function of a
// snapshot of the queue and the nodes: Plan does no I/O and reads no
// clock, so tests and benchmarks drive it with any number of jobs.
//
// # The pipeline
//
// Plan runs each pass as a pipeline over the read-only Snapshot:
//
//  1. rank: the policy gives every pending job a Priority (a Value in
//     0..1 and the parts it is made of) and orders the queue by it;
//  2. admit, job by job in that order, through small checks that each
//     can say why a job waits: the job must fit some node at all
//     (TooLarge), and its project must stay within its simultaneous
//     limits (ProjectLimit);
//  3. place: among the nodes whose free capacity (cpus, memory and
//     gpus) covers the job, the fullest one (pack), keeping large holes
//     for large jobs; the reservation below may rule out one node.
//
// Every pending job gets exactly one Decision, in queue order, and every
// Decision carries the job's Priority so gstat -j can show it.
//
// # fifo
//
// Jobs are ordered by -p (Spec.Priority) descending, then submission
// time, then id. Value = clamp(0.5 + p/2048, 0, 1), one part "priority".
//
// # fairshare
//
// For a pending job j of user u, primary group g (Job.Group) and project
// P, with the weights W of Policy.Weights (config keys fairshare_*_weight):
//
//	value(j) = W.User        × prio(u)/100
//	         + W.Group       × prio(P)/100
//	         + W.WaitingTime × wait(j)/max wait
//	         − W.UserTime    × U[u].CPUSeconds/max U.CPUSeconds
//	         − W.UserCPU     × U[u].CPUs/max U.CPUs
//	         − W.UserRAM     × U[u].Memory/max U.Memory
//	         − W.GroupTime   × G[g].CPUSeconds/max G.CPUSeconds
//	         − W.GroupCPU    × G[g].CPUs/max G.CPUs
//	         − W.GroupRAM    × G[g].Memory/max G.Memory
//
//	Value(j) = (value(j) + N) / (S + N)
//
// where prio(u) is Snapshot.UserPriority[u] (50 if absent) and prio(P)
// Snapshot.Projects[P].Priority (50 if absent), both clamped to 0..100;
// wait(j) = Now − Submitted in seconds (0 if negative) and "max wait" its
// largest value over the pending jobs of the snapshot; U = UserUsage and
// G = GroupUsage, each maximum taken over all the entries of that map (a
// user or group not in it used nothing); a ratio whose maximum is 0 is 0.
// Every factor is thus 0..1 (a usage factor −1..0). S = W.User + W.Group
// + W.WaitingTime and N = the sum of the six usage weights, so Value maps
// the possible range [−N, S] onto 0..1 (0.5 when every weight is 0); a
// negative weight counts as 0. Decision.Priority.Parts lists the nine
// terms, each with its weight and factor, named user_priority,
// project_priority, waiting_time, user_time, user_cpu, user_ram,
// group_time, group_cpu and group_ram. Jobs of equal Value are ordered by
// -p descending, then submission time, then id.
//
// From the seeds (the Python GoDocker's plugins/fairshare.py) this takes
// the nine weights and their meaning: a job's ticket share is a weighted
// sum of its waiting time and of the recent cpu·seconds, cpus and memory
// of its user and group, plus the user and project priorities, each
// normalised over the jobs of the pass, highest first. It departs from
// them where they were wrong or vague: usage is subtracted (the seeds
// added it, so the heaviest user went first); priorities count as
// weight × priority/100 (the seeds' (1−prio)×(1−weight) vanished at the
// default weights of 1); factors are normalised against the maximum (0 is
// the bottom: no use, no wait) instead of between the minimum and the
// maximum with 0.5 when they are close, so a factor does not jump when
// one job or user is added; the group is the user's primary group (the
// seeds weighed the project's usage there), and fairshare_group_weight
// weighs the project's priority, as in the seeds; Value is normalised to
// 0..1.
//
// # Dependencies
//
// A job with Spec.Dependencies waits (ReasonDependency, naming the first
// job it waits for and the type) until each is met: afterany when the
// listed jobs have all finished, whatever their state; afterok when all
// are done (exit 0); afternotok when all finished otherwise (failed,
// killed, cancelled, rejected). One that can no longer be met (afterok on
// a job that failed, afternotok on one that succeeded) is rejected with
// ReasonDependencyNeverSatisfied, and the server fails it. A task of an
// array with Spec.TaskDependencies (-hold_jid_ad) also waits until the
// task of the same number of each array listed has ended (afterany), or
// that array has ended without creating it. This check comes first.
//
// # Quotas
//
// The jobs of a user in SpentUsers, or of a project in SpentProjects,
// wait with the reason given there (ReasonQuota) until the budget resets
// and the caller stops listing the owner; they do not block others. This
// check comes first: a spent budget is what the user needs to hear of.
//
// # Project limits
//
// A project with HasLimit may not hold more than Limit.CPUs cpus,
// Limit.Memory memory, Limit.GPUs gpus or Limit.Jobs jobs at once (0: no
// limit on that one), counting its running jobs (Running, on any node),
// the jobs it holds outside these nodes (Elsewhere: the caller plans each
// executor apart, and passes there what the others run and have just
// started) and the jobs started earlier in the pass. A job that would go over waits with
// ReasonProjectLimit, even if nodes are free, and does not block others.
// A job that alone needs more than a limit can never start: it is
// rejected (Action Reject, ReasonProjectLimit).
//
// # Big jobs: one reservation, EASY backfill
//
// The highest-ranked job that passes the checks but fits no node now
// gets a reservation (only that one job per pass). Its earliest start is
// computed node by node from the expected ends of the jobs holding the
// node: a running job ends at Started + Spec.Walltime (now, if that is
// past), a job started in this pass at Now + Spec.Walltime, and a job
// without walltime never ends. The node where it could start first is
// reserved for it from that time T (ties: by node name). A lower-ranked
// job may still start now ("backfill") only if it does not delay the
// reservation, that is if:
//
//   - it goes on another node; or
//   - its own walltime ends by T (Now + Walltime ≤ T); or
//   - it fits in what the reserved node will still have free at T after
//     the reserved job (the jobs so backfilled use up that room).
//
// A job that fits now only on the reserved node, and meets none of these,
// waits with ReasonReserved. The reserved job waits with ReasonResources.
// If no time can be computed (the jobs holding every large enough node
// have no walltime), there is no reservation: smaller jobs behind keep
// starting wherever they fit, and the big job waits until the holes line
// up by themselves (as Grid Engine without reservation). Jobs have no
// walltime unless submitted with -l h_rt, so sites that want big jobs
// served should set a default walltime.
//
// # Reasons
//
// A job that passes the checks but fits no node now waits with
// ReasonResources if it is the first such job in queue order (the
// sentence says what it needs and what is free), and with ReasonPriority
// after it: "behind N higher-priority jobs waiting for resources",
// N counted exactly down to the 1000th place (one sentence for every job
// below). A job held back by the reservation waits with ReasonReserved
// and names the reserved job.
//
// # Reject
//
// Action Reject is for a job that can never run as submitted, so that
// waiting is pointless: more than its project may ever hold at once (the
// server refuses such jobs at submission; this catches a limit lowered
// since). A spent quota is not a reason to reject: the budget resets.
package sched

import (
	"sync"
	"time"

	"github.com/godocker/godocker/api"
)

// Node is a machine's total capacity, as the executor reports it.
type Node struct {
	Name   string
	CPUs   int
	Memory int64
	GPUs   int
	// Labels are the node's labels, for node reservations by label
	// (DESIGN.md). Plan does not read them yet.
	Labels map[string]string
}

// Usage is a user's or group's recent use, computed by the caller over
// user_reset_usage_duration.
type Usage struct {
	CPUSeconds float64
	CPUs       float64
	Memory     float64
}

// Weights are the fair-share weights (config keys fairshare_*_weight).
// Group weighs the project's priority (see the package comment).
type Weights struct {
	WaitingTime, UserTime, UserCPU, UserRAM, GroupTime, GroupCPU, GroupRAM, User, Group float64
}

// Policy names the ordering of the queue and its parameters.
type Policy struct {
	Name    string // "fifo" (the default, also for an unknown name) or "fairshare"
	Weights Weights
}

// Policy names.
const (
	FIFO      = "fifo"
	FairShare = "fairshare"
)

// Limit is a project's simultaneous use limit; 0 = no limit on that
// resource.
type Limit struct {
	CPUs   int
	Memory int64
	GPUs   int
	Jobs   int
}

// Project is what scheduling knows of a project.
type Project struct {
	Name     string
	Priority int // 0-100
	Limit    Limit
	HasLimit bool
}

// Snapshot is everything Plan looks at. Plan does not modify it.
type Snapshot struct {
	// Pending jobs, in any order.
	Pending []*api.Job
	// Running jobs (running and suspended): they hold their node's
	// resources and count toward their project's limits.
	Running []*api.Job
	// Elsewhere are jobs that hold resources outside these nodes (on
	// the caller's other executors, running or started earlier in the
	// caller's pass): they count toward their project's limits only.
	// Node names need not be unique across executors, so such jobs must
	// not be in Running.
	Elsewhere []*api.Job
	Nodes     []Node
	Now       time.Time
	Policy    Policy
	// UserPriority is each user's priority, 0..100; a user not in it: 50.
	UserPriority map[string]int
	// Projects by name; a project not in it: priority 50, no limit.
	Projects map[string]Project
	// UserUsage is recent use by user name.
	UserUsage map[string]Usage
	// GroupUsage is recent use by group (Job.Group, the user's primary
	// group).
	GroupUsage map[string]Usage
	// SpentUsers and SpentProjects hold, by user and by project name,
	// why the jobs of an owner whose quota is spent wait (package quota
	// says it); an owner not in them has budget left.
	SpentUsers    map[string]api.Reason
	SpentProjects map[string]api.Reason
	// Depended holds the state of every job a pending job depends on
	// (Spec.Dependencies); a job missing from it is taken as still to
	// come.
	Depended map[int64]api.State
	// DependedTasks holds the state of the tasks that the tasks on offer
	// depend on task by task (Spec.TaskDependencies); a task missing from
	// it was not created yet.
	DependedTasks map[api.JobRef]api.State
}

// Action is what to do with a pending job.
type Action int

// Actions.
const (
	Wait   Action = iota // keep it pending, with a reason
	Start                // start it on Decision.Node
	Reject               // it can never run as submitted; Reason says why
)

// Decision is Plan's verdict on one pending job.
type Decision struct {
	Job      *api.Job
	Action   Action
	Node     string       // for Start
	Reason   api.Reason   // for Wait
	Priority api.Priority // the job's computed priority, for every action
}

// Plan decides which pending jobs start now and where, and why the
// others wait; see the package comment for the rules. It returns one
// Decision per pending job, highest priority first.
func Plan(s Snapshot) []Decision {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	p := newPlanner(&s, sc)
	queue := p.rank()
	out := make([]Decision, len(queue))
	for i, k := range queue {
		j, e := p.s.Pending[k], &p.entries[k]
		d := &out[i]
		d.Job, d.Priority = j, p.priority(k)
		d.Action, d.Node, d.Reason = p.decide(j, e)
	}
	return out
}

// scratch is the memory of a pass that does not outlive it: the entries,
// the fair-share terms and the keys and buffers of the sort, 9 MB for
// 100k jobs. Passes take it from a pool, so that a pass reuses what the
// previous one used instead of allocating and zeroing it again, and the
// garbage collector, which scans the whole snapshot at each cycle, runs
// less often.
type scratch struct {
	entries   []entry
	terms     []jobTerms
	keys, tmp []uint64 // order's packed keys, and sortUint64's buffer
	queue     []int32
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// grow returns (*s)[:n], allocating a new *s if it is too short. The
// elements hold what the previous pass left there.
func grow[T any](s *[]T, n int) []T {
	if cap(*s) < n {
		*s = make([]T, n)
	}
	return (*s)[:n]
}
