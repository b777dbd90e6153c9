package sched

import (
	"cmp"
	"math"
	"math/bits"
	"slices"

	"github.com/godocker/godocker/api"
)

// entry is what ranking and admission read of a pending job, so that
// the jobs themselves are read once, in the order of the snapshot:
// p.entries[k] is Snapshot.Pending[k]'s, and its priority's parts are
// p.parts[k*p.stride:]. An entry holds no pointers, so 100k of them cost
// the garbage collector nothing, and it fills one 64-byte cache line:
// Plan reads the entries in queue order, that is at random.
type entry struct {
	need    res
	value   float64 // the priority's Value
	sec     int64   // submitted: Unix seconds
	id      int64
	nsec    int32 // submitted: nanoseconds
	prio    int32 // -p
	project int32 // index in planner.projectList
	deps    bool  // the job has dependencies to check
}

// compareFIFO orders by -p, then submission, then id.
func compareFIFO(a, b *entry) int {
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
func compareValue(a, b *entry) int {
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
	var fs *fairShare
	var terms []jobTerms
	if p.s.Policy.Name == FairShare {
		fs = newFairShare(p.s)
		terms = grow(&p.scratch.terms, len(p.s.Pending))
	}
	p.entries = grow(&p.scratch.entries, len(p.s.Pending))
	for k, j := range p.s.Pending {
		e := &p.entries[k]
		*e = entry{need: demand(j), project: p.project(j.Project).idx, id: j.ID,
			sec: j.Submitted.Unix(), nsec: int32(j.Submitted.Nanosecond()), prio: int32(j.Spec.Priority),
			deps: len(j.Spec.Dependencies) > 0 || j.TaskID != 0 && len(j.Spec.TaskDependencies) > 0}
		if fs != nil {
			terms[k] = fs.terms(j)
		}
	}
	if fs != nil {
		p.stride = nParts
		p.parts = fs.priorities(p, terms)
		// Values are ≥ 0, whose bits order as the values do (+0: not −0).
		return p.order(compareValue, func(e *entry) uint64 {
			if e.value == 0 {
				return ^uint64(0)
			}
			return ^math.Float64bits(e.value)
		})
	}
	p.stride = 1
	p.parts = fifo(p.entries)
	// The coarse key: -p in the top 11 bits, then the submission second
	// from the earliest, shifted up to the bits right below.
	var first, last int64
	if len(p.entries) > 0 {
		first, last = p.entries[0].sec, p.entries[0].sec
		for _, e := range p.entries {
			first, last = min(first, e.sec), max(last, e.sec)
		}
	}
	span := uint64(min(last-first, 1<<53-1))
	shift := 53 - bits.Len64(span)
	return p.order(compareFIFO, func(e *entry) uint64 {
		return uint64(1024-min(max(e.prio, -1023), 1024))<<53 | uint64(min(e.sec-first, 1<<53-1))<<shift
	})
}

// priority is the priority of pending job k.
func (p *planner) priority(k int32) api.Priority {
	lo := int(k) * p.stride
	return api.Priority{Value: p.entries[k].value, Parts: p.parts[lo : lo+p.stride : lo+p.stride]}
}

// order sorts the queue by compare. A comparison sort of 100k entries
// through a function is slow, so it first sorts integers that pack a
// coarse key (coarse must never order two entries against compare; it
// may tie entries that compare tells apart) with the index, then sorts
// the runs of equal coarse keys with compare.
func (p *planner) order(compare func(a, b *entry) int, coarse func(*entry) uint64) []int32 {
	es := p.entries
	idxBits := bits.Len(uint(len(es)))
	packed := grow(&p.scratch.keys, len(es))
	for k := range es {
		packed[k] = coarse(&es[k])>>idxBits<<idxBits | uint64(k)
	}
	sortUint64(packed, grow(&p.scratch.tmp, len(es)))
	out := grow(&p.scratch.queue, len(es))
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
			slices.SortFunc(out[lo:hi], func(a, b int32) int { return compare(&es[a], &es[b]) })
		}
		lo = hi
	}
	return out
}

