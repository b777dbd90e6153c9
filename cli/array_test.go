package cli

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
)

// gsub -t and -tc, on the command line and in directives, become
// Spec.Array as Grid Engine reads them.
func TestGsubArrayOption(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		stdin string
		want  *api.Array
	}{
		{nil, "echo\n", nil},
		{[]string{"-t", "1-1000:2"}, "echo\n", &api.Array{First: 1, Last: 1000, Step: 2}}, // as given, as qsub prints it
		{[]string{"-t", "1-1000"}, "echo\n", &api.Array{First: 1, Last: 1000, Step: 1}},
		{[]string{"-t", "5"}, "echo\n", &api.Array{First: 5, Last: 5, Step: 1}},
		{[]string{"-t", "3-3"}, "echo\n", &api.Array{First: 3, Last: 3, Step: 1}},
		{[]string{"-t", "1-10:4"}, "echo\n", &api.Array{First: 1, Last: 10, Step: 4}},
		{[]string{"-t", "2-3:5"}, "echo\n", &api.Array{First: 2, Last: 3, Step: 5}},
		{[]string{"-t=1-9:2"}, "echo\n", &api.Array{First: 1, Last: 9, Step: 2}},
		{[]string{"-t", "1-100", "-tc", "5"}, "echo\n", &api.Array{First: 1, Last: 100, Step: 1, Limit: 5}},
		{[]string{"-tc", "5", "-t", "1-100"}, "echo\n", &api.Array{First: 1, Last: 100, Step: 1, Limit: 5}},
		// Directives, on one line or several; the command line wins.
		{nil, "#$ -t 1-10:2 -tc 3\necho\n", &api.Array{First: 1, Last: 10, Step: 2, Limit: 3}},
		{nil, "#$ -t 1-10\necho\n#$ -tc 2\n", &api.Array{First: 1, Last: 10, Step: 1, Limit: 2}},
		{[]string{"-t", "3-4"}, "#$ -t 1-10 -tc 2\necho\n", &api.Array{First: 3, Last: 4, Step: 1, Limit: 2}},
		{[]string{"-t", "1-4"}, "#$ -tc 2\necho\n", &api.Array{First: 1, Last: 4, Step: 1, Limit: 2}},
		{[]string{"-tc", "7"}, "#$ -t 1-4 -tc 2\necho\n", &api.Array{First: 1, Last: 4, Step: 1, Limit: 7}},
		// -terse and -t side by side: neither is the other.
		{[]string{"-terse", "-t", "2-4"}, "echo\n", &api.Array{First: 2, Last: 4, Step: 1}},
	} {
		f := newFake("alice")
		r := gsub(f, tc.stdin, tc.args...)
		if r.code != 0 || len(f.specs) != 1 {
			t.Errorf("gsub %q with %q: exit %d, %q", tc.args, tc.stdin, r.code, r.stderr)
			continue
		}
		if got := f.specs[0].Array; !reflect.DeepEqual(got, tc.want) {
			t.Errorf("gsub %q with %q: array %+v; want %+v", tc.args, tc.stdin, got, tc.want)
		}
	}
}

