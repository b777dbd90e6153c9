package sched

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
)

func TestPlan(t *testing.T) {
	n1 := Node{Name: "n1", CPUs: 4, Memory: 8 * gib}
	n2 := Node{Name: "n2", CPUs: 2, Memory: 4 * gib}
	for _, tc := range []struct {
		name string
		s    Snapshot
		want string
	}{
		{"fifo fills the node then waits",
			Snapshot{Pending: jobs(job(3, 2, gib), job(1, 2, gib), job(2, 2, gib)), Nodes: []Node{n1}},
			"1@n1 2@n1 3:Resources"},
		{"running jobs hold capacity",
			Snapshot{Pending: jobs(job(5, 1, gib)), Running: jobs(running(4, "n1", 4, gib)), Nodes: []Node{n1}},
			"5:Resources"},
		{"memory counts as well as cpus",
			Snapshot{Pending: jobs(job(1, 1, 6*gib), job(2, 1, 6*gib)), Nodes: []Node{n1}},
			"1@n1 2:Resources"},
		{"gpus count as well",
			Snapshot{Pending: jobs(job(1, 1, gib, gpus(2)), job(2, 1, gib, gpus(1)), job(3, 1, gib)), Nodes: []Node{gpuNode("g", 4, 2)}},
			"1@g 2:Resources 3@g"},
		{"a gpu job goes to the gpu node",
			Snapshot{Pending: jobs(job(1, 1, gib, gpus(1))), Nodes: []Node{node("a", 2), gpuNode("g", 8, 1)}},
			"1@g"},
		{"a big job does not block a small one (no walltimes: no reservation)",
			Snapshot{Pending: jobs(job(1, 4, gib), job(2, 1, gib)), Running: jobs(running(9, "n1", 2, gib)), Nodes: []Node{n1}},
			"1:Resources 2@n1"},
		{"larger than any node",
			Snapshot{Pending: jobs(job(1, 64, gib)), Nodes: []Node{n1, n2}},
			"1:TooLarge"},
		{"larger than any node in one resource",
			Snapshot{Pending: jobs(job(1, 1, gib, gpus(1))), Nodes: []Node{n1, n2}},
			"1:TooLarge"},
		{"pack: the fullest node that fits",
			Snapshot{Pending: jobs(job(1, 1, gib), job(2, 3, gib)), Nodes: []Node{n1, n2}},
			"1@n2 2@n1"},
		{"no nodes",
			Snapshot{Pending: jobs(job(1, 1, gib))},
			"1:TooLarge"},
		{"running on an unknown node is ignored",
			Snapshot{Pending: jobs(job(1, 4, gib)), Running: jobs(running(2, "gone", 4, gib)), Nodes: []Node{n1}},
			"1@n1"},
		{"fifo: submission time before id",
			Snapshot{Pending: jobs(job(1, 4, gib, waited(time.Minute)), job(2, 4, gib, waited(time.Hour))), Nodes: []Node{n1}, Now: t0},
			"2@n1 1:Resources"},
		{"unknown policy is fifo",
			Snapshot{Pending: jobs(job(2, 4, gib), job(1, 4, gib)), Nodes: []Node{n1}, Policy: Policy{Name: "lottery"}},
			"1@n1 2:Resources"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := verdicts(Plan(tc.s)); got != tc.want {
				t.Errorf("Plan = %q; want %q", got, tc.want)
			}
		})
	}
}

func TestPriorityBeforeOrder(t *testing.T) {
	low, high := job(1, 4, gib), job(2, 4, gib, prio(10))
	got := verdicts(Plan(Snapshot{Pending: jobs(low, high), Nodes: []Node{{Name: "n", CPUs: 4, Memory: 8 * gib}}}))
	if got != "2@n 1:Resources" {
		t.Errorf("Plan = %q; the higher -p job should start first", got)
	}
}

func TestFIFOPriorityValue(t *testing.T) {
	for _, tc := range []struct {
		p    int
		want float64
	}{{0, 0.5}, {1024, 1}, {-1023, 0.5 - 1023.0/2048}, {512, 0.75}, {5000, 1}} {
		ds := Plan(Snapshot{Pending: jobs(job(1, 1, gib, prio(tc.p))), Nodes: []Node{node("n", 1)}})
		pr := ds[0].Priority
		if math.Abs(pr.Value-tc.want) > 1e-12 || len(pr.Parts) != 1 || pr.Parts[0].Name != "priority" || pr.Parts[0].Factor != pr.Value {
			t.Errorf("-p %d: priority = %+v; want value %v with one part \"priority\"", tc.p, pr, tc.want)
		}
	}
}

