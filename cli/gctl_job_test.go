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

// controlJobs are a job in each state gctl's job commands act on, and one
// of somebody else's.
func controlJobs() []*api.Job {
	return []*api.Job{
		{ID: 1, Name: "wait", User: "alice", State: api.Pending, Attempt: 1, Spec: api.Spec{CPUs: 3}},
		{ID: 2, Name: "held", User: "alice", State: api.Held, Attempt: 1, Reason: api.Reason{Code: api.ReasonHeld}},
		{ID: 3, Name: "run", User: "alice", State: api.Running, Attempt: 1, Started: t0},
		{ID: 4, Name: "frozen", User: "alice", State: api.Suspended, Attempt: 1, Started: t0, SuspendedAt: t0.Add(time.Minute)},
		{ID: 5, Name: "failed", User: "alice", State: api.Failed, Attempt: 1, ExitCode: exitCode(3), Reason: api.Reason{Code: api.ReasonExit, Message: "exited with code 3"}},
		{ID: 7, Name: "bobs", User: "bob", State: api.Pending, Attempt: 1},
	}
}

// Each control command acts on every job given, says what it did on
// standard output and what failed on standard error, and exits 1 when
// something failed.
func TestGctlControl(t *testing.T) {
	f := newFake("alice", controlJobs()...)
	var b strings.Builder
	for _, args := range [][]string{
		{"hold", "1", "2", "999"},
		{"release", "2,1"},
		{"release", "2"},
		{"suspend", "3", "4"},
		{"resume", "3", "4"},
		{"requeue", "5", "4", "1"},
		{"hold", "7"},
		{"hold", "1", "1"},
	} {
		r := gctl(f, args...)
		fmt.Fprintf(&b, "$ gctl %s\n%s", strings.Join(args, " "), r.stdout)
		for _, line := range strings.SplitAfter(r.stderr, "\n") {
			if line != "" {
				b.WriteString("stderr: " + line)
			}
		}
		fmt.Fprintf(&b, "exit %d\n\n", r.code)
		want := 0
		if r.stderr != "" {
			want = 1
		}
		if r.code != want {
			t.Errorf("gctl %q: exit %d with stderr %q; want %d", args, r.code, r.stderr, want)
		}
	}
	golden(t, "gctl-control", b.String())

	// What the fake server was asked, in order: every id, one request
	// each, the failing ones too.
	want := []string{
		"hold 1", "hold 2", "hold 999",
		"release 2", "release 1",
		"release 2",
		"suspend 3", "suspend 4",
		"resume 3", "resume 4",
		"requeue 5", "requeue 4", "requeue 1",
		"hold 7",
		"hold 1",
	}
	if !slices.Equal(f.controls, want) {
		t.Errorf("requests:\n%q\nwant\n%q", f.controls, want)
	}
	// The states the server was left in.
	for id, state := range map[int64]api.State{1: api.Held, 2: api.Pending, 3: api.Running, 4: api.Running, 5: api.Pending} {
		if got := f.jobs[id].State; got != state {
			t.Errorf("job %d is %s; want %s", id, got, state)
		}
	}
	if j := f.jobs[4]; !j.Requeue || !j.Deleting || j.Attempt != 1 {
		t.Errorf("requeued running job: %+v", j)
	}
	if j := f.jobs[5]; j.Attempt != 2 || len(j.Attempts) != 1 {
		t.Errorf("requeued failed job: attempt %d, attempts %+v", j.Attempt, j.Attempts)
	}
}