func TestGsubArrayBadOption(t *testing.T) {
	f := newFake("alice")
	for _, tc := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"-t", "0-10"}, "echo\n", "gsub: -t 0-10: task numbers start at 1, FIRST is 0\n"},
		{[]string{"-t", "0"}, "echo\n", "-t 0: task numbers start at 1, FIRST is 0"},
		{[]string{"-t", "-5"}, "echo\n", "-t -5: task numbers start at 1"},
		{[]string{"-t", "10-5"}, "echo\n", "-t 10-5: LAST 5 is less than FIRST 10"},
		{[]string{"-t", "1-10:0"}, "echo\n", "-t 1-10:0: STEP must be 1 or more"},
		{[]string{"-t", "a-b"}, "echo\n", `-t a-b: FIRST "a" is not a whole number: want FIRST-LAST[:STEP], e.g. -t 1-100 or -t 1-1000:2`},
		{[]string{"-t", "1-x"}, "echo\n", `-t 1-x: LAST "x" is not a whole number`},
		{[]string{"-t", "1-9:y"}, "echo\n", `-t 1-9:y: STEP "y" is not a whole number`},
		{[]string{"-t", "1-9:-2"}, "echo\n", `-t 1-9:-2: STEP must be 1 or more`},
		{[]string{"-t", "1.5"}, "echo\n", `-t 1.5: FIRST "1.5" is not a whole number`},
		{[]string{"-t", "1-"}, "echo\n", "-t 1-: LAST is missing"},
		{[]string{"-t", ""}, "echo\n", "-t needs the tasks: want FIRST-LAST[:STEP]"},
		{[]string{"-t", "5:2"}, "echo\n", "-t 5:2: a STEP goes with a range"},
		{[]string{"-t", "1-99999999999999999999"}, "echo\n", "-t 1-99999999999999999999: LAST 99999999999999999999 is too large"},
		{[]string{"-t"}, "echo\n", "option -t needs a value"},
		{[]string{"-tc", "3"}, "echo\n", "gsub: -tc 3 limits how many tasks of an array run at once: give the array's tasks with -t too\n"},
		{[]string{"-t", "1-10", "-tc", "0"}, "echo\n", `-tc "0": want a number of tasks of 1 or more`},
		{[]string{"-t", "1-10", "-tc", "many"}, "echo\n", `-tc "many": want a number of tasks of 1 or more`},
		{nil, "echo\n#$ -t 0-3\n", "gsub: STDIN:2: -t 0-3: task numbers start at 1, FIRST is 0 in #$ directive\n"},
		{nil, "#$ -t 1-4 -tc x\n", `STDIN:1: -tc "x": want a number of tasks of 1 or more in #$ directive`},
		{nil, "#$ -tc 2\necho\n", "-tc 2 limits how many tasks of an array run at once"},
	} {
		r := gsub(f, tc.stdin, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("gsub %q with %q: exit %d, stderr %q; want 2 and %q", tc.args, tc.stdin, r.code, r.stderr, tc.want)
		}
	}
	if len(f.specs) != 0 {
		t.Errorf("bad -t or -tc reached the server %d times", len(f.specs))
	}
}

// The submission lines are Grid Engine's, to the byte.
func TestGsubArrayOutput(t *testing.T) {
	f := newFake("alice")
	for _, tc := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"-N", "arr", "-t", "1-1000:2"}, "echo\n", "Your job-array 101.1-1000:2 (\"arr\") has been submitted\n"},
		{[]string{"-N", "arr", "-t", "1-1000"}, "echo\n", "Your job-array 102.1-1000:1 (\"arr\") has been submitted\n"},
		{[]string{"-t", "5", "-tc", "1"}, "echo\n", "Your job-array 103.5-5:1 (\"STDIN\") has been submitted\n"},
		{[]string{"-terse", "-t", "2-10:2"}, "echo\n", "104.2-10:2\n"},
		{nil, "#$ -terse -t 1-3\necho\n", "105.1-3:1\n"},
		{[]string{"-N", "plain"}, "echo\n", "Your job 106 (\"plain\") has been submitted\n"},
	} {
		if r := gsub(f, tc.stdin, tc.args...); r.code != 0 || r.stdout != tc.want {
			t.Errorf("gsub %q: exit %d, %q %q; want %q", tc.args, r.code, r.stdout, r.stderr, tc.want)
		}
	}
}