func TestReasonSaysWhatIsMissing(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Snapshot
		want string
	}{
		{"resources",
			Snapshot{Pending: jobs(job(2, 2, 2*gib)), Running: jobs(running(1, "n1", 3, gib)), Nodes: []Node{{Name: "n1", CPUs: 4, Memory: 8 * gib}}},
			"needs 2 cpus and 2G memory; the largest free node has 1 cpu and 7G memory"},
		{"gpus",
			Snapshot{Pending: jobs(job(2, 1, gib, gpus(2))), Running: jobs(running(1, "g", 1, gib, gpus(1))), Nodes: []Node{gpuNode("g", 4, 2)}},
			"needs 1 cpu, 1G memory and 2 gpus; the largest free node has 3 cpus, 63G memory and 1 gpu"},
		{"too large",
			Snapshot{Pending: jobs(job(1, 8, gib)), Nodes: []Node{node("a", 4), node("b", 2)}},
			"needs 8 cpus and 1G memory; no node is that large (largest: 4 cpus and 64G memory)"},
		{"project limit",
			Snapshot{Pending: jobs(job(2, 4, gib, in("bio"))), Running: jobs(running(1, "n", 30, gib, in("bio"))), Nodes: []Node{node("n", 64)},
				Projects: map[string]Project{"bio": {Name: "bio", HasLimit: true, Limit: Limit{CPUs: 32}}}},
			"project bio at its limit of 32 cpus (30 in use, the job needs 4)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Plan(tc.s)[0].Reason.Message; got != tc.want {
				t.Errorf("reason = %q; want %q", got, tc.want)
			}
		})
	}
}

func TestFairShareFormula(t *testing.T) {
	// The seeds' default weights.
	w := Weights{WaitingTime: 0.1, UserTime: 1, UserCPU: 0.2, UserRAM: 0.2, GroupTime: 0.1, GroupCPU: 0.01, GroupRAM: 0.01, User: 1, Group: 1}
	heavy := job(1, 1, gib, by("heavy", "hg"), waited(10*time.Minute))
	light := job(2, 1, gib, by("light", "lg"), waited(5*time.Minute))
	ds := Plan(Snapshot{
		Pending: jobs(heavy, light), Nodes: []Node{node("n", 1)}, Now: t0,
		Policy:     Policy{Name: FairShare, Weights: w},
		UserUsage:  map[string]Usage{"heavy": {3600, 4, float64(8 * gib)}, "light": {360, 1, float64(2 * gib)}},
		GroupUsage: map[string]Usage{"hg": {3600, 4, float64(8 * gib)}, "lg": {360, 1, float64(2 * gib)}},
	})
	if got := verdicts(ds); got != "2@n 1:Resources" {
		t.Fatalf("Plan = %q; the light user should go first", got)
	}
	// The package comment's formula, by hand. Both users and the project
	// are unlisted: priority 50.
	const s = 1 + 1 + 0.1                       // User + Group + WaitingTime
	const n = 1 + 0.2 + 0.2 + 0.1 + 0.01 + 0.01 // the usage weights
	wantHeavy := (1*0.5 + 1*0.5 + 0.1*1 - (1*1 + 0.2*1 + 0.2*1) - (0.1*1 + 0.01*1 + 0.01*1) + n) / (s + n)
	wantLight := (1*0.5 + 1*0.5 + 0.1*0.5 - (1*0.1 + 0.2*0.25 + 0.2*0.25) - (0.1*0.1 + 0.01*0.25 + 0.01*0.25) + n) / (s + n)
	for _, c := range []struct {
		id   int64
		want float64
	}{{1, wantHeavy}, {2, wantLight}} {
		pr := decision(ds, c.id).Priority
		if math.Abs(pr.Value-c.want) > 1e-9 {
			t.Errorf("job %d: value %v; want %v", c.id, pr.Value, c.want)
		}
		if len(pr.Parts) != 9 {
			t.Fatalf("job %d: %d parts; want 9", c.id, len(pr.Parts))
		}
		var sum float64
		for _, p := range pr.Parts {
			sum += p.Weight * p.Factor
		}
		if v := (sum + n) / (s + n); math.Abs(v-pr.Value) > 1e-9 {
			t.Errorf("job %d: parts sum to %v, value is %v", c.id, v, pr.Value)
		}
	}
	if f := decision(ds, 2).Priority.Parts[3]; f.Name != "user_time" || math.Abs(f.Factor+0.1) > 1e-12 {
		t.Errorf("light user_time part = %+v; want factor -0.1", f)
	}
}

