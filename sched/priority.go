package sched

import (
	"cmp"
	"math"
	"math/bits"
	"slices"

	"github.com/godocker/godocker/api"
)

// entry is a pending job as the pipeline sees it. It holds no pointers,
// so 100k of them cost the garbage collector nothing: the job is
// Snapshot.Pending[i], its priority's parts are planner.parts[i*stride:].
type entry struct {
	need    res
	wall    int64 // seconds; 0 = none
	value   float64
	i       int32 // index in Snapshot.Pending
	project int32 // index in planner.projectList
	deps    bool  // the job has dependencies to check (read once, in rank)
}

// sortKey holds what the queue is ordered by, compactly, so that sorting
// 100k jobs does not chase pointers.
type sortKey struct {
	value float64 // fairshare only
	sec   int64   // submitted
	id    int64
	nsec  int32
	prio  int32 // -p
}

// compareFIFO orders by -p, then submission, then id.
func compareFIFO(a, b sortKey) int {
	if c := cmp.Compare(b.prio, a.prio); c != 0 {
		return c
	}
	if c := cmp.Compare(a.sec, b.sec); c != 0 {
		return c
	}
	if c := cmp.Compare(a.nsec, b.nsec); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// compareValue orders by value, then as fifo.
func compareValue(a, b sortKey) int {
	if c := cmp.Compare(b.value, a.value); c != 0 {
		return c
	}
	return compareFIFO(a, b)
}

// rank fills p.entries and p.parts with every pending job and its
// priority under the snapshot's policy, and returns the queue in order,
// highest first, as indexes into p.entries. It reads each job once, in
// the order of the snapshot.
func (p *planner) rank() []int32 {
	pending := p.s.Pending
	keys := make([]sortKey, len(pending))
	p.entries = make([]entry, len(pending))
	var fs *fairShare
	var terms []jobTerms
	if p.s.Policy.Name == FairShare {
		fs = newFairShare(p.s)
		terms = make([]jobTerms, len(pending))
	}
	for i, j := range pending {
		if fs != nil {
			terms[i] = fs.terms(j)
		}
		keys[i] = sortKey{sec: j.Submitted.Unix(), nsec: int32(j.Submitted.Nanosecond()), id: j.ID, prio: int32(j.Spec.Priority)}
		p.entries[i] = entry{need: demand(j), wall: max(j.Spec.Walltime, 0), i: int32(i), project: p.project(j.Project).idx,
			deps: len(j.Spec.Dependencies) > 0 || j.TaskID != 0 && len(j.Spec.TaskDependencies) > 0}
	}
	if fs != nil {
		p.stride = nParts
		p.parts = fs.priorities(p, keys, terms)
		// Values are ≥ 0, whose bits order as the values do (+0: not −0).
		return order(keys, compareValue, func(k sortKey) uint64 {
			if k.value == 0 {
				return ^uint64(0)
			}
			return ^math.Float64bits(k.value)
		})
	}
	p.stride = 1
	p.parts = fifo(p.entries, keys)
	// The coarse key: -p in the top 11 bits, then the submission second
	// from the earliest, shifted up to the bits right below.
	var first, last int64
	if len(keys) > 0 {
		first, last = keys[0].sec, keys[0].sec
		for _, k := range keys {
			first, last = min(first, k.sec), max(last, k.sec)
		}
	}
	span := uint64(min(last-first, 1<<53-1))
	shift := 53 - bits.Len64(span)
	return order(keys, compareFIFO, func(k sortKey) uint64 {
		return uint64(1024-min(max(k.prio, -1023), 1024))<<53 | uint64(min(k.sec-first, 1<<53-1))<<shift
	})
}

// priority is the priority of entry e.
func (p *planner) priority(e *entry) api.Priority {
	lo := int(e.i) * p.stride
	return api.Priority{Value: e.value, Parts: p.parts[lo : lo+p.stride : lo+p.stride]}
}

// order sorts the queue by compare. A comparison sort of 100k structs
// through a function is slow, so it first sorts integers that pack a
// coarse key (coarse must never order two keys against compare; it may
// tie keys that compare tells apart) with the index, then sorts the runs
// of equal coarse keys with compare.
func order(keys []sortKey, compare func(a, b sortKey) int, coarse func(sortKey) uint64) []int32 {
	idxBits := bits.Len(uint(len(keys)))
	packed := make([]uint64, len(keys))
	for i, k := range keys {
		packed[i] = coarse(k)>>idxBits<<idxBits | uint64(i)
	}
	slices.Sort(packed)
	out := make([]int32, len(keys))
	mask := uint64(1)<<idxBits - 1
	for i, k := range packed {
		out[i] = int32(k & mask)
	}
	for lo := 0; lo < len(packed); {
		hi := lo + 1
		for hi < len(packed) && packed[hi]>>idxBits == packed[lo]>>idxBits {
			hi++
		}
		if hi-lo > 1 {
			slices.SortFunc(out[lo:hi], func(a, b int32) int { return compare(keys[a], keys[b]) })
		}
		lo = hi
	}
	return out
}

// fifo gives each job its normalised -p as priority.
func fifo(es []entry, keys []sortKey) []api.PriorityPart {
	parts := make([]api.PriorityPart, len(es))
	for i := range es {
		v := clamp01(0.5 + float64(keys[i].prio)/2048)
		parts[i] = api.PriorityPart{Name: "priority", Weight: 1, Factor: v}
		es[i].value = v
	}
	return parts
}

// fairShare computes the fair-share priority of the package comment.
type fairShare struct {
	s            *Snapshot
	w            Weights
	span, offset float64 // Value = (value + offset) / span
	maxUser      Usage
	maxGroup     Usage
	userIndex    map[string]int32
	groupIndex   map[string]int32
	users        []userTerms
	groups       []usageFactors
}

// userTerms are what a user brings to the priority of each of their jobs.
type userTerms struct {
	prio  float64 // 0..1
	usage usageFactors
}

// usageFactors are a user's or group's three usage factors, each −1..0.
type usageFactors struct{ time, cpu, ram float64 }

// jobTerms index the terms a job shares with others.
type jobTerms struct{ user, group int32 }

// nParts is the number of parts of a fair-share priority.
const nParts = 9

func newFairShare(s *Snapshot) *fairShare {
	w := s.Policy.Weights
	for _, f := range []*float64{&w.WaitingTime, &w.UserTime, &w.UserCPU, &w.UserRAM, &w.GroupTime, &w.GroupCPU, &w.GroupRAM, &w.User, &w.Group} {
		*f = max(*f, 0)
	}
	neg := w.UserTime + w.UserCPU + w.UserRAM + w.GroupTime + w.GroupCPU + w.GroupRAM
	return &fairShare{
		s: s, w: w,
		span: w.User + w.Group + w.WaitingTime + neg, offset: neg,
		maxUser: maxUsage(s.UserUsage), maxGroup: maxUsage(s.GroupUsage),
		userIndex: map[string]int32{}, groupIndex: map[string]int32{},
	}
}

func maxUsage(m map[string]Usage) Usage {
	var u Usage
	for _, v := range m {
		u.CPUSeconds = max(u.CPUSeconds, v.CPUSeconds)
		u.CPUs = max(u.CPUs, v.CPUs)
		u.Memory = max(u.Memory, v.Memory)
	}
	return u
}

// terms returns the user and group terms of a job.
func (f *fairShare) terms(j *api.Job) jobTerms {
	u, ok := f.userIndex[j.User]
	if !ok {
		prio, listed := f.s.UserPriority[j.User]
		if !listed {
			prio = defaultPriority
		}
		u = int32(len(f.users))
		f.users = append(f.users, userTerms{prio: percent(prio), usage: factors(f.s.UserUsage[j.User], f.maxUser)})
		f.userIndex[j.User] = u
	}
	g, ok := f.groupIndex[j.Group]
	if !ok {
		g = int32(len(f.groups))
		f.groups = append(f.groups, factors(f.s.GroupUsage[j.Group], f.maxGroup))
		f.groupIndex[j.Group] = g
	}
	return jobTerms{u, g}
}

func factors(v, top Usage) usageFactors {
	return usageFactors{time: -ratio(v.CPUSeconds, top.CPUSeconds), cpu: -ratio(v.CPUs, top.CPUs), ram: -ratio(v.Memory, top.Memory)}
}

// priorities sets each entry's and key's value, and returns the parts,
// nParts per job in the order of the snapshot.
func (f *fairShare) priorities(p *planner, keys []sortKey, terms []jobTerms) []api.PriorityPart {
	now := f.s.Now
	nowSec, nowNsec := now.Unix(), now.Nanosecond()
	var maxWait float64
	for i, k := range keys { // the wait, kept in value meanwhile
		w := max(float64(nowSec-k.sec)+float64(nowNsec-int(k.nsec))/1e9, 0)
		keys[i].value = w
		maxWait = max(maxWait, w)
	}
	parts := make([]api.PriorityPart, nParts*len(keys))
	for i := range keys {
		u, g := &f.users[terms[i].user], &f.groups[terms[i].group]
		ps := parts[i*nParts : (i+1)*nParts : (i+1)*nParts]
		ps[0] = api.PriorityPart{Name: "user_priority", Weight: f.w.User, Factor: u.prio}
		ps[1] = api.PriorityPart{Name: "project_priority", Weight: f.w.Group, Factor: p.projectList[p.entries[i].project].prio}
		ps[2] = api.PriorityPart{Name: "waiting_time", Weight: f.w.WaitingTime, Factor: ratio(keys[i].value, maxWait)}
		ps[3] = api.PriorityPart{Name: "user_time", Weight: f.w.UserTime, Factor: u.usage.time}
		ps[4] = api.PriorityPart{Name: "user_cpu", Weight: f.w.UserCPU, Factor: u.usage.cpu}
		ps[5] = api.PriorityPart{Name: "user_ram", Weight: f.w.UserRAM, Factor: u.usage.ram}
		ps[6] = api.PriorityPart{Name: "group_time", Weight: f.w.GroupTime, Factor: g.time}
		ps[7] = api.PriorityPart{Name: "group_cpu", Weight: f.w.GroupCPU, Factor: g.cpu}
		ps[8] = api.PriorityPart{Name: "group_ram", Weight: f.w.GroupRAM, Factor: g.ram}
		v := 0.5
		if f.span > 0 {
			var sum float64
			for _, pt := range ps {
				sum += pt.Weight * pt.Factor
			}
			v = clamp01((sum + f.offset) / f.span)
		}
		p.entries[i].value = v
		keys[i].value = v
	}
	return parts
}

// defaultPriority is the priority of a user or project the snapshot
// does not list.
const defaultPriority = 50

func percent(p int) float64 { return float64(min(max(p, 0), 100)) / 100 }

// ratio is v/top clamped to 0..1, and 0 when top is 0.
func ratio(v, top float64) float64 {
	if top <= 0 || v <= 0 {
		return 0
	}
	return min(v/top, 1)
}

func clamp01(v float64) float64 { return min(max(v, 0), 1) }