// A bad job id is a usage error and nothing is sent, not even for the
// good ids before it.
func TestGctlControlUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"hold"}, "missing ID: which jobs?"},
		{[]string{"release", "x"}, `"x" is not a job id`},
		{[]string{"suspend", "12", "x"}, `"x" is not a job id`},
		{[]string{"resume", "12.x"}, `"12.x" is not a job id: give job numbers, e.g. 12, or ID.TASK for a task of an array, e.g. 12.5`},
		{[]string{"resume", "12.0"}, `"12.0" is not a job id`},
		{[]string{"resume", "12.3.1"}, `"12.3.1" is not a job id`},
		{[]string{"requeue", "0"}, `"0" is not a job id`},
		{[]string{"hold", "12", "-5"}, `"-5" is not a job id`},
		{[]string{"hold", "-5"}, "unknown option -5"},
		{[]string{"hold", "12,"}, ""},
	} {
		f := newFake("alice", controlJobs()...)
		r := gctl(f, tc.args...)
		if tc.want == "" { // "12," is job 12 alone
			if r.code != 1 || f.controls[0] != "hold 12" || len(f.controls) != 1 {
				t.Errorf("gctl %q: exit %d, sent %q", tc.args, r.code, f.controls)
			}
			continue
		}
		help := "Try 'gctl " + tc.args[0] + " --help' for more information.\n"
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || !strings.HasSuffix(r.stderr, help) || r.stdout != "" {
			t.Errorf("gctl %q: exit %d, stdout %q, stderr %q; want 2 and %q", tc.args, r.code, r.stdout, r.stderr, tc.want)
		}
		if len(f.controls) != 0 {
			t.Errorf("gctl %q sent %q", tc.args, f.controls)
		}
	}
	for _, args := range [][]string{{"hold", "--help"}, {"requeue", "12", "--help"}, {"alter", "--help"}, {"alter", "12", "-N", "x", "--help"}} {
		f := newFake("alice")
		r := gctl(f, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "USAGE:\n   gctl "+args[0]+" ID") || len(f.controls)+len(f.alters) != 0 {
			t.Errorf("gctl %q: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// gctl alter sends exactly what its options change.
func TestGctlAlter(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want api.Alter
	}{
		{[]string{"1", "-N", "renamed"}, api.Alter{Name: ptr("renamed")}},
		{[]string{"-N", "renamed", "1"}, api.Alter{Name: ptr("renamed")}},
		{[]string{"1", "-pe", "smp", "4"}, api.Alter{CPUs: ptr(4)}},
		{[]string{"1", "-pe", "mpi", "2-8", "-p", "-10"}, api.Alter{CPUs: ptr(2), Priority: ptr(-10)}},
		// Per-slot memory times the slots, as gsub computes it, -pe before or after.
		{[]string{"1", "-l", "h_vmem=2G", "-pe", "smp", "2"}, api.Alter{CPUs: ptr(2), Memory: ptr[int64](4 << 30)}},
		{[]string{"-pe", "smp", "2", "1", "-l", "h_vmem=2G"}, api.Alter{CPUs: ptr(2), Memory: ptr[int64](4 << 30)}},
		{[]string{"1", "-l", "slots=4,h_vmem=1G"}, api.Alter{CPUs: ptr(4), Memory: ptr[int64](4 << 30)}},
		// Without slots in the command: the job's own (3).
		{[]string{"1", "-l", "h_vmem=1G"}, api.Alter{Memory: ptr[int64](3 << 30)}},
		{[]string{"1", "-l", "mem=3G,h_rt=1:00:00", "-l", "gpu=1"}, api.Alter{Memory: ptr[int64](3 << 30), Walltime: ptr[int64](3600), GPUs: ptr(1)}},
		{[]string{"1", "-l", "gpus=0,s_rt=90"}, api.Alter{GPUs: ptr(0), Walltime: ptr[int64](90)}},
		{[]string{"1", "-l", "cpu=2", "-pe", "smp", "8"}, api.Alter{CPUs: ptr(2)}}, // -l wins, as in gsub
		{[]string{"1", "-p", "5"}, api.Alter{Priority: ptr(5)}},
		{[]string{"1", "-q", "swarm"}, api.Alter{Executor: ptr("swarm")}},
		{[]string{"1", "--executor", "kube", "-p", "-1"}, api.Alter{Executor: ptr("kube"), Priority: ptr(-1)}},
		{[]string{"1", "-q", ""}, api.Alter{Executor: ptr("")}},
		{[]string{"1", "-hold_jid", "3,4"}, api.Alter{Dependencies: &[]api.Dependency{{Type: api.AfterAny, Jobs: []int64{3, 4}}}}},
		{[]string{"1", "--hold_jid", "3", "-hold_jid", "4,3"}, api.Alter{Dependencies: &[]api.Dependency{{Type: api.AfterAny, Jobs: []int64{3, 4}}}}},
		{[]string{"1", "-hold_jid", "NONE"}, api.Alter{Dependencies: &[]api.Dependency{}}},
		{[]string{"1", "-hold_jid", ""}, api.Alter{Dependencies: &[]api.Dependency{}}},
		{[]string{"1", "--dependency", ""}, api.Alter{Dependencies: &[]api.Dependency{}}},
		{[]string{"1", "--dependency", "afterok:5:6,afternotok:7"}, api.Alter{Dependencies: &[]api.Dependency{
			{Type: api.AfterOK, Jobs: []int64{5, 6}}, {Type: api.AfterNotOK, Jobs: []int64{7}}}}},
		{[]string{"1", "--dependency=afterany:5", "-hold_jid", "3"}, api.Alter{Dependencies: &[]api.Dependency{
			{Type: api.AfterAny, Jobs: []int64{3}}, {Type: api.AfterAny, Jobs: []int64{5}}}}},
	} {
		f := newFake("alice", controlJobs()...)
		r := gctl(f, append([]string{"alter"}, tc.args...)...)
		id := api.JobRef{ID: 1}
		if want := fmt.Sprintf("modified job %s\n", id); r.code != 0 || r.stdout != want || r.stderr != "" {
			t.Errorf("gctl alter %q: exit %d, %q %q; want %q", tc.args, r.code, r.stdout, r.stderr, want)
		}
		if len(f.alters) != 1 || f.alters[0].ref != id || !reflect.DeepEqual(f.alters[0].a, tc.want) {
			t.Errorf("gctl alter %q sent %s; want %s", tc.args, alterString(f.alters), alterString([]alterCall{{id, tc.want}}))
		}
	}
}

// alterString renders alter calls with their pointers followed.
func alterString(calls []alterCall) string {
	var b strings.Builder
	for _, c := range calls {
		fmt.Fprintf(&b, "{job %s", c.ref)
		v := reflect.ValueOf(c.a)
		for i := range v.NumField() {
			if f := v.Field(i); !f.IsNil() {
				fmt.Fprintf(&b, " %s=%v", v.Type().Field(i).Name, f.Elem().Interface())
			}
		}
		b.WriteString("}")
	}
	return b.String()
}

// A held job may be altered too.
func TestGctlAlterHeld(t *testing.T) {
	f := newFake("alice", controlJobs()...)
	if out := gctlOK(t, f, "alter", "2", "-N", "x"); out != "modified job 2\n" || len(f.alters) != 1 || f.alters[0].ref != (api.JobRef{ID: 2}) {
		t.Errorf("gctl alter 2 -N x: %q, sent %s", out, alterString(f.alters))
	}
}

func TestGctlAlterBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"1"}, "nothing to change: give at least one of -N, -pe, -l, -p, -q, -hold_jid, --dependency"},
		{[]string{"1", "-q", "all.q@node1"}, "GoDocker's scheduler chooses the node"},
		{[]string{"-N", "x"}, "missing ID: which job?"},
		{[]string{"1", "2", "-N", "x"}, `unexpected argument "2"`},
		{[]string{"x", "-N", "y"}, `"x" is not a job id`},
		{[]string{"1.x", "-N", "y"}, `"1.x" is not a job id`},
		{[]string{"1", "-N", ""}, "-N needs a name"},
		{[]string{"1", "-l", "image=debian:12"}, "-l image: the image of a job cannot be changed"},
		{[]string{"1", "-l", "license=1"}, "unknown resource"},
		{[]string{"1", "-l", "h_vmem=lots"}, "-l h_vmem"},
		{[]string{"1", "-pe", "smp"}, "want -pe NAME SLOTS"},
		{[]string{"1", "-pe", "smp", "0"}, "want a number of slots of 1 or more"},
		{[]string{"1", "-p", "2000"}, "want an integer priority from -1023 to 1024"},
		{[]string{"1", "-hold_jid", "prep"}, "give job ids: job names in -hold_jid are not supported yet"},
		{[]string{"1", "-hold_jid", "3.1"}, "-hold_jid 3.1: waiting for one task of an array is not supported; give the array's id"},
		{[]string{"1", "-hold_jid_ad", "3"}, "-hold_jid_ad: changing task-by-task dependencies is not supported yet"},
		{[]string{"1", "--dependency", "after:3"}, "unknown type \"after\"; want TYPE:ID[:ID...] with TYPE afterany, afterok or afternotok"},
		{[]string{"1", "--dependency", "afterok:x"}, `"x" is not a job id`},
		{[]string{"1", "--bogus"}, "unknown option -bogus"},
	} {
		f := newFake("alice", controlJobs()...)
		r := gctl(f, append([]string{"alter"}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || !strings.HasSuffix(r.stderr, "Try 'gctl alter --help' for more information.\n") || r.stdout != "" {
			t.Errorf("gctl alter %q: exit %d, stdout %q, stderr %q; want 2 and %q", tc.args, r.code, r.stdout, r.stderr, tc.want)
		}
		if len(f.alters) != 0 {
			t.Errorf("gctl alter %q sent %s", tc.args, alterString(f.alters))
		}
	}
	// The server's refusals: exit 1, the job named.
	f := newFake("alice", controlJobs()...)
	for _, tc := range []struct{ id, want string }{
		{"3", "gctl: job 3: job 3 is running: only a waiting job can be altered\n"},
		{"7", "gctl: job 7: job 7 belongs to bob: only its owner and admins may change it\n"},
		{"999", "gctl: job 999: job 999 does not exist\n"},
	} {
		if r := gctl(f, "alter", tc.id, "-p", "-1"); r.code != 1 || r.stderr != tc.want || r.stdout != "" {
			t.Errorf("gctl alter %s: exit %d, %q %q; want 1 and %q", tc.id, r.code, r.stdout, r.stderr, tc.want)
		}
	}
	// Per-slot memory of a job that does not exist: its slots are not known.
	if r := gctl(f, "alter", "999", "-l", "h_vmem=1G"); r.code != 1 || r.stderr != "gctl: job 999: job 999 does not exist\n" {
		t.Errorf("gctl alter 999 -l h_vmem=1G: exit %d, %q", r.code, r.stderr)
	}
}

func TestGsubDependencies(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		stdin string
		want  []api.Dependency
	}{
		{nil, "echo\n", nil},
		{[]string{"-hold_jid", "3,4"}, "echo\n", []api.Dependency{{Type: api.AfterAny, Jobs: []int64{3, 4}}}},
		{[]string{"--dependency", "afterok:5:6,afternotok:7"}, "echo\n", []api.Dependency{
			{Type: api.AfterOK, Jobs: []int64{5, 6}}, {Type: api.AfterNotOK, Jobs: []int64{7}}}},
		{[]string{"-hold_jid", "3,4", "--dependency=afterok:5:6,afternotok:7"}, "echo\n", []api.Dependency{
			{Type: api.AfterAny, Jobs: []int64{3, 4}}, {Type: api.AfterOK, Jobs: []int64{5, 6}}, {Type: api.AfterNotOK, Jobs: []int64{7}}}},
		// Directives and the command line add up; NONE drops what came before.
		{[]string{"-hold_jid", "9"}, "#$ -hold_jid 8\n#$ --dependency afterany:2\necho\n", []api.Dependency{
			{Type: api.AfterAny, Jobs: []int64{8, 9}}, {Type: api.AfterAny, Jobs: []int64{2}}}},
		{[]string{"-hold_jid", "NONE"}, "#$ -hold_jid 8\necho\n", nil},
		{[]string{"-hold_jid", "3", "-hold_jid", "3,,4"}, "echo\n", []api.Dependency{{Type: api.AfterAny, Jobs: []int64{3, 4}}}},
	} {
		f := newFake("alice")
		r := gsub(f, tc.stdin, tc.args...)
		if r.code != 0 || len(f.specs) != 1 {
			t.Errorf("gsub %q: exit %d, %q", tc.args, r.code, r.stderr)
			continue
		}
		if got := f.specs[0].Dependencies; !reflect.DeepEqual(got, tc.want) {
			t.Errorf("gsub %q with %q: dependencies %+v; want %+v", tc.args, tc.stdin, got, tc.want)
		}
	}
}

