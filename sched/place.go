package sched

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/godocker/godocker/api"
)

// res is an amount of the resources placement counts.
type res struct {
	cpus int
	mem  int64
	gpus int
}

func (r res) covers(n res) bool { return r.cpus >= n.cpus && r.mem >= n.mem && r.gpus >= n.gpus }
func (r res) plus(n res) res    { return res{r.cpus + n.cpus, r.mem + n.mem, r.gpus + n.gpus} }
func (r res) minus(n res) res   { return res{r.cpus - n.cpus, r.mem - n.mem, r.gpus - n.gpus} }

// demand is what a job holds while it runs: its resolved cpus and memory
// (Run) when the server has resolved them, else what it asked for.
func demand(j *api.Job) res {
	r := res{cpus: j.CPUs(), mem: j.Spec.Memory, gpus: max(j.Spec.GPUs, 0)}
	if j.Run != nil {
		r.cpus, r.mem = max(j.Run.CPUs, 1), j.Run.Memory
	}
	return r
}

// nodeState is a node's capacity and what is free of it in the plan so far.
type nodeState struct {
	name string
	cap  res
	free res
}

// projectState is a project's limits and its use in the plan so far.
type projectState struct {
	name     string
	idx      int32   // in planner.projectList
	prio     float64 // 0..1, for fair share
	hasLimit bool
	limit    Limit
	use      res
	jobs     int
	// limitReasons memoises why the project's jobs wait for its limits,
	// by the resource at its limit and what the job needs of it, while
	// the project's use stays the same: 100k waiting jobs ask for a few
	// sentences, and a lookup by an integer is cheap.
	limitReasons [nLimits]map[int64]api.Reason
}

// limitResource is a resource a project may be at its limit of.
type limitResource int

const (
	limitCPU limitResource = iota
	limitMemory
	limitGPU
	limitJobs
	nLimits
)

// limitMessage says that the project is at its limit of a resource, of
// which it uses used and the job needs need.
func (pr *projectState) limitMessage(resource limitResource, used, need int64) string {
	switch resource {
	case limitMemory:
		return fmt.Sprintf("project %s at its limit of %s memory (%s in use, the job needs %s)", pr.name,
			api.FormatMemory(pr.limit.Memory), api.FormatMemory(used), api.FormatMemory(need))
	case limitCPU:
		return fmt.Sprintf("project %s at its limit of %s (%d in use, the job needs %d)", pr.name, count(pr.limit.CPUs, "cpu"), used, need)
	case limitGPU:
		return fmt.Sprintf("project %s at its limit of %s (%d in use, the job needs %d)", pr.name, count(pr.limit.GPUs, "gpu"), used, need)
	}
	return fmt.Sprintf("project %s at its limit of %s (%d running)", pr.name, count(pr.limit.Jobs, "job"), used)
}

// ending is resources a node gets back at a job's expected end.
type ending struct {
	at   time.Time
	node int
	need res
}

// reservation holds a node for the top job that fits nowhere now.
type reservation struct {
	job  *api.Job
	need res
	node int
	at   time.Time
	room res // free on the node at `at`, once the reserved job is placed
}

// planner is the state of one pass: what is free, what each project
// holds, the reservation. The snapshot stays read-only.
type planner struct {
	s        *Snapshot
	nodes    []nodeState
	index    map[string]int // node name → index in nodes
	largest  res            // componentwise largest capacity of any node
	maxFree  res            // componentwise largest free of any node (an upper bound on what fits)
	projects map[string]*projectState
	endings  []ending // jobs started in this pass that have a walltime
	entries  []entry  // the pending jobs, in the order of the snapshot
	parts    []api.PriorityPart
	stride   int      // parts per job
	scratch  *scratch // reused from pass to pass
	// projectList holds every project seen, at its idx.
	projectList []*projectState
	resv        *reservation
	triedRes    bool // the top job that fits nowhere was seen
	behind      int  // jobs so far that fit nowhere now

	// reasons memoises wait reasons while nothing starts: 100k waiting
	// jobs ask for a few distinct sentences.
	reasons map[reasonKey]api.Reason
}