// gsub -sync y waits for the array's own record to end and exits 0 only
// if every task succeeded.
func TestGsubSyncArray(t *testing.T) {
	for _, tc := range []struct {
		tasks api.Tasks
		state api.State
		code  int
		line  string
	}{
		{api.Tasks{Next: 6, Done: 3}, api.Done, 0, "Job-array %d.1-5:2 ended: 3 tasks done, 0 failed.\n"},
		{api.Tasks{Next: 6, Done: 2, Failed: 1}, api.Failed, 1, "Job-array %d.1-5:2 ended: 2 tasks done, 1 failed.\n"},
		{api.Tasks{Next: 6, Done: 1, Failed: 2}, api.Cancelled, 1, "Job-array %d.1-5:2 ended: 1 tasks done, 2 failed.\n"},
	} {
		f := newFake("alice")
		f.events = make(chan api.Event, 1)
		done := make(chan run)
		go func() { done <- gsub(f, "echo\n", "-sync", "y", "-t", "1-5:2", "-N", "a") }()
		id := waitForJob(t, f)
		f.mu.Lock()
		if got := f.jobs[id].Tasks; got == nil || got.Next != 1 {
			t.Errorf("the fake's new array has tasks %+v; want Next 1", got)
		}
		tasks := tc.tasks
		f.jobs[id].State, f.jobs[id].Tasks = tc.state, &tasks
		f.mu.Unlock()
		f.events <- api.Event{Kind: api.EventFinished, Job: &api.Job{ID: id}}
		select {
		case r := <-done:
			want := fmt.Sprintf("Your job-array %d.1-5:2 (\"a\") has been submitted\n"+tc.line, id, id)
			if r.code != tc.code || r.stdout != want {
				t.Errorf("gsub -sync y -t 1-5:2 ending %s %+v: exit %d, %q; want %d, %q", tc.state, tc.tasks, r.code, r.stdout, tc.code, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("gsub -sync y did not return after the array ended")
		}
	}
}

// arrayJobs is a queue with arrays in every shape: 30 (1-1000:2, tasks
// 1 to 999) has two tasks
// running and the rest not created; 40 has all its tasks created (one
// failed); 50 is held; 60 has one task left. The tasks' own ids (5xx)
// are the store's and must never show.
func arrayJobs() []*api.Job {
	arr := func(id int64, name string, state api.State, a api.Array, tasks api.Tasks) *api.Job {
		return &api.Job{ID: id, Name: name, User: "alice", UID: 1000, GID: 1000, Group: "alice", Project: "default",
			State: state, Submitted: t0, Attempt: 0,
			Spec: api.Spec{Array: &a, CPUs: 2, Script: "echo $SGE_TASK_ID\n", ScriptName: "arr.sh", Image: "godocker/base:latest",
				SubmitDir: "/home/alice/work", SubmitHost: "login1"},
			Dir: fmt.Sprintf("/var/lib/godocker/jobs/alice/%d", id), Tasks: &tasks}
	}
	task := func(id int64, a *api.Job, n int64, state api.State, node string) *api.Job {
		t := a.Clone()
		t.ID, t.ArrayID, t.TaskID, t.Tasks, t.State = id, a.ID, n, nil, state
		t.Executor, t.Node, t.Started, t.Attempt = "docker", node, t0.Add(time.Duration(n)*time.Minute), 1
		t.Dir = fmt.Sprintf("%s/%d", a.Dir, n)
		t.Stdout, t.Stderr = t.Dir+"/stdout", t.Dir+"/stderr"
		return t
	}
	a30 := arr(30, "arr", api.Pending, api.Array{First: 1, Last: 1000, Step: 2, Limit: 2}, api.Tasks{Next: 5, Running: 2})
	a30.Reason = api.Reason{Code: "TaskLimit", Message: "2 tasks run, the most it may at once (-tc 2)"}
	a40 := arr(40, "full", api.Pending, api.Array{First: 1, Last: 3, Step: 1}, api.Tasks{Next: 4, Running: 2, Failed: 1})
	a50 := arr(50, "heldarr", api.Held, api.Array{First: 1, Last: 10, Step: 1}, api.Tasks{Next: 1})
	a50.Reason = api.Reason{Code: api.ReasonHeld, Message: "held by its owner alice (gctl hold)"}
	a60 := arr(60, "lastone", api.Pending, api.Array{First: 1, Last: 8, Step: 3}, api.Tasks{Next: 7, Done: 2})
	failed := task(505, a40, 1, api.Failed, "node2")
	failed.Ended, failed.ExitCode = failed.Started.Add(time.Hour), exitCode(3)
	failed.Reason = api.Reason{Code: api.ReasonExit, Message: "exited with code 3"}
	failed.Usage = api.Usage{WallSeconds: 3600, CPUSeconds: 7100, MaxMemory: 1 << 30}
	return []*api.Job{
		sampleJobs()[0],
		a30, task(501, a30, 1, api.Running, "node1"), task(502, a30, 3, api.Running, "node2"),
		a40, failed, task(503, a40, 2, api.Running, "node1"), task(504, a40, 3, api.Suspended, "node1"),
		a50, a60,
	}
}

func TestGstatArrays(t *testing.T) {
	f := newFake("alice", arrayJobs()...)
	r := gstat(f)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	golden(t, "gstat-array", r.stdout)
	for _, want := range []string{
		// Two tasks running, the rest waiting as one range.
		"     30 0.50000 arr        alice        r     11/23/2026 10:02:02 docker@node1                       2 1\n",
		"     30 0.50000 arr        alice        r     11/23/2026 10:04:02 docker@node2                       2 3\n",
		"     30 0.50000 arr        alice        qw    11/23/2026 10:01:02                                    2 5-999:2\n",
		// Every task created: no row of the array's own.
		"     40 0.50000 full       alice        r     11/23/2026 10:03:02 docker@node1                       2 2\n",
		"     40 0.50000 full       alice        s     11/23/2026 10:04:02 docker@node1                       2 3\n",
		// Held: hqw, all its tasks.
		"     50 0.50000 heldarr    alice        hqw   11/23/2026 10:01:02                                    2 1-10:1\n",
		// One task left: its number alone.
		"     60 0.50000 lastone    alice        qw    11/23/2026 10:01:02                                    2 7\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("gstat lacks the row\n%s", want)
		}
	}
	if strings.Count(r.stdout, "\n     40 ") != 2 {
		t.Errorf("array 40, whose tasks were all created, has a row of its own:\n%s", r.stdout)
	}
	noInternalIDs(t, r.stdout)

	// -s r: the tasks that run; -s p: the tasks that wait; -s h: held.
	for letters, want := range map[string][]string{
		"r":  {"12 r", "30 r 1", "30 r 3", "40 r 2"},
		"s":  {"40 s 3"},
		"p":  {"30 qw 5-999:2", "50 hqw 1-10:1", "60 qw 7"},
		"h":  {"50 hqw 1-10:1"},
		"z":  {"40 z 1"},
		"pr": {"12 r", "30 r 1", "30 r 3", "30 qw 5-999:2", "40 r 2", "50 hqw 1-10:1", "60 qw 7"},
	} {
		r := gstat(f, "-s", letters)
		if got := rowSummary(r.stdout); !slices.Equal(got, want) {
			t.Errorf("gstat -s %s: rows %q; want %q", letters, got, want)
		}
	}
	r = gstat(f, "-s", "z")
	golden(t, "gstat-array-finished", r.stdout)
	noInternalIDs(t, r.stdout)
	r = gstat(f, "-r")
	golden(t, "gstat-array-r", r.stdout)
	ext := gstat(f, "-ext")
	golden(t, "gstat-array-ext", ext.stdout)
	if !strings.Contains(ext.stdout, " TaskLimit            5-999:2\n") {
		t.Errorf("gstat -ext does not show why array 30's tasks wait:\n%s", ext.stdout)
	}
	if !strings.Contains(r.stdout, "       Reason:           TaskLimit: 2 tasks run, the most it may at once (-tc 2)\n") {
		t.Errorf("gstat -r does not say why array 30 waits:\n%s", r.stdout)
	}

	// --json: the API's objects, as they are.
	r = gstat(f, "-s", "p", "--json")
	for _, want := range []string{`"id": 30,`, `"array": {`, `"tasks": {`, `"next": 5,`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("gstat --json lacks %s:\n%s", want, r.stdout)
		}
	}
}

