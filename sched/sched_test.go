package sched

import (
	"fmt"
	"strings"
	"testing"

	"github.com/godocker/godocker/api"
)

const gib = int64(1) << 30

func job(id int64, cpus int, mem int64) *api.Job {
	return &api.Job{ID: id, State: api.Pending, Run: &api.Run{CPUs: cpus, Memory: mem}}
}

func running(id int64, node string, cpus int, mem int64) *api.Job {
	j := job(id, cpus, mem)
	j.State, j.Node = api.Running, node
	return j
}

func verdicts(ds []Decision) string {
	var parts []string
	for _, d := range ds {
		if d.Action == Start {
			parts = append(parts, fmt.Sprintf("%d@%s", d.Job.ID, d.Node))
		} else {
			parts = append(parts, fmt.Sprintf("%d:%s", d.Job.ID, d.Reason.Code))
		}
	}
	return strings.Join(parts, " ")
}

func TestPlan(t *testing.T) {
	n1 := Node{Name: "n1", CPUs: 4, Memory: 8 * gib}
	n2 := Node{Name: "n2", CPUs: 2, Memory: 4 * gib}
	for _, tc := range []struct {
		name string
		s    Snapshot
		want string
	}{
		{"fifo fills the node then waits",
			Snapshot{Pending: []*api.Job{job(3, 2, gib), job(1, 2, gib), job(2, 2, gib)}, Nodes: []Node{n1}},
			"1@n1 2@n1 3:Resources"},
		{"running jobs hold capacity",
			Snapshot{Pending: []*api.Job{job(5, 1, gib)}, Running: []*api.Job{running(4, "n1", 4, gib)}, Nodes: []Node{n1}},
			"5:Resources"},
		{"memory counts as well as cpus",
			Snapshot{Pending: []*api.Job{job(1, 1, 6*gib), job(2, 1, 6*gib)}, Nodes: []Node{n1}},
			"1@n1 2:Resources"},
		{"a big job does not block a small one",
			Snapshot{Pending: []*api.Job{job(1, 4, gib), job(2, 1, gib)}, Running: []*api.Job{running(9, "n1", 2, gib)}, Nodes: []Node{n1}},
			"1:Resources 2@n1"},
		{"larger than any node",
			Snapshot{Pending: []*api.Job{job(1, 64, gib)}, Nodes: []Node{n1, n2}},
			"1:TooLarge"},
		{"pack: the fullest node that fits",
			Snapshot{Pending: []*api.Job{job(1, 1, gib), job(2, 3, gib)}, Nodes: []Node{n1, n2}},
			"1@n2 2@n1"},
		{"no nodes",
			Snapshot{Pending: []*api.Job{job(1, 1, gib)}},
			"1:TooLarge"},
		{"running on an unknown node is ignored",
			Snapshot{Pending: []*api.Job{job(1, 4, gib)}, Running: []*api.Job{running(2, "gone", 4, gib)}, Nodes: []Node{n1}},
			"1@n1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := verdicts(Plan(tc.s)); got != tc.want {
				t.Errorf("Plan = %q; want %q", got, tc.want)
			}
		})
	}
}

func TestPriorityBeforeOrder(t *testing.T) {
	low, high := job(1, 4, gib), job(2, 4, gib)
	high.Spec.Priority = 10
	got := verdicts(Plan(Snapshot{Pending: []*api.Job{low, high}, Nodes: []Node{{Name: "n", CPUs: 4, Memory: 8 * gib}}}))
	if got != "2@n 1:Resources" {
		t.Errorf("Plan = %q; the higher -p job should start first", got)
	}
}

func TestReasonSaysWhatIsMissing(t *testing.T) {
	ds := Plan(Snapshot{
		Pending: []*api.Job{job(2, 2, 2*gib)},
		Running: []*api.Job{running(1, "n1", 3, gib)},
		Nodes:   []Node{{Name: "n1", CPUs: 4, Memory: 8 * gib}},
	})
	want := "needs 2 cpus and 2G memory; the largest free node has 1 cpu and 7G memory"
	if ds[0].Reason.Message != want {
		t.Errorf("reason = %q; want %q", ds[0].Reason.Message, want)
	}
}

func TestPlanDoesNotChangeSnapshot(t *testing.T) {
	pending := []*api.Job{job(2, 1, gib), job(1, 1, gib)}
	nodes := []Node{{Name: "n", CPUs: 1, Memory: gib}}
	Plan(Snapshot{Pending: pending, Nodes: nodes})
	if pending[0].ID != 2 || nodes[0].CPUs != 1 {
		t.Error("Plan modified its input")
	}
}

func BenchmarkPlan100k(b *testing.B) {
	var pending []*api.Job
	for i := range 100_000 {
		pending = append(pending, job(int64(i+1), 1+i%4, gib))
	}
	var nodes []Node
	for i := range 50 {
		nodes = append(nodes, Node{Name: fmt.Sprintf("n%d", i), CPUs: 32, Memory: 128 * gib})
	}
	s := Snapshot{Pending: pending, Nodes: nodes}
	b.ReportAllocs()
	for b.Loop() {
		Plan(s)
	}
}