type reasonKey struct {
	code string
	need res
}

func newPlanner(s *Snapshot, sc *scratch) *planner {
	p := &planner{s: s, scratch: sc, nodes: make([]nodeState, len(s.Nodes)), projects: map[string]*projectState{}, reasons: map[reasonKey]api.Reason{}}
	index := make(map[string]int, len(s.Nodes))
	p.index = index
	for i, n := range s.Nodes {
		c := res{max(n.CPUs, 0), max(n.Memory, 0), max(n.GPUs, 0)}
		p.nodes[i] = nodeState{name: n.Name, cap: c, free: c}
		index[n.Name] = i
		p.largest = res{max(p.largest.cpus, c.cpus), max(p.largest.mem, c.mem), max(p.largest.gpus, c.gpus)}
	}
	for _, j := range s.Running {
		need := demand(j)
		if i, ok := index[j.Node]; ok {
			p.nodes[i].free = p.nodes[i].free.minus(need)
		}
		p.hold(j.Project, need)
	}
	for _, j := range s.Elsewhere {
		p.hold(j.Project, demand(j))
	}
	p.updateMaxFree()
	return p
}

// project returns the state of a project, creating it on first use.
func (p *planner) project(name string) *projectState {
	if pr, ok := p.projects[name]; ok {
		return pr
	}
	pr := &projectState{name: name, idx: int32(len(p.projectList)), prio: percent(defaultPriority)}
	p.projectList = append(p.projectList, pr)
	if def, ok := p.s.Projects[name]; ok {
		pr.prio, pr.hasLimit, pr.limit = percent(def.Priority), def.HasLimit, def.Limit
	}
	p.projects[name] = pr
	return pr
}

// hold counts a job that holds need toward its project's limits.
func (p *planner) hold(project string, need res) {
	pr := p.project(project)
	pr.use = pr.use.plus(need)
	pr.jobs++
}

func (p *planner) updateMaxFree() {
	var m res
	for _, n := range p.nodes {
		m = res{max(m.cpus, n.free.cpus), max(m.mem, n.free.mem), max(m.gpus, n.free.gpus)}
	}
	p.maxFree = m
}

// A check is one admission rule: it says whether the job may go on to
// placement (Start), and if not whether it waits or is rejected, and why.
type check func(p *planner, j *api.Job, e *entry) (api.Reason, Action)

// admission is the chain of checks a job passes before placement.
var admission = []check{(*planner).dependenciesMet, (*planner).withinQuota, (*planner).feasible, (*planner).withinProjectLimit}

// dependenciesMet: every job the job depends on ended as it must.
func (p *planner) dependenciesMet(j *api.Job, e *entry) (api.Reason, Action) {
	if !e.deps {
		return api.Reason{}, Start
	}
	for _, d := range j.Spec.Dependencies {
		for _, id := range d.Jobs {
			st, ok := p.s.Depended[id]
			if !ok || !st.Finished() {
				return api.Reason{Code: api.ReasonDependency, Message: fmt.Sprintf("waiting for job %d to end (%s)", id, d.Type)}, Wait
			}
			if (d.Type == api.AfterOK) != (st == api.Done) && d.Type != api.AfterAny {
				return api.Reason{Code: api.ReasonDependencyNeverSatisfied, Message: fmt.Sprintf("job %d ended %s, so its dependency %s:%d can never be met", id, st, d.Type, id)}, Reject
			}
		}
	}
	if j.TaskID != 0 {
		for _, a := range j.Spec.TaskDependencies {
			if st, ok := p.s.DependedTasks[api.JobRef{ID: a, Task: j.TaskID}]; ok && st.Finished() {
				continue
			}
			if p.s.Depended[a].Finished() {
				continue // the array ended without that task
			}
			return api.Reason{Code: api.ReasonDependency, Message: fmt.Sprintf("waiting for task %d.%d to end (-hold_jid_ad)", a, j.TaskID)}, Wait
		}
	}
	return api.Reason{}, Start
}

