package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
)

var timeType = reflect.TypeFor[time.Time]()

// checkJob reports every field in which got differs from want. Times are
// compared with time.Time.Equal (a store may hand back another location
// for the same instant); a nil and an empty slice or map are the same (no
// caller can tell them apart through the api types); a nil and a non-nil
// pointer are not (ExitCode nil means "has not exited", 0 means success).
func checkJob(t *testing.T, what string, got, want *api.Job) {
	t.Helper()
	if got == nil || want == nil {
		if got != want {
			t.Errorf("%s: got job %v, want %v", what, got, want)
		}
		return
	}
	if d := diff("Job", reflect.ValueOf(*got), reflect.ValueOf(*want)); len(d) > 0 {
		t.Errorf("%s: job %d differs from what was stored:\n\t%s", what, want.ID, strings.Join(d, "\n\t"))
	}
}

// checkProject reports every field in which got differs from want, as
// checkJob does.
func checkProject(t *testing.T, what string, got, want *api.Project) {
	t.Helper()
	if got == nil || want == nil {
		if got != want {
			t.Errorf("%s: got project %v, want %v", what, got, want)
		}
		return
	}
	if d := diff("Project", reflect.ValueOf(*got), reflect.ValueOf(*want)); len(d) > 0 {
		t.Errorf("%s: project %s differs from what was stored:\n\t%s", what, want.Name, strings.Join(d, "\n\t"))
	}
}

// checkAccount reports every field in which got differs from want, as
// checkJob does.
func checkAccount(t *testing.T, what string, got, want *api.Account) {
	t.Helper()
	if got == nil || want == nil {
		if got != want {
			t.Errorf("%s: got account %v, want %v", what, got, want)
		}
		return
	}
	if d := diff("Account", reflect.ValueOf(*got), reflect.ValueOf(*want)); len(d) > 0 {
		t.Errorf("%s: account of %s differs from what was stored:\n\t%s", what, want.User, strings.Join(d, "\n\t"))
	}
}

func diff(path string, got, want reflect.Value) []string {
	if want.Type() == timeType {
		g, w := got.Interface().(time.Time), want.Interface().(time.Time)
		if !g.Equal(w) {
			return []string{fmt.Sprintf("%s: got %s, want %s", path, g.Format(time.RFC3339Nano), w.Format(time.RFC3339Nano))}
		}
		return nil
	}
	switch want.Kind() {
	case reflect.Pointer:
		switch {
		case got.IsNil() && want.IsNil():
			return nil
		case got.IsNil() || want.IsNil():
			return []string{fmt.Sprintf("%s: got %s, want %s", path, show(got), show(want))}
		}
		return diff(path, got.Elem(), want.Elem())
	case reflect.Struct:
		var out []string
		for i := range want.NumField() {
			f := want.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			out = append(out, diff(path+"."+f.Name, got.Field(i), want.Field(i))...)
		}
		return out
	case reflect.Slice:
		if got.Len() != want.Len() {
			return []string{fmt.Sprintf("%s: got %d elements %s, want %d %s", path, got.Len(), show(got), want.Len(), show(want))}
		}
		var out []string
		for i := range want.Len() {
			out = append(out, diff(fmt.Sprintf("%s[%d]", path, i), got.Index(i), want.Index(i))...)
		}
		return out
	case reflect.Map:
		var out []string
		for _, k := range sortedKeys(want) {
			p := fmt.Sprintf("%s[%q]", path, k.String())
			g := got.MapIndex(k)
			if !g.IsValid() {
				out = append(out, fmt.Sprintf("%s: missing, want %s", p, show(want.MapIndex(k))))
				continue
			}
			out = append(out, diff(p, g, want.MapIndex(k))...)
		}
		for _, k := range sortedKeys(got) {
			if !want.MapIndex(k).IsValid() {
				out = append(out, fmt.Sprintf("%s[%q]: got %s, want no such key", path, k.String(), show(got.MapIndex(k))))
			}
		}
		return out
	default:
		if !got.Equal(want) {
			return []string{fmt.Sprintf("%s: got %s, want %s", path, show(got), show(want))}
		}
		return nil
	}
}