func TestFairShareMoves(t *testing.T) {
	w := Weights{WaitingTime: 0.1, UserTime: 1, UserCPU: 0.2, UserRAM: 0.2, GroupTime: 0.1, GroupCPU: 0.01, GroupRAM: 0.01, User: 1, Group: 1}
	fs := func(s Snapshot) Snapshot {
		s.Policy, s.Now, s.Nodes = Policy{Name: FairShare, Weights: w}, t0, []Node{node("n", 1)}
		return s
	}
	for _, tc := range []struct {
		name string
		s    Snapshot
		want string
	}{
		{"user priority",
			fs(Snapshot{Pending: jobs(job(1, 1, gib, by("low", "g"), waited(time.Hour)), job(2, 1, gib, by("high", "g"), waited(time.Minute))),
				UserPriority: map[string]int{"low": 20, "high": 80}}),
			"2@n 1:Resources"},
		{"unlisted user is 50",
			fs(Snapshot{Pending: jobs(job(1, 1, gib, by("low", "g")), job(2, 1, gib, by("other", "g"))),
				UserPriority: map[string]int{"low": 40}}),
			"2@n 1:Resources"},
		{"project priority",
			fs(Snapshot{Pending: jobs(job(1, 1, gib, in("lo"), waited(time.Hour)), job(2, 1, gib, in("hi"), waited(time.Minute))),
				Projects: map[string]Project{"lo": {Name: "lo", Priority: 10}, "hi": {Name: "hi", Priority: 90}}}),
			"2@n 1:Resources"},
		{"waiting time beats -p",
			fs(Snapshot{Pending: jobs(job(1, 1, gib, prio(1000), waited(time.Second)), job(2, 1, gib, waited(time.Hour)))}),
			"2@n 1:Resources"},
		{"-p orders equal fair share",
			fs(Snapshot{Pending: jobs(job(1, 1, gib, waited(time.Hour)), job(2, 1, gib, prio(5), waited(time.Hour)))}),
			"2@n 1:Resources"},
		{"the group's usage counts",
			fs(Snapshot{Pending: jobs(job(1, 1, gib, by("a", "busy"), waited(time.Hour)), job(2, 1, gib, by("b", "idle"), waited(time.Hour))),
				GroupUsage: map[string]Usage{"busy": {CPUSeconds: 1e6, CPUs: 10, Memory: 1e10}}}),
			"2@n 1:Resources"},
		{"ties: submission then id",
			fs(Snapshot{Pending: jobs(job(3, 1, gib), job(2, 1, gib))}),
			"2@n 3:Resources"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := verdicts(Plan(tc.s)); got != tc.want {
				t.Errorf("Plan = %q; want %q", got, tc.want)
			}
		})
	}
}

func TestFairShareZeroWeights(t *testing.T) {
	ds := Plan(Snapshot{Pending: jobs(job(1, 1, gib)), Nodes: []Node{node("n", 1)}, Policy: Policy{Name: FairShare}})
	if ds[0].Priority.Value != 0.5 {
		t.Errorf("value = %v; want 0.5 when every weight is 0", ds[0].Priority.Value)
	}
}

func TestProjectLimitBurst(t *testing.T) {
	var pending []*api.Job
	for i := range 100 {
		pending = append(pending, job(int64(2*i+1), 1, gib, in("bio")))
		if i < 10 {
			pending = append(pending, job(int64(2*i+2), 1, gib, in("chem")))
		}
	}
	ds := Plan(Snapshot{Pending: pending, Nodes: []Node{node("a", 32), node("b", 32), node("c", 32), node("d", 32)},
		Projects: map[string]Project{"bio": {Name: "bio", HasLimit: true, Limit: Limit{CPUs: 8}}}})
	started := map[string]int{}
	for _, d := range ds {
		switch {
		case d.Action == Start:
			started[d.Job.Project]++
		case d.Reason.Code != api.ReasonProjectLimit || d.Job.Project != "bio":
			t.Fatalf("job %d waits for %v", d.Job.ID, d.Reason)
		case d.Reason.Message != "project bio at its limit of 8 cpus (8 in use, the job needs 1)":
			t.Fatalf("reason %q", d.Reason.Message)
		}
	}
	if started["bio"] != 8 || started["chem"] != 10 {
		t.Errorf("started %v; want bio 8, chem 10", started)
	}
}