// decide runs job j, whose entry is e, through admission and placement
// and, if it starts, records what it takes.
func (p *planner) decide(j *api.Job, e *entry) (Action, string, api.Reason) {
	for _, c := range admission {
		if r, a := c(p, j, e); a != Start {
			return a, "", r
		}
	}
	i, r, ok := p.place(j, e)
	if !ok {
		return Wait, "", r
	}
	p.take(j, e, i)
	return Start, p.nodes[i].name, api.Reason{}
}

// withinQuota: neither the job's user nor its project has spent a
// budget.
func (p *planner) withinQuota(j *api.Job, e *entry) (api.Reason, Action) {
	if len(p.s.SpentUsers) == 0 && len(p.s.SpentProjects) == 0 {
		return api.Reason{}, Start
	}
	if r, ok := p.s.SpentUsers[j.User]; ok {
		return r, Wait
	}
	if r, ok := p.s.SpentProjects[p.projectList[e.project].name]; ok {
		return r, Wait
	}
	return api.Reason{}, Start
}

// feasible: the job fits some node when that node is empty.
func (p *planner) feasible(_ *api.Job, e *entry) (api.Reason, Action) {
	if p.largest.covers(e.need) {
		for _, n := range p.nodes {
			if n.cap.covers(e.need) {
				return api.Reason{}, Start
			}
		}
	}
	return p.reason(reasonKey{code: api.ReasonTooLarge, need: e.need}, func() string {
		return fmt.Sprintf("needs %s; no node is that large (largest: %s)", size(e.need, e.need.gpus > 0), largest(p.nodes, func(n nodeState) res { return n.cap }, e.need.gpus > 0))
	}), Wait
}

// withinProjectLimit: the job's project stays within its simultaneous
// limits, and could hold the job at all.
func (p *planner) withinProjectLimit(_ *api.Job, e *entry) (api.Reason, Action) {
	pr := p.projectList[e.project]
	if !pr.hasLimit {
		return api.Reason{}, Start
	}
	l, use, need := pr.limit, pr.use, e.need
	if r, over := OverLimit(pr.name, l, need.cpus, need.mem, need.gpus); over {
		return r, Reject
	}
	// The sentence names the first limit the job would pass, with the
	// numbers of that resource only.
	var resource limitResource
	var used, n int64
	switch {
	case l.CPUs > 0 && use.cpus+need.cpus > l.CPUs:
		resource, used, n = limitCPU, int64(use.cpus), int64(need.cpus)
	case l.Memory > 0 && use.mem+need.mem > l.Memory:
		resource, used, n = limitMemory, use.mem, need.mem
	case l.GPUs > 0 && use.gpus+need.gpus > l.GPUs:
		resource, used, n = limitGPU, int64(use.gpus), int64(need.gpus)
	case l.Jobs > 0 && pr.jobs+1 > l.Jobs:
		resource, used, n = limitJobs, int64(pr.jobs), 1
	default:
		return api.Reason{}, Start
	}
	m := pr.limitReasons[resource]
	r, ok := m[n]
	if !ok {
		if m == nil {
			m = map[int64]api.Reason{}
			pr.limitReasons[resource] = m
		}
		r = api.Reason{Code: api.ReasonProjectLimit, Message: pr.limitMessage(resource, used, n)}
		m[n] = r
	}
	return r, Wait
}

