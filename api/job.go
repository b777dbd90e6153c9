// Package api holds the wire and domain types shared by the GoDocker client,
// server, stores, executors and event stream. It imports nothing of ours.
package api

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"
)

// State is where a job is in its life. See DESIGN.md for the table.
type State string

// Job states.
const (
	Pending   State = "pending"   // waiting to be scheduled; has a reason
	Held      State = "held"      // held by its owner or an admin
	Running   State = "running"   // container running
	Suspended State = "suspended" // container frozen
	Done      State = "done"      // exited 0
	Failed    State = "failed"    // exited non-zero or could not start
	Killed    State = "killed"    // deleted while running, or a limit was exceeded
	Cancelled State = "cancelled" // deleted before it ran
	Rejected  State = "rejected"  // refused at admission
	Archived  State = "archived"  // finished and its directory removed
)

// States lists every state, in the order of the table in DESIGN.md.
var States = []State{Pending, Held, Running, Suspended, Done, Failed, Killed, Cancelled, Rejected, Archived}

// Finished reports whether s is a terminal state.
func (s State) Finished() bool {
	switch s {
	case Done, Failed, Killed, Cancelled, Rejected, Archived:
		return true
	}
	return false
}

// Active reports whether a container may exist for a job in state s.
func (s State) Active() bool { return s == Running || s == Suspended }

// Valid reports whether s is one of the known states.
func (s State) Valid() bool {
	for _, v := range States {
		if s == v {
			return true
		}
	}
	return false
}

// Reason says why a job is in its state: a machine-readable code and a
// sentence a person can read.
type Reason struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// Reason codes.
const (
	ReasonWaitingForScheduling     = "WaitingForScheduling"     // submitted or released, not yet seen by the scheduler
	ReasonResources                = "Resources"                // does not fit the free capacity now
	ReasonPriority                 = "Priority"                 // jobs ahead of it take the capacity
	ReasonTooLarge                 = "TooLarge"                 // can never fit on any node
	ReasonHeld                     = "JobHeldUser"              // user hold
	ReasonExit                     = "Exit"                     // the container exited
	ReasonStartFailed              = "StartFailed"              // the executor could not start it
	ReasonDeleted                  = "Deleted"                  // deleted by its owner or an admin
	ReasonLost                     = "Lost"                     // the container disappeared
	ReasonOOM                      = "OutOfMemory"              // killed by the memory limit
	ReasonInvalid                  = "Invalid"                  // bad specification
	ReasonWalltime                 = "Walltime"                 // ran past its -l h_rt
	ReasonProjectLimit             = "ProjectLimit"             // its project uses all it may at once
	ReasonReserved                 = "Reserved"                 // resources are kept for a job ahead of it
	ReasonQuota                    = "Quota"                    // its user's or project's budget is spent
	ReasonDependency               = "Dependency"               // waits for other jobs to end
	ReasonDependencyNeverSatisfied = "DependencyNeverSatisfied" // a job it depends on ended the wrong way
	ReasonHeldAdmin                = "JobHeldAdmin"             // held by an admin
	ReasonRequeued                 = "Requeued"                 // put back in the queue (gctl requeue)
	ReasonLifespan                 = "Lifespan"                 // ran past the site's limits.max_lifespan
	ReasonTaskLimit                = "TaskLimit"                // an array runs as many tasks as its -tc allows
	ReasonTasksFailed              = "TasksFailed"              // some tasks of an array did not succeed
	ReasonNoExecutor               = "NoExecutor"               // its executor is not configured on the server
	ReasonMaintenance              = "Maintenance"              // no job starts while maintenance mode is on
)