func TestProjectLimits(t *testing.T) {
	limit := func(l Limit) map[string]Project {
		return map[string]Project{"bio": {Name: "bio", HasLimit: true, Limit: l}}
	}
	for _, tc := range []struct {
		name    string
		s       Snapshot
		want    string
		message string // of the last decision
	}{
		{"running jobs count, on any node",
			Snapshot{Pending: jobs(job(1, 2, gib, in("bio")), job(2, 2, gib, in("bio"))), Running: jobs(running(9, "elsewhere", 6, gib, in("bio"))),
				Nodes: []Node{node("n", 32)}, Projects: limit(Limit{CPUs: 8})},
			"1@n 2:ProjectLimit", "project bio at its limit of 8 cpus (8 in use, the job needs 2)"},
		{"jobs elsewhere count toward the limit and take no node capacity",
			Snapshot{Pending: jobs(job(1, 6, gib, in("chem")), job(2, 2, gib, in("bio")), job(3, 2, gib, in("bio"))),
				Elsewhere: jobs(running(9, "n", 6, gib, in("bio"))), Nodes: []Node{node("n", 10)}, Projects: limit(Limit{CPUs: 8})},
			"1@n 2@n 3:ProjectLimit", "project bio at its limit of 8 cpus (8 in use, the job needs 2)"},
		{"a smaller job may still fit the limit",
			Snapshot{Pending: jobs(job(1, 6, gib, in("bio")), job(2, 4, gib, in("bio")), job(3, 2, gib, in("bio"))),
				Nodes: []Node{node("n", 32)}, Projects: limit(Limit{CPUs: 8})},
			"1@n 2:ProjectLimit 3@n", ""},
		{"memory",
			Snapshot{Pending: jobs(job(1, 1, 6*gib, in("bio")), job(2, 1, 6*gib, in("bio"))),
				Nodes: []Node{node("n", 32)}, Projects: limit(Limit{Memory: 10 * gib})},
			"1@n 2:ProjectLimit", "project bio at its limit of 10G memory (6G in use, the job needs 6G)"},
		{"gpus",
			Snapshot{Pending: jobs(job(1, 1, gib, in("bio"), gpus(1)), job(2, 1, gib, in("bio"), gpus(1))),
				Nodes: []Node{gpuNode("g", 32, 4)}, Projects: limit(Limit{GPUs: 1})},
			"1@g 2:ProjectLimit", "project bio at its limit of 1 gpu (1 in use, the job needs 1)"},
		{"jobs",
			Snapshot{Pending: jobs(job(1, 1, gib, in("bio")), job(2, 1, gib, in("bio")), job(3, 1, gib, in("bio"))),
				Nodes: []Node{node("n", 32)}, Projects: limit(Limit{Jobs: 2})},
			"1@n 2@n 3:ProjectLimit", "project bio at its limit of 2 jobs (2 running)"},
		{"a job larger than the limit can never start: rejected, and others go on",
			Snapshot{Pending: jobs(job(1, 16, gib, in("bio")), job(2, 4, gib, in("bio"))),
				Nodes: []Node{node("n", 32)}, Projects: limit(Limit{CPUs: 8})},
			"1!ProjectLimit 2@n", ""},
		{"larger than the memory limit",
			Snapshot{Pending: jobs(job(1, 1, 12*gib, in("bio"))), Nodes: []Node{node("n", 32)}, Projects: limit(Limit{Memory: 10 * gib})},
			"1!ProjectLimit", "needs 12G memory; project bio may never hold more than 10G at once"},
		{"no HasLimit, no limit",
			Snapshot{Pending: jobs(job(1, 8, gib, in("bio")), job(2, 8, gib, in("bio"))),
				Nodes: []Node{node("n", 32)}, Projects: map[string]Project{"bio": {Name: "bio", Limit: Limit{CPUs: 1}}}},
			"1@n 2@n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := Plan(tc.s)
			if got := verdicts(ds); got != tc.want {
				t.Errorf("Plan = %q; want %q", got, tc.want)
			}
			if tc.message != "" {
				if got := ds[len(ds)-1].Reason.Message; got != tc.message {
					t.Errorf("reason = %q; want %q", got, tc.message)
				}
			}
		})
	}
}