// rowSummary reduces gstat's rows to "ID STATE [TASKS]".
func rowSummary(table string) []string {
	lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	if len(lines) < 2 {
		return nil
	}
	var out []string
	for _, line := range lines[2:] {
		f := strings.Fields(line)
		s := f[0] + " " + f[4]
		if len(line) > 103 && strings.TrimSpace(line[103:]) != "" {
			s += " " + strings.TrimSpace(line[103:])
		}
		out = append(out, s)
	}
	return out
}

// noInternalIDs fails if a task's own id shows.
func noInternalIDs(t *testing.T, out string) {
	t.Helper()
	for _, id := range []string{"501", "502", "503", "504", "505"} {
		if strings.Contains(out, id) {
			t.Errorf("a task's internal id %s shows:\n%s", id, out)
		}
	}
}

func TestGstatDetailArray(t *testing.T) {
	f := newFake("alice", arrayJobs()...)
	r := gstat(f, "-j", "30,40.1")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	golden(t, "gstat-j-array", r.stdout)
	noInternalIDs(t, r.stdout)
	arrayPart, taskPart, _ := strings.Cut(strings.TrimPrefix(r.stdout, strings.Repeat("=", 62)+"\n"), strings.Repeat("=", 62)+"\n")
	for _, want := range []string{
		"job_number:                 30\n",
		"job-array tasks:            1-1000:2\n",
		"task_concurrency:           2\n",
		"task_states:                running 2, done 0, failed 0, not started 498\n",
		"scheduling info:            2 tasks run, the most it may at once (-tc 2)\n",
	} {
		if !strings.Contains(arrayPart, want) {
			t.Errorf("gstat -j 30 lacks %q:\n%s", want, arrayPart)
		}
	}
	for _, want := range []string{
		"job_number:                 40\n",
		"ja_task_id:                 1\n",
		"exec_file:                  job_scripts/40\n",
		"job_state:                  failed\n",
		"job_dir:                    /var/lib/godocker/jobs/alice/40/1\n",
		"exit_status:                3\n",
		"usage    1:                 wallclock=1:00:00, cpu=1:58:20, mem=0, maxvmem=1G\n",
		"error reason    1:          exited with code 3\n",
	} {
		if !strings.Contains(taskPart, want) {
			t.Errorf("gstat -j 40.1 lacks %q:\n%s", want, taskPart)
		}
	}
	if strings.Contains(taskPart, "job-array tasks") || strings.Contains(taskPart, "task_states") {
		t.Errorf("gstat -j 40.1 shows the array's tally:\n%s", taskPart)
	}
	// The usage and error lines carry the task's number, as Grid Engine's.
	j, _ := f.Job(t.Context(), api.JobRef{ID: 40, Task: 1})
	j.TaskID = 12
	var b strings.Builder
	writeDetail(&b, j, "")
	if !strings.Contains(b.String(), "usage   12:") || !strings.Contains(b.String(), "error reason   12:") {
		t.Errorf("task 12's lines are not numbered 12:\n%s", b.String())
	}

	// A task not created yet waits as its array does (gstat -j ID.TASK
	// exits 0 while a task has not ended); a task that is not the
	// array's, and a task's internal id, do not exist.
	r = gstat(f, "-j", "30.7,30.2,501,50.3,40.5")
	if r.code != 1 || r.stderr != "Following jobs do not exist: \n30.2, 501, 40.5\n" {
		t.Errorf("gstat -j with tasks that do not exist: exit %d, %q, stdout\n%s", r.code, r.stderr, r.stdout)
	}
	golden(t, "gstat-j-waiting-task", r.stdout)
	for _, want := range []string{
		"job_number:                 30\nja_task_id:                 7\n",
		"job_state:                  pending\n",
		"scheduling info:            2 tasks run, the most it may at once (-tc 2)\n",
		"job_number:                 50\nja_task_id:                 3\n",
		"job_state:                  held\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("gstat -j of waiting tasks lacks %q", want)
		}
	}
	if strings.Contains(r.stdout, "job_dir") || strings.Contains(r.stdout, "task_states") {
		t.Errorf("a waiting task shows a directory or its array's tally:\n%s", r.stdout)
	}
	if r := gstat(f, "-j", "30.x"); r.code != 1 || r.stderr != "Following jobs do not exist: \n30.x\n" {
		t.Errorf("gstat -j 30.x: exit %d %q", r.code, r.stderr)
	}
}