// Spec is what the user asked for, as gsub sends it and the server
// validates it. Sizes are bytes, durations seconds.
type Spec struct {
	Name       string            `json:"name,omitempty"`
	Image      string            `json:"image,omitempty"`
	Script     string            `json:"script,omitempty"`      // script text (not with Command)
	ScriptName string            `json:"script_name,omitempty"` // the file it came from, or STDIN
	Command    []string          `json:"command,omitempty"`     // -b y: run as is
	Args       []string          `json:"args,omitempty"`        // arguments to the script
	Shell      string            `json:"shell,omitempty"`       // -S: interpreter
	Cwd        string            `json:"cwd,omitempty"`         // -cwd/-wd: absolute; empty = job directory
	Stdout     string            `json:"stdout,omitempty"`      // -o as given
	Stderr     string            `json:"stderr,omitempty"`      // -e as given
	Join       bool              `json:"join,omitempty"`        // -j y
	Env        map[string]string `json:"env,omitempty"`         // -v / -V
	CPUs       int               `json:"cpus,omitempty"`        // -pe smp N, -l cpu=N; 0 = 1
	GPUs       int               `json:"gpus,omitempty"`        // -l gpu=N
	Memory     int64             `json:"memory,omitempty"`      // -l h_vmem/mem, whole job; 0 = default
	Walltime   int64             `json:"walltime,omitempty"`    // -l h_rt; 0 = none
	Volumes    []string          `json:"volumes,omitempty"`     // --volume NAME[:ro]
	Project    string            `json:"project,omitempty"`     // -P
	Executor   string            `json:"executor,omitempty"`    // -q, --executor; "": the first that takes the project
	Priority   int               `json:"priority,omitempty"`    // -p, -1023..1024
	Hold       bool              `json:"hold,omitempty"`        // -h
	// Interactive: no script; the container waits (a long-lived init as
	// the user) for its owner to enter it through the SSH gateway
	// (gsub -I). It ends with gdel or at its walltime.
	Interactive bool `json:"interactive,omitempty"`
	// Array makes the job an array of tasks (-t, -tc).
	Array *Array `json:"array,omitempty"`
	// TaskDependencies are arrays this array's tasks wait for task by
	// task (-hold_jid_ad): task N starts after task N of each has ended,
	// however it ended.
	TaskDependencies []int64 `json:"task_dependencies,omitempty"`
	// Dependencies: the job waits until they are met (-hold_jid,
	// --dependency).
	Dependencies []Dependency      `json:"dependencies,omitempty"`
	Root         bool              `json:"root,omitempty"`       // --root: run as root where allowed
	SubmitDir    string            `json:"submit_dir,omitempty"` // gsub's working directory
	SubmitHost   string            `json:"submit_host,omitempty"`
	SubmitEnv    map[string]string `json:"submit_env,omitempty"` // HOME PATH LOGNAME SHELL of the caller, for SGE_O_*
}

// Array is a job array: tasks First, First+Step, ... up to Last (-t
// FIRST-LAST:STEP), at most Limit of them running at once (-tc; 0: no
// limit).
type Array struct {
	First int64 `json:"first"`
	Last  int64 `json:"last"`
	Step  int64 `json:"step"`
	Limit int   `json:"limit,omitempty"`
}

// Count is the number of tasks.
func (a *Array) Count() int64 {
	if a.Step <= 0 || a.Last < a.First {
		return 0
	}
	return (a.Last-a.First)/a.Step + 1
}

// String is the tasks in Grid Engine's notation, 1-1000:2 (1-10:1 as
// "1-10:1", as qsub prints it).
func (a *Array) String() string {
	return strconv.FormatInt(a.First, 10) + "-" + strconv.FormatInt(a.Last, 10) + ":" + strconv.FormatInt(a.Step, 10)
}

// Has reports whether task is one of the array's.
func (a *Array) Has(task int64) bool {
	return task >= a.First && task <= a.Last && (task-a.First)%a.Step == 0
}

// Dependency types (Slurm's names; -hold_jid is afterany).
const (
	AfterAny   = "afterany"   // after the jobs end, however they end
	AfterOK    = "afterok"    // after they end with exit code 0 (state done)
	AfterNotOK = "afternotok" // after they end otherwise (failed, killed, cancelled, rejected)
)