func TestReservation(t *testing.T) {
	// Three 1-cpu jobs hold the 4-cpu node n until t0+10m.
	busy := func(opts ...opt) []*api.Job {
		var out []*api.Job
		for i := range 3 {
			out = append(out, running(int64(90+i), "n", 1, gib, append([]opt{wall(10 * time.Minute)}, opts...)...))
		}
		return out
	}
	big := func(id int64, cpus int) *api.Job { return job(id, cpus, gib) }
	small := func(id int64, opts ...opt) *api.Job { return job(id, 1, gib, opts...) }
	for _, tc := range []struct {
		name string
		s    Snapshot
		want string
	}{
		{"a long job behind the reservation waits; a short one backfills",
			Snapshot{Pending: jobs(big(1, 4), small(2, wall(time.Hour)), small(3), small(4, wall(5*time.Minute))), Running: busy(), Nodes: []Node{node("n", 4)}},
			"1:Resources 2:Reserved 3:Reserved 4@n"},
		{"ending exactly at the reserved time is allowed",
			Snapshot{Pending: jobs(big(1, 4), small(2, wall(10*time.Minute))), Running: busy(), Nodes: []Node{node("n", 4)}},
			"1:Resources 2@n"},
		{"the room the reserved job leaves may be used",
			Snapshot{Pending: jobs(big(1, 8), small(2), small(3)), Running: jobs(running(9, "n", 7, gib, wall(time.Hour))), Nodes: []Node{node("n", 9)}},
			"1:Resources 2@n 3:Reserved"},
		{"other nodes are free for all",
			Snapshot{Pending: jobs(big(1, 4), small(2)), Running: busy(), Nodes: []Node{node("n", 4), node("m", 2)}},
			"1:Resources 2@m"},
		{"the earliest node is reserved",
			Snapshot{Pending: jobs(big(1, 4), small(2), small(3)),
				Running: append(busy(), running(80, "m", 3, gib, wall(time.Hour))), Nodes: []Node{node("n", 4), node("m", 4)}},
			"1:Resources 2@m 3:Reserved"},
		{"only the top job gets a reservation",
			Snapshot{Pending: jobs(big(1, 4), big(2, 2), small(3)), Running: busy(), Nodes: []Node{node("n", 4), node("m", 1)}},
			"1:Resources 2:Priority 3@m"},
		{"jobs past their walltime end now",
			Snapshot{Pending: jobs(big(1, 4), small(2, wall(time.Minute))), Running: busy(startedAgo(time.Hour)), Nodes: []Node{node("n", 4)}, Now: t0},
			"1:Resources 2:Reserved"},
		{"no walltimes: no reservation, small jobs go on",
			Snapshot{Pending: jobs(big(1, 4), small(2)), Running: jobs(running(9, "n", 3, gib)), Nodes: []Node{node("n", 4)}},
			"1:Resources 2@n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.s.Now.IsZero() {
				tc.s.Now = t0
			}
			if got := verdicts(Plan(tc.s)); got != tc.want {
				t.Errorf("Plan = %q; want %q", got, tc.want)
			}
		})
	}

	ds := Plan(Snapshot{Pending: jobs(big(41, 4), small(42)), Running: busy(), Nodes: []Node{node("n", 4)}, Now: t0})
	if want := "waiting behind job 41, which has resources reserved on n (needs 4 cpus and 1G memory)"; ds[1].Reason.Message != want {
		t.Errorf("reason = %q; want %q", ds[1].Reason.Message, want)
	}
	if want := "needs 4 cpus and 1G memory; the largest free node has 1 cpu and 61G memory; n is reserved for it"; ds[0].Reason.Message != want {
		t.Errorf("reason = %q; want %q", ds[0].Reason.Message, want)
	}
}

// TestBigJobIsNotStarved runs passes a minute apart: 1-cpu jobs keep
// arriving behind a 4-cpu job on a 4-cpu node whose four 1-cpu jobs end
// one a minute. The big job gets the node when the last one ends, and no
// small job takes a freed cpu meanwhile.
func TestBigJobIsNotStarved(t *testing.T) {
	for _, policy := range []string{FIFO, FairShare} {
		t.Run(policy, func(t *testing.T) {
			s := Snapshot{Nodes: []Node{node("n", 4)}, Now: t0,
				Policy: Policy{Name: policy, Weights: Weights{WaitingTime: 1, UserTime: 1}}}
			for i := range 4 {
				s.Running = append(s.Running, running(int64(90+i), "n", 1, gib, wall(10*time.Minute), startedAgo(time.Duration(9-i)*time.Minute)))
			}
			s.Pending = jobs(job(100, 4, gib, waited(time.Hour), wall(time.Hour)))
			next := int64(200)
			for pass := range 8 {
				for range 3 {
					s.Pending = append(s.Pending, job(next, 1, gib, by(fmt.Sprint("u", next), "g"), wall(10*time.Minute), waited(0)))
					next++
				}
				ds := Plan(s)
				// Apply: start, then move on a minute and end what reached its walltime.
				var pending []*api.Job
				for _, d := range ds {
					if d.Action != Start {
						pending = append(pending, d.Job)
						continue
					}
					if d.Job.ID != 100 {
						t.Fatalf("pass %d: job %d started before the big job", pass, d.Job.ID)
					}
					if pass != 4 {
						t.Fatalf("big job started at pass %d; want 4, when the last small one ends", pass)
					}
					return
				}
				s.Pending = pending
				if d := decision(ds, 100); d.Reason.Code != api.ReasonResources || !strings.Contains(d.Reason.Message, "reserved for it") {
					t.Fatalf("pass %d: big job waits with %v", pass, d.Reason)
				}
				s.Now = s.Now.Add(time.Minute)
				var still []*api.Job
				for _, j := range s.Running {
					if j.Started.Add(time.Duration(j.Spec.Walltime) * time.Second).After(s.Now) {
						still = append(still, j)
					}
				}
				s.Running = still
			}
			t.Fatal("the big job never started")
		})
	}
}