// OverLimit says why a job that needs cpus, memory and gpus can never run
// in project, whose simultaneous limit is l, if it alone needs more than
// l allows. The server asks it at submission, Plan at every pass.
func OverLimit(project string, l Limit, cpus int, memory int64, gpus int) (api.Reason, bool) {
	var msg string
	switch {
	case l.CPUs > 0 && cpus > l.CPUs:
		msg = fmt.Sprintf("needs %s; project %s may never hold more than %d at once", count(cpus, "cpu"), project, l.CPUs)
	case l.Memory > 0 && memory > l.Memory:
		msg = fmt.Sprintf("needs %s memory; project %s may never hold more than %s at once", api.FormatMemory(memory), project, api.FormatMemory(l.Memory))
	case l.GPUs > 0 && gpus > l.GPUs:
		msg = fmt.Sprintf("needs %s; project %s may never hold more than %d at once", count(gpus, "gpu"), project, l.GPUs)
	default:
		return api.Reason{}, false
	}
	return api.Reason{Code: api.ReasonProjectLimit, Message: msg}, true
}

// place picks the fullest node whose free capacity covers the job and
// that the reservation allows. The first job that fits nowhere gets the
// reservation.
func (p *planner) place(j *api.Job, e *entry) (int, api.Reason, bool) {
	best, held := -1, false
	if p.maxFree.covers(e.need) {
		for i := range p.nodes {
			n := &p.nodes[i]
			if !n.free.covers(e.need) || best >= 0 && !fuller(n, &p.nodes[best]) {
				continue
			}
			if p.resv != nil && i == p.resv.node && !p.backfills(j, e) {
				held = true
				continue
			}
			best = i
		}
	}
	if best >= 0 {
		return best, api.Reason{}, true
	}
	if held {
		r := p.resv
		return -1, p.reason(reasonKey{code: api.ReasonReserved, need: e.need}, func() string {
			return fmt.Sprintf("waiting behind job %d, which has resources reserved on %s (needs %s)", r.job.ID, p.nodes[r.node].name, size(r.need, r.need.gpus > 0))
		}), false
	}
	p.behind++
	if !p.triedRes {
		p.triedRes = true
		if p.reserve(j, e) {
			return -1, api.Reason{Code: api.ReasonResources, Message: p.resources(e.need) + "; " + p.nodes[p.resv.node].name + " is reserved for it"}, false
		}
		return -1, p.reason(reasonKey{code: api.ReasonResources, need: e.need}, func() string { return p.resources(e.need) }), false
	}
	if n := p.behind - 1; n <= maxBehind {
		return -1, api.Reason{Code: api.ReasonPriority, Message: fmt.Sprintf("behind %s waiting for resources; %s", count(n, "higher-priority job"), p.resources(e.need))}, false
	}
	return -1, p.reason(reasonKey{code: api.ReasonPriority, need: e.need}, func() string {
		return fmt.Sprintf("behind more than %d higher-priority jobs waiting for resources; %s", maxBehind, p.resources(e.need))
	}), false
}

// maxBehind is the deepest place in the queue that a reason counts
// exactly: below it, the sentence is the same for every job, so that a
// queue of 100k jobs does not get 100k new sentences (and store writes)
// each time one job starts.
const maxBehind = 1000

// fuller orders nodes fullest first (least free cpus, memory, gpus), then
// by name, for a stable choice.
func fuller(a, b *nodeState) bool {
	if c := cmp.Compare(a.free.cpus, b.free.cpus); c != 0 {
		return c < 0
	}
	if c := cmp.Compare(a.free.mem, b.free.mem); c != 0 {
		return c < 0
	}
	if c := cmp.Compare(a.free.gpus, b.free.gpus); c != 0 {
		return c < 0
	}
	return a.name < b.name
}

// backfills reports whether a job may start on the reserved node without
// delaying the reservation: it ends by the reserved time, or it fits in
// the room the reserved job leaves.
func (p *planner) backfills(j *api.Job, e *entry) bool {
	r := p.resv
	if wall := j.Spec.Walltime; wall > 0 && !p.s.Now.Add(time.Duration(wall)*time.Second).After(r.at) {
		return true
	}
	return r.room.covers(e.need)
}