func TestGdelArray(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		code    int
		out     string
		deleted []api.JobRef
	}{
		{[]string{"30.3"}, 0, "alice has registered the job-array task 30.3 for deletion\n", []api.JobRef{{ID: 30, Task: 3}}},
		{[]string{"30_1", "30.1"}, 0, "alice has registered the job-array task 30.1 for deletion\n", []api.JobRef{{ID: 30, Task: 1}}},
		{[]string{"30"}, 0, "alice has registered the job 30 for deletion\n", []api.JobRef{{ID: 30}}},
		{[]string{"50"}, 0, "alice has deleted job 50\n", []api.JobRef{{ID: 50}}},
		// By name: the array, not each of its tasks too.
		{[]string{"arr"}, 0, "alice has registered the job 30 for deletion\n", []api.JobRef{{ID: 30}}},
		{[]string{"40.1"}, 1, "denied: job \"40.1\" has already finished\n", nil},
		{[]string{"30.2"}, 1, "denied: job \"30.2\" does not exist\n", nil},
		{[]string{"501"}, 1, "denied: job \"501\" does not exist\n", nil},
		{[]string{"30.7"}, 1, "denied: job \"30.7\": task 30.7 has not started yet: act on the whole array (30) or wait\n", nil},
		{[]string{"30.0"}, 1, "denied: job \"30.0\" does not exist\n", nil},
	} {
		f := newFake("alice", arrayJobs()...)
		r := gdel(f, tc.args...)
		if r.code != tc.code || r.stdout != tc.out || !slices.Equal(f.deleted, tc.deleted) {
			t.Errorf("gdel %q: exit %d, %q, deleted %v; want %d, %q, %v", tc.args, r.code, r.stdout, f.deleted, tc.code, tc.out, tc.deleted)
		}
	}
	// gdel 12 of an array sends the array's id: the server deletes it
	// whole (here no task was created: deleted at once).
	f := newFake("alice", arrayJobs()...)
	gdel(f, "50")
	if j := f.jobs[50]; j.State != api.Cancelled || j.Tasks.Next != 11 || j.Tasks.Failed != 10 {
		t.Errorf("gdel 50 left the array %s with tasks %+v", j.State, j.Tasks)
	}
	// -u: the arrays by their ids, the plain jobs, no task twice.
	f = newFake("alice", arrayJobs()...)
	r := gdel(f, "-u", "alice")
	want := []api.JobRef{{ID: 12}, {ID: 30}, {ID: 40}, {ID: 50}, {ID: 60}}
	slices.SortFunc(f.deleted, func(a, b api.JobRef) int { return int(a.ID - b.ID) })
	if r.code != 0 || !slices.Equal(f.deleted, want) {
		t.Errorf("gdel -u alice: exit %d %q, deleted %v; want %v", r.code, r.stdout, f.deleted, want)
	}
}