// randomSnapshot is a busy fair-share snapshot: n pending jobs of
// users, projects (every one limited) and nodes, with running jobs.
func randomSnapshot(seed uint64, n, users, projects, nodes int) Snapshot {
	r := rand.New(rand.NewPCG(seed, 1))
	s := Snapshot{Now: t0, Policy: Policy{Name: FairShare, Weights: Weights{
		WaitingTime: 0.1, UserTime: 1, UserCPU: 0.2, UserRAM: 0.2, GroupTime: 0.1, GroupCPU: 0.01, GroupRAM: 0.01, User: 1, Group: 1}},
		UserPriority: map[string]int{}, Projects: map[string]Project{}, UserUsage: map[string]Usage{}, GroupUsage: map[string]Usage{}}
	for i := range nodes {
		s.Nodes = append(s.Nodes, Node{Name: fmt.Sprintf("n%02d", i), CPUs: 32, Memory: 128 * gib, GPUs: i % 3})
	}
	for i := range projects {
		name := fmt.Sprintf("p%d", i)
		s.Projects[name] = Project{Name: name, Priority: r.IntN(101), HasLimit: true, Limit: Limit{CPUs: 16 + r.IntN(64), Memory: 256 * gib, GPUs: 2}}
	}
	for i := range users {
		u := fmt.Sprintf("u%d", i)
		s.UserPriority[u] = r.IntN(101)
		s.UserUsage[u] = Usage{CPUSeconds: r.Float64() * 1e6, CPUs: float64(r.IntN(64)), Memory: r.Float64() * 1e12}
		s.GroupUsage[fmt.Sprintf("g%d", i%50)] = Usage{CPUSeconds: r.Float64() * 1e7, CPUs: float64(r.IntN(256)), Memory: r.Float64() * 1e13}
	}
	opts := func(u int) []opt {
		o := []opt{by(fmt.Sprintf("u%d", u), fmt.Sprintf("g%d", u%50)), in(fmt.Sprintf("p%d", r.IntN(projects))),
			waited(time.Duration(r.IntN(86400)) * time.Second), prio(r.IntN(21) - 10)}
		if r.IntN(2) == 0 {
			o = append(o, wall(time.Duration(1+r.IntN(48))*time.Hour))
		}
		if r.IntN(50) == 0 {
			o = append(o, gpus(1))
		}
		return o
	}
	for i := range nodes * 8 {
		j := running(int64(n+i+1), s.Nodes[i%nodes].Name, 1+r.IntN(4), gib, opts(r.IntN(users))...)
		j.Spec.GPUs, j.Started = 0, t0.Add(-time.Duration(r.IntN(3600))*time.Second)
		s.Running = append(s.Running, j)
	}
	for i := range n {
		s.Pending = append(s.Pending, job(int64(i+1), 1+r.IntN(8), int64(1+r.IntN(16))*gib, opts(r.IntN(users))...))
	}
	return s
}

func TestPlanDoesNotChangeSnapshot(t *testing.T) {
	s := randomSnapshot(1, 2000, 40, 5, 6)
	clone := func(s Snapshot) Snapshot {
		c := s
		c.Pending, c.Running = nil, nil
		for _, j := range s.Pending {
			c.Pending = append(c.Pending, j.Clone())
		}
		for _, j := range s.Running {
			c.Running = append(c.Running, j.Clone())
		}
		c.Nodes = append([]Node(nil), s.Nodes...)
		c.UserPriority, c.Projects = maps.Clone(s.UserPriority), maps.Clone(s.Projects)
		c.UserUsage, c.GroupUsage = maps.Clone(s.UserUsage), maps.Clone(s.GroupUsage)
		return c
	}
	before := clone(s)
	Plan(s)
	if !reflect.DeepEqual(before, s) {
		t.Error("Plan modified its input")
	}
}