func sortedKeys(m reflect.Value) []reflect.Value {
	keys := m.MapKeys()
	slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
	return keys
}

func show(v reflect.Value) string {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "nil"
		}
		return "&" + show(v.Elem())
	}
	return fmt.Sprintf("%#v", v.Interface())
}

// unsetFields lists the fields of v (recursively) that hold their zero
// value: the round-trip fixtures must set them all, so that a field added
// to api.Job (or api.Project, api.Account) later is covered as soon as someone fills it in here, and a
// backend that maps fields one by one cannot miss one unnoticed.
func unsetFields(path string, v reflect.Value) []string {
	if v.Type() == timeType {
		if v.IsZero() {
			return []string{path}
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return []string{path}
		}
		return unsetFields(path, v.Elem())
	case reflect.Struct:
		var out []string
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				out = append(out, unsetFields(path+"."+f.Name, v.Field(i))...)
			}
		}
		return out
	case reflect.Slice:
		if v.Len() == 0 {
			return []string{path}
		}
		return unsetFields(path+"[0]", v.Index(0))
	case reflect.Map:
		if v.Len() == 0 {
			return []string{path}
		}
		return nil
	default:
		if v.IsZero() {
			return []string{path}
		}
		return nil
	}
}

// fullJob is a job with every field set, strings that need quoting in any
// query language, maps with an empty value, times in a zone other than
// UTC and the local one with nanoseconds, and a second mount that is not
// read-only.
func fullJob(id int64) *api.Job {
	zone := time.FixedZone("IST", 5*3600+1800)
	submitted := time.Date(2025, 3, 14, 15, 9, 26, 535897932, zone)
	exit, firstExit := 137, 3
	return &api.Job{
		ID:       id,
		Name:     "align ñ-\"quoted\"",
		User:     "alice",
		UID:      1001,
		GID:      2001,
		Group:    "bio",
		Groups:   []int{2001, 27, 100},
		Home:     "/home/alice",
		Project:  "genomics",
		State:    api.Killed,
		Reason:   api.Reason{Code: api.ReasonOOM, Message: "killed by the memory limit of 4 GiB"},
		Priority: api.Priority{Value: 0.625, Parts: []api.PriorityPart{{Name: "waiting_time", Weight: 0.1, Factor: 0.25}, {Name: "user_time", Weight: 0.3, Factor: -0.5}}},
		Deleting: true,
		Spec: api.Spec{
			Name:             "align",
			Image:            "godocker/base:latest",
			Script:           "#!/bin/bash\n#$ -N align\necho \"it's $HOME\"\t'; DROP TABLE jobs; --\n\x00\u00e9\u4e2d\n",
			ScriptName:       "align.sh",
			Command:          []string{"/bin/echo", "a b", ""},
			Args:             []string{"--in", "x y.fa"},
			Shell:            "/bin/bash",
			Cwd:              "/home/alice/work",
			Stdout:           "out.$JOB_ID",
			Stderr:           "err.$JOB_ID",
			Join:             true,
			Env:              map[string]string{"A": "1", "EMPTY": "", "$weird.key": "v=w"},
			CPUs:             4,
			GPUs:             1,
			Memory:           4 << 30,
			Walltime:         7200,
			Volumes:          []string{"data:ro", "scratch"},
			Project:          "genomics",
			Executor:         "swarm",
			Priority:         -100,
			Hold:             true,
			Interactive:      true,
			Array:            &api.Array{First: 3, Last: 1001, Step: 2, Limit: 25},
			TaskDependencies: []int64{17, 19},
			Dependencies:     []api.Dependency{{Type: api.AfterOK, Jobs: []int64{41, 42}}, {Type: api.AfterAny, Jobs: []int64{7}}},
			Root:             true,
			SubmitDir:        "/home/alice/work",
			SubmitHost:       "login1",
			SubmitEnv:        map[string]string{"HOME": "/home/alice", "PATH": "/usr/bin:/bin"},
		},
		Run: &api.Run{
			Image:   "godocker/base:latest",
			Argv:    []string{"/bin/bash", "/var/lib/godocker/jobs/alice/job.sh"},
			WorkDir: "/home/alice/work",
			Env:     []string{"GODOCKER_JID=1", "JOB_NAME=align"},
			Mounts: []api.Mount{
				{Source: "/home/alice", Target: "/home/alice", ReadOnly: true},
				{Source: "/data", Target: "/mnt/data"},
			},
			UID:    1001,
			GID:    2001,
			Groups: []int{27, 100},
			User:   "alice",
			Group:  "bio",
			Home:   "/home/alice",
			CPUs:   4,
			Memory: 4 << 30,
			Pids:   4096,
		},
		Dir:              "/var/lib/godocker/jobs/alice/1",
		Stdout:           "/home/alice/work/out.1",
		Stderr:           "/home/alice/work/err.1",
		Submitted:        submitted,
		Started:          submitted.Add(90*time.Second + 1),
		Ended:            submitted.Add(2*time.Hour + 123456789),
		SuspendedAt:      submitted.Add(time.Hour + 7),
		SuspendedSeconds: 61.5,
		Requeue:          true,
		ArrayID:          id + 1000,
		TaskID:           17,
		Tasks:            &api.Tasks{Next: 41, Running: 5, Done: 12, Failed: 2, Deleted: []int64{7, 9}},
		Attempts: []api.Attempt{{Attempt: 1, State: api.Failed, Reason: api.Reason{Code: api.ReasonExit, Message: "exited with code 3"},
			Node: "node-1", Started: submitted.Add(time.Second), Ended: submitted.Add(time.Minute), ExitCode: &firstExit,
			Usage: api.Usage{WallSeconds: 59, CPUSeconds: 12.5, Memory: 1 << 19, MaxMemory: 1 << 20}, Stdout: "/x/stdout.1", Stderr: "/x/stderr.1",
			Held: api.Limit{CPUs: 3, Memory: 5 << 30, GPUs: 1, Jobs: 1}, SuspendedSeconds: 7.25}},
		Attempt:   2,
		Executor:  "docker",
		Node:      "node-3",
		Container: "3f2a9c0d51e7",
		ExitCode:  &exit,
		Usage:     api.Usage{WallSeconds: 7199.25, CPUSeconds: 28000.5, Memory: 1 << 30, MaxMemory: 4 << 30},
	}
}