func TestGctlArrayTasks(t *testing.T) {
	f := newFake("alice", arrayJobs()...)
	for _, tc := range []struct {
		args           []string
		code           int
		stdout, stderr string
	}{
		{[]string{"suspend", "30.3"}, 0, "job 30.3 suspended\n", ""},
		{[]string{"resume", "30_3"}, 0, "job 30.3 resumed\n", ""},
		{[]string{"resume", "40.3", "40.2"}, 1, "job 40.3 resumed\n", "gctl: job 40.2: job 40.2 is running: only a suspended job can be resumed\n"},
		{[]string{"release", "50"}, 0, "job 50 released\n", ""},
		{[]string{"hold", "30.7"}, 1, "", "gctl: job 30.7: task 30.7 has not started yet: act on the whole array (30) or wait\n"},
		{[]string{"requeue", "40.1"}, 0, "job 40.1 requeued (attempt 2)\n", ""},
		{[]string{"alter", "60", "-N", "renamed"}, 0, "modified job 60\n", ""},
		{[]string{"alter", "30.1", "-p", "-5"}, 1, "", "gctl: job 30.1: job 30.1 is running: only a waiting job can be altered\n"},
	} {
		r := gctl(f, tc.args...)
		if r.code != tc.code || r.stdout != tc.stdout || r.stderr != tc.stderr {
			t.Errorf("gctl %q: exit %d, %q %q; want %d, %q %q", tc.args, r.code, r.stdout, r.stderr, tc.code, tc.stdout, tc.stderr)
		}
	}
	want := []string{"suspend 30.3", "resume 30.3", "resume 40.3", "resume 40.2", "release 50", "hold 30.7", "requeue 40.1"}
	if !slices.Equal(f.controls, want) {
		t.Errorf("requests %q; want %q", f.controls, want)
	}
	wantAlters := []api.JobRef{{ID: 60}, {ID: 30, Task: 1}}
	if len(f.alters) != 2 || f.alters[0].ref != wantAlters[0] || f.alters[1].ref != wantAlters[1] {
		t.Errorf("alters %s; want to %v", alterString(f.alters), wantAlters)
	}
	if f.jobs[502].State != api.Running || f.jobs[504].State != api.Running || f.jobs[50].State != api.Pending {
		t.Errorf("states: 30.3 %s, 40.3 %s, 50 %s", f.jobs[502].State, f.jobs[504].State, f.jobs[50].State)
	}
}

func TestPendingTasksWithDeletions(t *testing.T) {
	j := &api.Job{Spec: api.Spec{Array: &api.Array{First: 1, Last: 99, Step: 2}}, Tasks: &api.Tasks{Next: 5, Deleted: []int64{11, 13, 99}}}
	next, tasks := notCreated(j)
	if next != 5 || tasks != "5-9:2,15-97:2" {
		t.Errorf("notCreated = %d, %q; want 5, 5-9:2,15-97:2", next, tasks)
	}
	if n := j.TasksNotStarted(); n != 3+42 {
		t.Errorf("notStarted = %d; want 45", n)
	}
}