func TestEveryJobOneDecisionDeterministic(t *testing.T) {
	s := randomSnapshot(2, 3000, 50, 6, 8)
	first := Plan(s)
	seen := map[int64]int{}
	for _, d := range first {
		seen[d.Job.ID]++
		if d.Action == Wait && d.Reason.Code == "" {
			t.Fatalf("job %d waits with no reason", d.Job.ID)
		}
		if d.Priority.Value < 0 || d.Priority.Value > 1 || len(d.Priority.Parts) != 9 {
			t.Fatalf("job %d: priority %+v", d.Job.ID, d.Priority)
		}
	}
	if len(first) != len(s.Pending) || len(seen) != len(s.Pending) {
		t.Fatalf("%d decisions about %d jobs for %d pending", len(first), len(seen), len(s.Pending))
	}
	starts := 0
	for _, d := range first {
		if d.Action == Start {
			starts++
		}
	}
	if starts == 0 || starts == len(first) {
		t.Fatalf("%d of %d start; want a busy snapshot", starts, len(first))
	}
	want := verdicts(first)
	r := rand.New(rand.NewPCG(3, 3))
	for range 3 {
		s.Pending = append([]*api.Job(nil), s.Pending...)
		r.Shuffle(len(s.Pending), func(i, j int) { s.Pending[i], s.Pending[j] = s.Pending[j], s.Pending[i] })
		if got := verdicts(Plan(s)); got != want {
			t.Fatal("Plan depends on the order of Pending")
		}
	}
}

// BenchmarkPlan100k is one fair-share pass over 100,000 pending jobs of
// 1,000 users and 20 limited projects on 50 nodes.
func BenchmarkPlan100k(b *testing.B) {
	s := randomSnapshot(4, 100_000, 1000, 20, 50)
	b.ReportAllocs()
	for b.Loop() {
		Plan(s)
	}
}

// BenchmarkPlan100kFIFO is the same queue under fifo.
func BenchmarkPlan100kFIFO(b *testing.B) {
	s := randomSnapshot(4, 100_000, 1000, 20, 50)
	s.Policy = Policy{Name: FIFO}
	b.ReportAllocs()
	for b.Loop() {
		Plan(s)
	}
}

func TestQuotaSpentWaits(t *testing.T) {
	spent := api.Reason{Code: api.ReasonQuota, Message: "user ann has spent its cpu quota of 1h (1h used); it resets at 2025-06-02 00:00 UTC"}
	bioSpent := api.Reason{Code: api.ReasonQuota, Message: "project bio has spent its gpu quota of 2h (3h used); it resets at 2025-06-02 00:00 UTC"}
	ds := Plan(Snapshot{
		Pending: jobs(job(1, 1, gib, by("ann", "g")), job(2, 1, gib, by("bob", "g")), job(3, 1, gib, by("bob", "g"), in("bio")),
			job(4, 1, gib, by("cid", "g"))),
		Nodes:         []Node{node("n", 2)},
		SpentUsers:    map[string]api.Reason{"ann": spent},
		SpentProjects: map[string]api.Reason{"bio": bioSpent},
	})
	// Spent owners' jobs wait without taking capacity: 2 and 4 start.
	if got, want := verdicts(ds), "1:Quota 2@n 3:Quota 4@n"; got != want {
		t.Errorf("Plan = %q; want %q", got, want)
	}
	if got := decision(ds, 1).Reason; got != spent {
		t.Errorf("job 1 waits for %v; want %v", got, spent)
	}
	if got := decision(ds, 3).Reason; got != bioSpent {
		t.Errorf("job 3 waits for %v; want %v", got, bioSpent)
	}
}

func TestPriorityReasonCountsJobsAhead(t *testing.T) {
	var pending []*api.Job
	for i := range 1003 {
		pending = append(pending, job(int64(i+1), 4, gib))
	}
	ds := Plan(Snapshot{Pending: pending, Running: jobs(running(9999, "n", 2, gib)), Nodes: []Node{node("n", 4)}})
	for _, tc := range []struct {
		id   int64
		code string
		msg  string
	}{
		{1, api.ReasonResources, "needs 4 cpus and 1G memory; the largest free node has 2 cpus and 63G memory"},
		{2, api.ReasonPriority, "behind 1 higher-priority job waiting for resources; needs 4 cpus and 1G memory; the largest free node has 2 cpus and 63G memory"},
		{1001, api.ReasonPriority, "behind 1000 higher-priority jobs waiting for resources; needs 4 cpus and 1G memory; the largest free node has 2 cpus and 63G memory"},
		{1003, api.ReasonPriority, "behind more than 1000 higher-priority jobs waiting for resources; needs 4 cpus and 1G memory; the largest free node has 2 cpus and 63G memory"},
	} {
		if r := decision(ds, tc.id).Reason; r.Code != tc.code || r.Message != tc.msg {
			t.Errorf("job %d waits for %+v; want %s %q", tc.id, r, tc.code, tc.msg)
		}
	}
}

