package api

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestArrayRemaining(t *testing.T) {
	a := &Array{First: 1, Last: 19, Step: 2}
	for _, tc := range []struct {
		tasks *Tasks
		want  string
	}{
		{nil, "1-19:2"},
		{&Tasks{Next: 5}, "5-19:2"},
		{&Tasks{Next: 5, Deleted: []int64{3, 9}}, "5-7:2 11-19:2"},
		{&Tasks{Next: 5, Deleted: []int64{5, 19}}, "7-17:2"},
		{&Tasks{Next: 17, Deleted: []int64{19}}, "17-17:2"},
		{&Tasks{Next: 21}, ""},
		{&Tasks{Next: 1, Deleted: []int64{4}}, "1-19:2"}, // not a task of the array
	} {
		var got []string
		for _, r := range a.Remaining(tc.tasks) {
			got = append(got, r.String())
		}
		if s := strings.Join(got, " "); s != tc.want {
			t.Errorf("Remaining(%+v) = %q; want %q", tc.tasks, s, tc.want)
		}
	}
}

// TestBrief: a job's brief keeps what listings show and drops what it
// runs, so that anybody may read it; the job itself is left whole.
func TestBrief(t *testing.T) {
	j := &Job{ID: 7, Name: "align", User: "alice", UID: 1001, GID: 100, Groups: []int{100, 27}, Home: "/home/alice",
		State: Pending, Reason: Reason{Code: ReasonResources, Message: "waiting"}, Priority: Priority{Value: 0.7},
		Spec: Spec{Name: "align", Image: "img", Script: "SECRET", Command: []string{"SECRET"}, Args: []string{"SECRET"},
			Env: map[string]string{"TOKEN": "SECRET"}, SubmitEnv: map[string]string{"PATH": "SECRET"}, CPUs: 4, Memory: 1 << 30,
			Array: &Array{First: 1, Last: 9, Step: 2}, Dependencies: []Dependency{{Type: AfterOK, Jobs: []int64{3}}}},
		Run: &Run{Argv: []string{"SECRET"}}, Dir: "/jobs/alice/7", Stdout: "/jobs/alice/7/stdout",
		Attempts: []Attempt{{Attempt: 1, Stdout: "/jobs/alice/7/stdout.1"}}, Tasks: &Tasks{Next: 3}, Executor: "docker", Node: "n1", Attempt: 2}
	b := j.Brief()
	doc, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(doc), "SECRET") || strings.Contains(string(doc), "/jobs/alice") {
		t.Errorf("brief carries what the job runs or its paths: %s", doc)
	}
	if b.ID != 7 || b.Name != "align" || b.User != "alice" || b.State != Pending || b.Reason != j.Reason ||
		b.Priority.Value != 0.7 || b.Spec.CPUs != 4 || b.Spec.Memory != 1<<30 || b.Spec.Array != j.Spec.Array ||
		len(b.Spec.Dependencies) != 1 || b.Tasks != j.Tasks || b.Executor != "docker" || b.Node != "n1" || b.Attempt != 2 {
		t.Errorf("brief lost what a listing shows: %s", doc)
	}
	if j.Spec.Script != "SECRET" || j.Run == nil || j.Dir == "" || len(j.Attempts) != 1 {
		t.Error("Brief changed the job itself")
	}
}