// Dependency makes a job wait for other jobs to end.
type Dependency struct {
	Type string  `json:"type"`
	Jobs []int64 `json:"jobs"`
}

// Mount is a bind mount into a job's container.
type Mount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"read_only,omitempty"`
}

// Run is the resolved execution of a job: what every executor starts,
// decided once by the server from the Spec, the owner and the config.
type Run struct {
	Image   string   `json:"image"`
	Argv    []string `json:"argv"`
	WorkDir string   `json:"work_dir"`
	Env     []string `json:"env"`
	Mounts  []Mount  `json:"mounts"`
	UID     int      `json:"uid"`
	GID     int      `json:"gid"`
	Groups  []int    `json:"groups,omitempty"`
	// User is the name of the user UID is, for the passwd entry an
	// executor gives the container so that the uid has a name (whoami,
	// id -un, git, ssh). Empty for a root job: root is in every passwd
	// file, and the executor then adds nothing.
	User string `json:"user,omitempty"`
	// Group is the name of the primary group GID, for the container's
	// group file (empty: the gid gets no entry).
	Group string `json:"group,omitempty"`
	// Home is the user's home directory, for the passwd entry.
	Home string `json:"home,omitempty"`

	CPUs   int   `json:"cpus"`
	Memory int64 `json:"memory"`
	Pids   int64 `json:"pids"`
}

// Priority is a pending job's scheduling priority and how the policy
// computed it, for gstat -j to explain.
type Priority struct {
	// Value orders the queue: higher runs first. Normalised to 0..1 (the
	// prior column of gstat).
	Value float64        `json:"value"`
	Parts []PriorityPart `json:"parts,omitempty"`
}

// PriorityPart is one term of a priority: Weight × Factor.
type PriorityPart struct {
	Name   string  `json:"name"`   // e.g. "waiting_time", "user_time"
	Weight float64 `json:"weight"` // from the configuration
	Factor float64 `json:"factor"` // normalised 0..1 (or -1..0 for usage)
}

// Usage is what a job consumed.
type Usage struct {
	WallSeconds float64 `json:"wall_seconds,omitempty"`
	CPUSeconds  float64 `json:"cpu_seconds,omitempty"`
	Memory      int64   `json:"memory,omitempty"`     // current, bytes
	MaxMemory   int64   `json:"max_memory,omitempty"` // peak, bytes
}

// Job is one computation: its owner, its request, its state and its result.
type Job struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	User    string `json:"user"`
	UID     int    `json:"uid"`
	GID     int    `json:"gid"`
	Group   string `json:"group,omitempty"`
	Groups  []int  `json:"groups,omitempty"`
	Home    string `json:"home,omitempty"`
	Project string `json:"project,omitempty"`

	State    State    `json:"state"`
	Reason   Reason   `json:"reason,omitzero"`
	Priority Priority `json:"priority,omitzero"`
	// Deleting is set when a running job's container is being killed (it
	// was deleted, or ran over a limit; Reason says which): the watcher
	// finishes it as killed when its container exits.
	Deleting bool `json:"deleting,omitempty"`

	Spec   Spec   `json:"spec"`
	Run    *Run   `json:"run,omitempty"`
	Dir    string `json:"dir,omitempty"`
	Stdout string `json:"stdout,omitempty"`
	Stderr string `json:"stderr,omitempty"`

	Submitted time.Time `json:"submitted"`
	Started   time.Time `json:"started,omitzero"`
	Ended     time.Time `json:"ended,omitzero"`

	// Suspended is when the job was last suspended (gctl suspend), while
	// it is; SuspendedSeconds the time it spent suspended in this
	// attempt, which neither walltime nor quotas count.
	SuspendedAt      time.Time `json:"suspended_at,omitzero"`
	SuspendedSeconds float64   `json:"suspended_seconds,omitempty"`
	// Requeue is set when a running job is being killed to go back to the
	// queue (gctl requeue): when its container exits it becomes pending
	// again, as attempt Attempt+1.
	Requeue bool `json:"requeue,omitempty"`
	// ArrayID and TaskID are set on a task of an array: the array's job
	// id and the task's number. Users address it as ArrayID.TaskID; its
	// own ID is the store's.
	ArrayID int64 `json:"array_id,omitempty"`
	TaskID  int64 `json:"task_id,omitempty"`
	// Tasks is the state of an array's tasks, on the array's own record.
	Tasks *Tasks `json:"tasks,omitempty"`
	// Attempts records each earlier attempt of a requeued job.
	Attempts []Attempt `json:"attempts,omitempty"`

	Attempt   int    `json:"attempt"`
	Executor  string `json:"executor,omitempty"`
	Node      string `json:"node,omitempty"`
	Container string `json:"container,omitempty"`
	ExitCode  *int   `json:"exit_code,omitempty"`
	Usage     Usage  `json:"usage,omitzero"`
}

// Tasks is where an array is: tasks are created one by one, in order, as
// they are scheduled; the array is finished when every one is.
type Tasks struct {
	// Next is the next task to create (past Last: all were).
	Next int64 `json:"next"`
	// Running counts the tasks created and not finished.
	Running int64 `json:"running,omitempty"`
	// Done, Failed: tasks finished, with exit code 0 or otherwise
	// (failed, killed, cancelled).
	Done   int64 `json:"done,omitempty"`
	Failed int64 `json:"failed,omitempty"`
	// Deleted are the tasks deleted before they were created (gdel
	// ID.TASK), in increasing order; they count as failed and are never
	// created.
	Deleted []int64 `json:"deleted,omitempty"`
}

// Remaining returns the tasks of array a not created yet, given t, as
// runs of a's step (Grid Engine shows them so: 5-9:2,13-99:2).
func (a *Array) Remaining(t *Tasks) []Array {
	next := a.First
	var deleted []int64
	if t != nil {
		next, deleted = max(t.Next, a.First), t.Deleted
	}
	var runs []Array
	if a.Step < 1 {
		return nil
	}
	for _, d := range deleted {
		if d < next || d > a.Last || !a.Has(d) {
			continue
		}
		if d > next {
			runs = append(runs, Array{First: next, Last: d - a.Step, Step: a.Step})
		}
		next = d + a.Step
	}
	if next <= a.Last {
		runs = append(runs, Array{First: next, Last: next + (a.Last-next)/a.Step*a.Step, Step: a.Step})
	}
	return runs
}

// Ref is how users name a job: its id, or ID.TASK for a task of an
// array.
func (j *Job) Ref() string {
	if j.ArrayID != 0 {
		return strconv.FormatInt(j.ArrayID, 10) + "." + strconv.FormatInt(j.TaskID, 10)
	}
	return strconv.FormatInt(j.ID, 10)
}

// Attempt is how one earlier run of a requeued job went.
type Attempt struct {
	Attempt  int       `json:"attempt"`
	State    State     `json:"state"`
	Reason   Reason    `json:"reason,omitzero"`
	Node     string    `json:"node,omitempty"`
	Started  time.Time `json:"started,omitzero"`
	Ended    time.Time `json:"ended,omitzero"`
	ExitCode *int      `json:"exit_code,omitempty"`
	Usage    Usage     `json:"usage,omitzero"`
	Stdout   string    `json:"stdout,omitempty"` // where its output was kept
	Stderr   string    `json:"stderr,omitempty"`
	// Held is what the attempt held while it ran (cpus, memory, gpus), as
	// quotas and fair share count it: the job may be altered before its
	// next attempt. Zero if it never ran, or was recorded before Held was.
	Held Limit `json:"held,omitzero"`
	// SuspendedSeconds is how long the attempt was suspended, which
	// counts for nothing.
	SuspendedSeconds float64 `json:"suspended_seconds,omitempty"`
}

// CPUs is the number of cpus the job holds while it runs (at least 1).
func (j *Job) CPUs() int {
	if j.Spec.CPUs < 1 {
		return 1
	}
	return j.Spec.CPUs
}

// Brief returns what a listing of jobs shows of j (gstat's table and its
// -r lines): j without what it runs (script, command, arguments,
// environments), its resolved execution (Run), its paths and groups and
// its earlier attempts. Nothing in it is private to the job's owner, so
// anybody may read it. It shares j's slices and maps: treat it as
// read-only.
func (j *Job) Brief() *Job {
	b := *j
	b.Spec.Script, b.Spec.Command, b.Spec.Args = "", nil, nil
	b.Spec.Env, b.Spec.SubmitEnv = nil, nil
	b.Run, b.Attempts, b.Groups = nil, nil, nil
	b.Home, b.Dir, b.Stdout, b.Stderr = "", "", "", ""
	return &b
}

// Clone returns a deep copy of j.
func (j *Job) Clone() *Job {
	c := *j
	c.Groups = append([]int(nil), j.Groups...)
	c.Spec.Command = append([]string(nil), j.Spec.Command...)
	c.Spec.Args = append([]string(nil), j.Spec.Args...)
	c.Spec.Volumes = append([]string(nil), j.Spec.Volumes...)
	c.Spec.Env = maps.Clone(j.Spec.Env)
	c.Spec.SubmitEnv = maps.Clone(j.Spec.SubmitEnv)
	c.Priority.Parts = append([]PriorityPart(nil), j.Priority.Parts...)
	if j.Spec.Dependencies != nil {
		c.Spec.Dependencies = make([]Dependency, len(j.Spec.Dependencies))
		for i, d := range j.Spec.Dependencies {
			c.Spec.Dependencies[i] = Dependency{Type: d.Type, Jobs: append([]int64(nil), d.Jobs...)}
		}
	}
	c.Spec.TaskDependencies = append([]int64(nil), j.Spec.TaskDependencies...)
	if j.Spec.Array != nil {
		a := *j.Spec.Array
		c.Spec.Array = &a
	}
	if j.Tasks != nil {
		t := *j.Tasks
		t.Deleted = append([]int64(nil), j.Tasks.Deleted...)
		c.Tasks = &t
	}
	if j.Attempts != nil {
		c.Attempts = make([]Attempt, len(j.Attempts))
		for i, a := range j.Attempts {
			c.Attempts[i] = a
			if a.ExitCode != nil {
				e := *a.ExitCode
				c.Attempts[i].ExitCode = &e
			}
		}
	}
	if j.Run != nil {
		r := *j.Run
		r.Argv = append([]string(nil), r.Argv...)
		r.Env = append([]string(nil), r.Env...)
		r.Mounts = append([]Mount(nil), r.Mounts...)
		r.Groups = append([]int(nil), r.Groups...)
		c.Run = &r
	}
	if j.ExitCode != nil {
		e := *j.ExitCode
		c.ExitCode = &e
	}
	return &c
}

// JobRef names a job as users do: ID, or ID.TASK for a task of an array
// (Task 0: the job itself, or the whole array).
type JobRef struct {
	ID   int64
	Task int64
}

func (r JobRef) String() string {
	if r.Task != 0 {
		return strconv.FormatInt(r.ID, 10) + "." + strconv.FormatInt(r.Task, 10)
	}
	return strconv.FormatInt(r.ID, 10)
}

// ParseJobRef parses "12" or "12.5"; both numbers must be positive.
func ParseJobRef(s string) (JobRef, error) {
	idPart, taskPart, dotted := strings.Cut(s, ".")
	id, err := strconv.ParseInt(idPart, 10, 64)
	if err != nil || id <= 0 {
		return JobRef{}, Invalid(fmt.Sprintf("job id %q is not a positive number (or ID.TASK)", s))
	}
	r := JobRef{ID: id}
	if dotted {
		if r.Task, err = strconv.ParseInt(taskPart, 10, 64); err != nil || r.Task <= 0 {
			return JobRef{}, Invalid(fmt.Sprintf("task in %q is not a positive number", s))
		}
	}
	return r, nil
}