func TestDependencies(t *testing.T) {
	dep := func(typ string, ids ...int64) opt {
		return func(j *api.Job) {
			j.Spec.Dependencies = append(j.Spec.Dependencies, api.Dependency{Type: typ, Jobs: ids})
		}
	}
	states := map[int64]api.State{10: api.Done, 11: api.Failed, 12: api.Running, 13: api.Cancelled, 14: api.Killed}
	for _, tc := range []struct {
		name string
		job  *api.Job
		want string // verdict
		msg  string
	}{
		{"no dependency", job(1, 1, gib), "1@n", ""},
		{"afterok on a done job", job(1, 1, gib, dep(api.AfterOK, 10)), "1@n", ""},
		{"afterok on a running one waits", job(1, 1, gib, dep(api.AfterOK, 10, 12)), "1:Dependency", "waiting for job 12 to end (afterok)"},
		{"afterok on a failed one never runs", job(1, 1, gib, dep(api.AfterOK, 11)), "1!DependencyNeverSatisfied", "job 11 ended failed, so its dependency afterok:11 can never be met"},
		{"afternotok on a failed and a killed one", job(1, 1, gib, dep(api.AfterNotOK, 11, 14)), "1@n", ""},
		{"afternotok on a done one never runs", job(1, 1, gib, dep(api.AfterNotOK, 10)), "1!DependencyNeverSatisfied", "job 10 ended done, so its dependency afternotok:10 can never be met"},
		{"afterany on every end", job(1, 1, gib, dep(api.AfterAny, 10, 11, 13)), "1@n", ""},
		{"afterany on a running one waits", job(1, 1, gib, dep(api.AfterAny, 12)), "1:Dependency", "waiting for job 12 to end (afterany)"},
		{"an unknown job is still to come", job(1, 1, gib, dep(api.AfterAny, 99)), "1:Dependency", "waiting for job 99 to end (afterany)"},
		{"all types must hold", job(1, 1, gib, dep(api.AfterOK, 10), dep(api.AfterNotOK, 10)), "1!DependencyNeverSatisfied", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := Plan(Snapshot{Pending: jobs(tc.job), Nodes: []Node{node("n", 4)}, Depended: states})
			if got := verdicts(ds); got != tc.want {
				t.Errorf("Plan = %q; want %q", got, tc.want)
			}
			if tc.msg != "" && ds[0].Reason.Message != tc.msg {
				t.Errorf("reason %q; want %q", ds[0].Reason.Message, tc.msg)
			}
		})
	}
}

func TestTaskDependencies(t *testing.T) {
	task := func(n int64) *api.Job {
		return job(1, 1, gib, func(j *api.Job) { j.TaskID, j.Spec.TaskDependencies = n, []int64{7} })
	}
	tasks := map[api.JobRef]api.State{{ID: 7, Task: 1}: api.Failed, {ID: 7, Task: 2}: api.Running}
	for _, tc := range []struct {
		name    string
		job     *api.Job
		array   api.State
		want    string
		message string
	}{
		{"its peer ended (failed: afterany)", task(1), api.Pending, "1@n", ""},
		{"its peer runs", task(2), api.Pending, "1:Dependency", "waiting for task 7.2 to end (-hold_jid_ad)"},
		{"its peer is not created yet", task(3), api.Pending, "1:Dependency", "waiting for task 7.3 to end (-hold_jid_ad)"},
		{"the array ended without it", task(3), api.Cancelled, "1@n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := Plan(Snapshot{Pending: jobs(tc.job), Nodes: []Node{node("n", 4)}, Depended: map[int64]api.State{7: tc.array}, DependedTasks: tasks})
			if got := verdicts(ds); got != tc.want {
				t.Errorf("Plan = %q; want %q", got, tc.want)
			}
			if tc.message != "" && ds[0].Reason.Message != tc.message {
				t.Errorf("reason %q; want %q", ds[0].Reason.Message, tc.message)
			}
		})
	}
}
