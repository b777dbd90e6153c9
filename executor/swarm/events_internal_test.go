package swarm

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/godocker/godocker/executor"
)

// task is a task of job id's first attempt in state s.
func task(id string, job int64, s swarm.TaskState, err string) swarm.Task {
	t := swarm.Task{ID: id, Spec: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Labels: map[string]string{
		executor.LabelJob: fmt.Sprint(job), executor.LabelAttempt: "1",
	}}}}
	t.Status.State, t.Status.Err = s, err
	t.Status.Timestamp = time.Unix(1000, 0)
	if s != swarm.TaskStatePending && s != swarm.TaskStateRejected {
		t.Status.ContainerStatus = &swarm.ContainerStatus{ContainerID: "c" + id}
	}
	return t
}

// kinds lists the events as "JOB:KIND".
func kinds(evs []executor.Event) []string {
	var s []string
	for _, e := range evs {
		if e.Time.IsZero() || e.Attempt != 1 {
			s = append(s, fmt.Sprintf("bad event %+v", e))
		}
		s = append(s, fmt.Sprintf("%d:%s", e.JobID, e.Kind))
	}
	return s
}

func TestTracker(t *testing.T) {
	now := time.Unix(2000, 0)
	tr := &tracker{seen: map[string]seenTask{}}
	// What exists when the stream starts is not news.
	tr.update([]swarm.Task{
		task("a", 1, swarm.TaskStateRunning, ""),
		task("b", 2, swarm.TaskStateComplete, ""),
		task("c", 3, swarm.TaskStatePending, ""),
		task("d", 4, swarm.TaskStateRunning, ""),
	}, now)
	for i, step := range []struct {
		tasks []swarm.Task
		want  []string
	}{
		{ // nothing changed
			[]swarm.Task{task("a", 1, swarm.TaskStateRunning, ""), task("b", 2, swarm.TaskStateComplete, ""), task("c", 3, swarm.TaskStatePending, ""), task("d", 4, swarm.TaskStateRunning, "")},
			nil,
		},
		{ // a ended; c started and ended between two lists; d vanished while running; new ones
			[]swarm.Task{
				task("a", 1, swarm.TaskStateFailed, "task: non-zero exit (137)"),
				task("b", 2, swarm.TaskStateComplete, ""),
				task("c", 3, swarm.TaskStateComplete, ""),
				task("e", 5, swarm.TaskStateRejected, "No such image: x"),
				task("f", 6, swarm.TaskStateStarting, ""),
				task("g", 7, swarm.TaskStateFailed, "task: non-zero exit (3)"),
				task("h", 8, swarm.TaskStateFailed, "starting container failed: oops"),
				{ID: "x", Spec: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{}}}, // not GoDocker's
			},
			[]string{"1:exited", "3:started", "3:exited", "5:exited", "7:started", "7:exited", "8:exited", "4:exited"},
		},
		{ // f runs, then nothing new
			[]swarm.Task{task("f", 6, swarm.TaskStateRunning, "")},
			[]string{"6:started"},
		},
		{
			[]swarm.Task{task("f", 6, swarm.TaskStateRunning, "")},
			nil,
		},
		{ // f's service removed: it ended with it
			nil,
			[]string{"6:exited"},
		},
	} {
		if got := kinds(tr.update(step.tasks, now)); !slices.Equal(got, step.want) {
			t.Errorf("step %d: events %q, want %q", i+1, got, step.want)
		}
	}
	if len(tr.seen) != 0 {
		t.Errorf("tasks remembered after they all vanished: %v", tr.seen)
	}
}

// TestTrackerInstallation: a stream of an executor with an installation
// reports the tasks of that installation only, not those of another
// installation's job of the same id, nor those of before installations.
func TestTrackerInstallation(t *testing.T) {
	now := time.Unix(2000, 0)
	of := func(inst string, tk swarm.Task) swarm.Task {
		if inst != "" {
			tk.Spec.ContainerSpec.Labels[executor.LabelInstallation] = inst
		}
		return tk
	}
	tr := &tracker{installation: "0a0a0a0a0a0a", seen: map[string]seenTask{}}
	tr.update(nil, now)
	evs := tr.update([]swarm.Task{
		of("0a0a0a0a0a0a", task("a", 1, swarm.TaskStateRunning, "")),
		of("0b0b0b0b0b0b", task("b", 1, swarm.TaskStateRunning, "")),
		of("", task("c", 1, swarm.TaskStateRunning, "")),
	}, now)
	if got, want := kinds(evs), []string{"1:started"}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q (task a's alone)", got, want)
	}
	evs = tr.update([]swarm.Task{
		of("0a0a0a0a0a0a", task("a", 1, swarm.TaskStateRunning, "")),
		of("0b0b0b0b0b0b", task("b", 1, swarm.TaskStateComplete, "")),
	}, now)
	if len(evs) != 0 {
		t.Errorf("another installation's task ended: events %q, want none", kinds(evs))
	}
}