// sortUint64 sorts a in increasing order, using tmp (as long as a) as
// scratch. On a large queue it is a least-significant-digit radix sort,
// five times faster than slices.Sort on 100k keys, that skips the digits
// on which all the keys agree (such as the top bits of fair-share
// values, which lie in 0..1).
func sortUint64(a, tmp []uint64) {
	const bits = 11
	const mask = 1<<bits - 1
	if len(a) < 1<<bits {
		slices.Sort(a)
		return
	}
	and, or := ^uint64(0), uint64(0)
	for _, x := range a {
		and, or = and&x, or|x
	}
	src, dst := a, tmp
	for shift := 0; shift < 64; shift += bits {
		if (and^or)>>shift&mask == 0 {
			continue
		}
		var next [1 << bits]int // where the next key of each digit goes
		for _, x := range src {
			next[x>>shift&mask]++
		}
		sum := 0
		for d, n := range next {
			next[d], sum = sum, sum+n
		}
		for _, x := range src {
			d := x >> shift & mask
			dst[next[d]] = x
			next[d]++
		}
		src, dst = dst, src
	}
	copy(a, src) // src is a or the scratch, whichever the last pass filled
}

// fifo gives each job its normalised -p as priority.
func fifo(es []entry) []api.PriorityPart {
	parts := make([]api.PriorityPart, len(es))
	for i := range es {
		v := clamp01(0.5 + float64(es[i].prio)/2048)
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
	// The group of the user's last job and its index in groups: a job's
	// group is its user's primary group, so this saves looking it up by
	// name for each of 100k jobs.
	group      string
	groupIndex int32
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
		f.users = append(f.users, userTerms{prio: percent(prio), usage: factors(f.s.UserUsage[j.User], f.maxUser), groupIndex: -1})
		f.userIndex[j.User] = u
	}
	t := &f.users[u]
	if t.groupIndex >= 0 && t.group == j.Group {
		return jobTerms{u, t.groupIndex}
	}
	g, ok := f.groupIndex[j.Group]
	if !ok {
		g = int32(len(f.groups))
		f.groups = append(f.groups, factors(f.s.GroupUsage[j.Group], f.maxGroup))
		f.groupIndex[j.Group] = g
	}
	t.group, t.groupIndex = j.Group, g
	return jobTerms{u, g}
}

func factors(v, top Usage) usageFactors {
	return usageFactors{time: -ratio(v.CPUSeconds, top.CPUSeconds), cpu: -ratio(v.CPUs, top.CPUs), ram: -ratio(v.Memory, top.Memory)}
}

// priorities sets each entry's value, and returns the parts, nParts per
// job in the order of the snapshot.
func (f *fairShare) priorities(p *planner, terms []jobTerms) []api.PriorityPart {
	now := f.s.Now
	nowSec, nowNsec := now.Unix(), now.Nanosecond()
	var maxWait float64
	for k := range p.entries { // the wait, kept in value meanwhile
		e := &p.entries[k]
		w := max(float64(nowSec-e.sec)+float64(nowNsec-int(e.nsec))/1e9, 0)
		e.value = w
		maxWait = max(maxWait, w)
	}
	parts := make([]api.PriorityPart, nParts*len(p.entries))
	for k := range p.entries {
		e := &p.entries[k]
		u, g := &f.users[terms[k].user], &f.groups[terms[k].group]
		ps := parts[k*nParts : (k+1)*nParts : (k+1)*nParts]
		ps[0] = api.PriorityPart{Name: "user_priority", Weight: f.w.User, Factor: u.prio}
		ps[1] = api.PriorityPart{Name: "project_priority", Weight: f.w.Group, Factor: p.projectList[e.project].prio}
		ps[2] = api.PriorityPart{Name: "waiting_time", Weight: f.w.WaitingTime, Factor: ratio(e.value, maxWait)}
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
		e.value = v
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