// take records a start on node i.
func (p *planner) take(j *api.Job, e *entry, i int) {
	n := &p.nodes[i]
	n.free = n.free.minus(e.need)
	pr := p.projectList[e.project]
	pr.use = pr.use.plus(e.need)
	pr.jobs++
	for _, m := range pr.limitReasons {
		clear(m) // the sentences say what it used
	}
	var end time.Time
	wall := j.Spec.Walltime
	if wall > 0 {
		end = p.s.Now.Add(time.Duration(wall) * time.Second)
		p.endings = append(p.endings, ending{at: end, node: i, need: e.need})
	}
	if r := p.resv; r != nil && i == r.node && (wall <= 0 || end.After(r.at)) {
		r.room = r.room.minus(e.need)
	}
	p.updateMaxFree()
	clear(p.reasons)
}

// reserve computes the earliest time the job could start on some node
// from the expected ends of the jobs there, and reserves that node.
func (p *planner) reserve(job *api.Job, e *entry) bool {
	var ends []ending
	for _, j := range p.s.Running {
		if j.Spec.Walltime <= 0 {
			continue
		}
		i, ok := p.index[j.Node]
		if !ok {
			continue
		}
		start := j.Started
		if start.IsZero() {
			start = p.s.Now
		}
		at := start.Add(time.Duration(j.Spec.Walltime) * time.Second)
		if at.Before(p.s.Now) {
			at = p.s.Now
		}
		ends = append(ends, ending{at: at, node: i, need: demand(j)})
	}
	ends = append(ends, p.endings...)
	slices.SortFunc(ends, func(a, b ending) int { return a.at.Compare(b.at) })

	var best *reservation
	for i, n := range p.nodes {
		if !n.cap.covers(e.need) {
			continue
		}
		free, found := n.free, false
		var at time.Time
		for _, end := range ends {
			if end.node != i {
				continue
			}
			if found && end.at.After(at) {
				break
			}
			free = free.plus(end.need)
			if !found && free.covers(e.need) {
				found, at = true, end.at
			}
		}
		if found && (best == nil || at.Before(best.at) || at.Equal(best.at) && n.name < p.nodes[best.node].name) {
			best = &reservation{job: job, need: e.need, node: i, at: at, room: free.minus(e.need)}
		}
	}
	p.resv = best
	clear(p.reasons)
	return best != nil
}

// reason returns the memoised reason for k, building its message once.
func (p *planner) reason(k reasonKey, msg func() string) api.Reason {
	if r, ok := p.reasons[k]; ok {
		return r
	}
	r := api.Reason{Code: k.code, Message: msg()}
	p.reasons[k] = r
	return r
}

// resources says what a job that fits nowhere now needs and what is free.
func (p *planner) resources(need res) string {
	if len(p.nodes) == 0 {
		return fmt.Sprintf("needs %s; no node is available", size(need, need.gpus > 0))
	}
	return fmt.Sprintf("needs %s; the largest free node has %s", size(need, need.gpus > 0),
		largest(p.nodes, func(n nodeState) res { return n.free }, need.gpus > 0))
}

// largest describes the largest of the nodes' amounts (by cpus, then
// memory, then gpus).
func largest(nodes []nodeState, amount func(nodeState) res, gpus bool) string {
	if len(nodes) == 0 {
		return "none"
	}
	best := amount(nodes[0])
	for _, n := range nodes[1:] {
		a := amount(n)
		if a.cpus > best.cpus || a.cpus == best.cpus && (a.mem > best.mem || a.mem == best.mem && a.gpus > best.gpus) {
			best = a
		}
	}
	return size(res{max(best.cpus, 0), max(best.mem, 0), max(best.gpus, 0)}, gpus)
}

// size says an amount in words: "2 cpus and 4G memory", or with gpus
// "2 cpus, 4G memory and 1 gpu".
func size(r res, gpus bool) string {
	if gpus {
		return fmt.Sprintf("%s, %s memory and %s", count(r.cpus, "cpu"), api.FormatMemory(r.mem), count(r.gpus, "gpu"))
	}
	return fmt.Sprintf("%s and %s memory", count(r.cpus, "cpu"), api.FormatMemory(r.mem))
}

func count(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