// minimalJob is a pending job with only what a submission always has.
func minimalJob(id int64, user string, state api.State) *api.Job {
	return &api.Job{
		ID:        id,
		Name:      fmt.Sprintf("job%d", id),
		User:      user,
		State:     state,
		Submitted: time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC).Add(time.Duration(id) * time.Second),
	}
}

// scribble changes every value reachable from j, through every pointer,
// slice and map it holds, to show that a store keeps no reference to a
// job it was given or handed out.
func scribble(j *api.Job) {
	j.Name = "scribbled"
	j.State = api.Archived
	j.Reason.Message = "scribbled"
	for i := range j.Groups {
		j.Groups[i] = -1
	}
	for i := range j.Spec.Command {
		j.Spec.Command[i] = "scribbled"
	}
	for i := range j.Spec.Args {
		j.Spec.Args[i] = "scribbled"
	}
	for i := range j.Spec.Volumes {
		j.Spec.Volumes[i] = "scribbled"
	}
	for k := range j.Spec.Env {
		j.Spec.Env[k] = "scribbled"
	}
	if j.Spec.Env != nil {
		j.Spec.Env["SCRIBBLED"] = "1"
	}
	for k := range j.Spec.SubmitEnv {
		j.Spec.SubmitEnv[k] = "scribbled"
	}
	if r := j.Run; r != nil {
		for i := range r.Argv {
			r.Argv[i] = "scribbled"
		}
		for i := range r.Env {
			r.Env[i] = "scribbled"
		}
		for i := range r.Mounts {
			r.Mounts[i].Source = "/scribbled"
			r.Mounts[i].ReadOnly = !r.Mounts[i].ReadOnly
		}
		for i := range r.Groups {
			r.Groups[i] = -1
		}
		r.Image = "scribbled"
	}
	if j.ExitCode != nil {
		*j.ExitCode = -1
	}
	if a := j.Spec.Array; a != nil {
		a.First, a.Last, a.Step, a.Limit = -1, -1, -1, -1
	}
	if ts := j.Tasks; ts != nil {
		ts.Next, ts.Running, ts.Done, ts.Failed = -1, -1, -1, -1
		for i := range ts.Deleted {
			ts.Deleted[i] = -1
		}
	}
	j.ArrayID, j.TaskID = -1, -1
	for i := range j.Spec.TaskDependencies {
		j.Spec.TaskDependencies[i] = -1
	}
	for i := range j.Spec.Dependencies {
		j.Spec.Dependencies[i].Type = "scribbled"
		for k := range j.Spec.Dependencies[i].Jobs {
			j.Spec.Dependencies[i].Jobs[k] = -1
		}
	}
	for i := range j.Attempts {
		j.Attempts[i].Node = "scribbled"
		if j.Attempts[i].ExitCode != nil {
			*j.Attempts[i].ExitCode = -1
		}
	}
	j.Submitted = j.Submitted.Add(time.Hour)
	j.Usage.CPUSeconds = -1
}