func TestGsubHoldJidAd(t *testing.T) {
	f := newFake("alice")
	r := gsub(f, "#$ -hold_jid_ad 5\necho\n", "-t", "1-3", "-hold_jid_ad", "3,4")
	if r.code != 0 || len(f.specs) != 1 {
		t.Fatalf("gsub -hold_jid_ad: exit %d, %q", r.code, r.stderr)
	}
	if got := f.specs[0].TaskDependencies; !reflect.DeepEqual(got, []int64{5, 3, 4}) {
		t.Errorf("task dependencies %v; want [5 3 4] (the directive's, then the command line's)", got)
	}
}

func TestGsubBadDependencies(t *testing.T) {
	f := newFake("alice")
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"echo\n", []string{"--dependency", "after:5"}, `gsub: --dependency after:5: unknown type "after"; want TYPE:ID[:ID...] with TYPE afterany, afterok or afternotok`},
		{"echo\n", []string{"--dependency", "singleton"}, `unknown type "singleton"`},
		{"echo\n", []string{"--dependency", "afterok:5,aftercorr:6"}, `--dependency aftercorr:6: unknown type "aftercorr"`},
		{"echo\n", []string{"--dependency", "afterok:x"}, `--dependency afterok:x: "x" is not a job id`},
		{"echo\n", []string{"--dependency", "afterok:5:-1"}, `"-1" is not a job id`},
		{"echo\n", []string{"--dependency", "afterok"}, "--dependency afterok: name the jobs: afterok:ID[:ID...]"},
		{"echo\n", []string{"--dependency", "afterok:5_2"}, "--dependency afterok:5_2: 5_2: waiting for one task of an array is not supported"},
		{"echo\n", []string{"--dependency", "afterok:5?afterany:6"}, "'?' (any of them) is not supported"},
		{"echo\n", []string{"-hold_jid", "prep"}, "gsub: -hold_jid prep: give job ids: job names in -hold_jid are not supported yet"},
		{"echo\n", []string{"-hold_jid", "3,prep*"}, "job names in -hold_jid are not supported yet"},
		{"echo\n", []string{"-hold_jid", "3.1"}, "-hold_jid 3.1: waiting for one task of an array is not supported"},
		{"echo\n", []string{"-hold_jid", "0"}, "-hold_jid 0: give job ids"},
		{"echo\n", []string{"-hold_jid_ad", "3"}, "gsub: -hold_jid_ad makes the tasks of an array wait task by task: give the array's tasks with -t"},
		{"echo\n", []string{"-t", "1-3", "-hold_jid_ad", "3.1"}, "-hold_jid_ad 3.1"},
		{"echo\n", []string{"-hold_jid"}, "option -hold_jid needs a value"},
		{"#$ -hold_jid prep\necho\n", nil, "STDIN:1: -hold_jid prep: give job ids: job names in -hold_jid are not supported yet in #$ directive"},
		{"echo\n#$ --dependency afterok:x\n", nil, `STDIN:2: --dependency afterok:x: "x" is not a job id`},
		{"#$ -hold_jid_ad 3\n", nil, "-hold_jid_ad makes the tasks of an array wait task by task"},
	} {
		r := gsub(f, tc.stdin, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("gsub %q with %q: exit %d, stderr %q; want 2 and %q", tc.args, tc.stdin, r.code, r.stderr, tc.want)
		}
	}
	if len(f.specs) != 0 {
		t.Errorf("bad dependencies reached the server %d times", len(f.specs))
	}
}

