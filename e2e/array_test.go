package e2e

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/client"
)

// TestArrayTaskLimit: an array of 20 tasks with -tc 2 never runs more
// than 2 at once, and every task sees its own id.
func TestArrayTaskLimit(t *testing.T) {
	s := startServer(t, "")
	alice := lookup(t, "gdtest-alice")
	r := s.run(alice, "echo $SGE_TASK_ID $GODOCKER_TASK_ID $SLURM_ARRAY_TASK_ID\nsleep 0.5\n", "gsub", "-N", "arr", "-t", "1-20", "-tc", "2")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "Your job-array ") || !strings.Contains(r.stdout, `.1-20:1 ("arr") has been submitted`) {
		t.Fatalf("gsub -t: %d %q %q", r.code, r.stdout, r.stderr)
	}
	id, err := strconv.ParseInt(strings.TrimSuffix(strings.Fields(r.stdout)[2], ".1-20:1"), 10, 64)
	if err != nil {
		t.Fatalf("job id in %q: %v", r.stdout, err)
	}
	arr := s.wait(id, 3*time.Minute, "finished", func(j *api.Job) bool { return j.State.Finished() })
	if arr.State != api.Done || arr.Tasks.Done != 20 {
		t.Fatalf("array: %s %+v %s", arr.State, arr.Tasks, arr.Reason.Message)
	}
	jobs, err := s.api.Jobs(context.Background(), client.Query{Users: []string{"gdtest-alice"}})
	if err != nil {
		t.Fatal(err)
	}
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	seen := map[int64]bool{}
	for _, j := range jobs {
		if j.ArrayID != id {
			continue
		}
		seen[j.TaskID] = true
		want := strings.Repeat(strconv.FormatInt(j.TaskID, 10)+" ", 3)
		if got := readFile(t, filepath.Join(arr.Dir, strconv.FormatInt(j.TaskID, 10), "stdout")); got != strings.TrimSpace(want)+"\n" {
			t.Errorf("task %d wrote %q", j.TaskID, got)
		}
		edges = append(edges, edge{j.Started, 1}, edge{j.Ended, -1})
	}
	if len(seen) != 20 {
		t.Errorf("%d tasks ran; want 20", len(seen))
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta // an end before a start at the same instant
	})
	most, now := 0, 0
	for _, e := range edges {
		now += e.delta
		most = max(most, now)
	}
	if most > 2 {
		t.Errorf("%d tasks ran at once; -tc 2", most)
	}
}