// fullProject is a project with every field set, strings that need
// quoting in any query language, and fractional quotas.
func fullProject(name string) *api.Project {
	return &api.Project{
		Name:     name,
		Owner:    "Dr. O'Brien \"PI\" ñ; DROP TABLE projects; --",
		Members:  []string{"alice", "@bio-lab", "bob", "carol.d"},
		Priority: 73,
		Volumes:  []string{"refdata:ro", "scratch"},
		Limit:    api.Limit{CPUs: 64, Memory: 256 << 30, GPUs: 4, Jobs: 100},
		Quota:    api.Quota{CPUSeconds: 3.6e6, MemorySeconds: 1.25e15 + 0.5, GPUSeconds: 0.1},
	}
}

// fullAccount is an account with every field set.
func fullAccount(user string) *api.Account {
	return &api.Account{
		User:     user,
		Priority: 85,
		Quota:    api.Quota{CPUSeconds: 86400.5, MemorySeconds: 3.5e14, GPUSeconds: 7200.125},
	}
}

// scribbleProject changes every value reachable from p, as scribble does
// for jobs.
func scribbleProject(p *api.Project) {
	p.Name = "scribbled"
	p.Owner = "scribbled"
	for i := range p.Members {
		p.Members[i] = "scribbled"
	}
	for i := range p.Volumes {
		p.Volumes[i] = "scribbled"
	}
	p.Priority = -1
	p.Limit.CPUs = -1
	p.Quota.CPUSeconds = -1
}

// scribbleAccount changes every field of a.
func scribbleAccount(a *api.Account) {
	a.User = "scribbled"
	a.Priority = -1
	a.Quota.GPUSeconds = -1
}

// FullJob is a job with every field of api.Job set (see fullJob), for a
// backend's own tests of its mapping; TestFixtures-style checks with
// Unset keep it complete as api.Job grows.
func FullJob(id int64) *api.Job { return fullJob(id) }

// FullProject is a project with every field set.
func FullProject(name string) *api.Project { return fullProject(name) }

// FullAccount is an account with every field set.
func FullAccount(user string) *api.Account { return fullAccount(user) }

// Differences lists the fields in which got differs from want (two
// values of one type), as the suite compares them: times by instant, nil
// and empty slices and maps alike.
func Differences(got, want any) []string {
	return diff(reflect.TypeOf(want).Name(), reflect.ValueOf(got), reflect.ValueOf(want))
}

// Unset lists the fields of v left at their zero value.
func Unset(v any) []string { return unsetFields(reflect.TypeOf(v).Name(), reflect.ValueOf(v)) }