// dependentJobs: a job waiting for others after a failed first attempt,
// and a suspended one.
func dependentJobs() []*api.Job {
	j := detailedJob()
	j.ID, j.Name, j.State = 43, "merge", api.Pending
	j.Reason = api.Reason{Code: api.ReasonDependency, Message: "waiting for job 41 to end (afterany)"}
	j.Spec.Dependencies = []api.Dependency{
		{Type: api.AfterAny, Jobs: []int64{41, 42}},
		{Type: api.AfterOK, Jobs: []int64{40}},
		{Type: api.AfterNotOK, Jobs: []int64{38, 39}},
	}
	j.Attempt, j.Started, j.Ended, j.ExitCode, j.Node, j.Executor, j.Usage = 3, time.Time{}, time.Time{}, nil, "", "", api.Usage{}
	dir := "/var/lib/godocker/jobs/alice/43"
	j.Dir, j.Stdout, j.Stderr = dir, dir+"/stdout", dir+"/stderr"
	j.Attempts = []api.Attempt{
		{Attempt: 1, State: api.Failed, Reason: api.Reason{Code: api.ReasonExit, Message: "exited with code 3"}, Node: "node1",
			Started: t0, Ended: t0.Add(time.Hour), ExitCode: exitCode(3), Usage: api.Usage{WallSeconds: 3599},
			Stdout: dir + "/stdout.1", Stderr: dir + "/stderr.1"},
		{Attempt: 2, State: api.Killed, Reason: api.Reason{Code: api.ReasonRequeued, Message: "requeued by alice while it ran"}, Node: "node2",
			Started: t0.Add(2 * time.Hour), Ended: t0.Add(2*time.Hour + 5*time.Minute), ExitCode: exitCode(137), Usage: api.Usage{WallSeconds: 300}},
	}
	s := detailedJob()
	s.ID, s.Name, s.State, s.Ended, s.ExitCode, s.Reason = 44, "frozen", api.Suspended, time.Time{}, nil, api.Reason{}
	s.SuspendedSeconds, s.SuspendedAt = 120, t0.Add(30*time.Minute)
	s.Dir, s.Stdout, s.Stderr = "/var/lib/godocker/jobs/alice/44", "/var/lib/godocker/jobs/alice/44/stdout", "/var/lib/godocker/jobs/alice/44/stderr"
	return []*api.Job{j, s}
}

func TestGstatDependenciesAndAttempts(t *testing.T) {
	stopClock(t, t0.Add(40*time.Minute))
	f := newFake("alice", dependentJobs()...)
	r := gstat(f, "-j", "43,44")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	golden(t, "gstat-j-depend", r.stdout)
	for _, want := range []string{
		"jid_predecessor_list (req): 41,42\n",
		"dependency:                 afterok:40,afternotok:38:39\n",
		"attempt:                    3\n",
		"attempt 1:                  failed, exit 3, on node1, wallclock 0:59:59, output kept in /var/lib/godocker/jobs/alice/43/stdout.1 and /var/lib/godocker/jobs/alice/43/stderr.1\n",
		"attempt 2:                  killed, exit 137, requeued by alice while it ran, on node2, wallclock 0:05:00\n",
		"suspended_time:             0:12:00\n", // 2 minutes before, 10 since
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("gstat -j lacks %q", want)
		}
	}
	// Waiting for other jobs is Grid Engine's hqw, and -s h lists it.
	r = gstat(f, "-r")
	golden(t, "gstat-r-depend", r.stdout)
	if !strings.Contains(r.stdout, "     43 0.50000 merge      alice        hqw ") {
		t.Errorf("a job waiting for others is not hqw:\n%s", r.stdout)
	}
	sampled := append(sampleJobs(), dependentJobs()...)
	for letters, want := range map[string][]int64{"h": {14, 43}, "p": {13, 14, 43}, "s": {44}} {
		r := gstat(newFake("alice", sampled...), "-s", letters)
		var ids []int64
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n")[2:] {
			var id int64
			fmt.Sscan(line, &id)
			ids = append(ids, id)
		}
		if !slices.Equal(ids, want) {
			t.Errorf("gstat -s %s: jobs %v; want %v", letters, ids, want)
		}
	}
}
