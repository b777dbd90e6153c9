package api

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// How gstat -j and gtop describe a job, in the words of Grid Engine's
// qstat -j where there are some.

// Explain says what a priority is made of: its value and each weighted
// part, "0.61875 (waiting_time 0.1×0.80000 + ...)"; "" when the policy
// gave no parts.
func (p Priority) Explain() string {
	if len(p.Parts) == 0 {
		return ""
	}
	parts := make([]string, len(p.Parts))
	for i, pt := range p.Parts {
		parts[i] = fmt.Sprintf("%s %g×%.5f", pt.Name, pt.Weight, pt.Factor)
	}
	return fmt.Sprintf("%.5f (%s)", p.Value, strings.Join(parts, " + "))
}

// ResourceList is the job's request as qstat -j's hard resource_list:
// h_rt=3600,mem=1G,cpu=2,gpu=1.
func (j *Job) ResourceList() string {
	var parts []string
	if j.Spec.Walltime > 0 {
		parts = append(parts, "h_rt="+strconv.FormatInt(j.Spec.Walltime, 10))
	}
	if j.Spec.Memory > 0 {
		parts = append(parts, "mem="+FormatMemory(j.Spec.Memory))
	}
	parts = append(parts, "cpu="+strconv.Itoa(j.CPUs()))
	if j.Spec.GPUs > 0 {
		parts = append(parts, "gpu="+strconv.Itoa(j.Spec.GPUs))
	}
	return strings.Join(parts, ",")
}

// Summary says in a line how an earlier attempt of a requeued job went:
// "failed, exit 3, on node1, wallclock 0:59:59, output kept in
// /jobs/alice/42/stdout.1".
func (a Attempt) Summary() string {
	parts := []string{string(a.State)}
	if a.ExitCode != nil {
		parts = append(parts, "exit "+strconv.Itoa(*a.ExitCode))
	}
	if a.Reason.Message != "" && a.Reason.Code != ReasonExit {
		parts = append(parts, a.Reason.Message)
	}
	if a.Node != "" {
		parts = append(parts, "on "+a.Node)
	}
	if a.Usage.WallSeconds > 0 {
		parts = append(parts, "wallclock "+FormatWalltime(int64(a.Usage.WallSeconds)))
	}
	switch {
	case a.Stdout != "" && a.Stderr != "" && a.Stderr != a.Stdout:
		parts = append(parts, "output kept in "+a.Stdout+" and "+a.Stderr)
	case a.Stdout != "":
		parts = append(parts, "output kept in "+a.Stdout)
	case a.Stderr != "":
		parts = append(parts, "output kept in "+a.Stderr)
	}
	return strings.Join(parts, ", ")
}

// TasksNotStarted counts the tasks of an array not created yet.
func (j *Job) TasksNotStarted() int64 {
	var n int64
	for _, r := range j.Spec.Array.Remaining(j.Tasks) {
		n += r.Count()
	}
	return n
}

// WaitsForJobs reports whether a pending job waits for others to end
// (-hold_jid, --dependency): Grid Engine shows it held (hqw).
func (j *Job) WaitsForJobs() bool {
	return j.State == Pending && (j.Reason.Code == ReasonDependency || j.Reason.Code == ReasonDependencyNeverSatisfied)
}

// Predecessors splits dependencies into Grid Engine's
// jid_predecessor_list, the jobs of every afterany one (all must end, so
// one list says it), and the others.
func Predecessors(deps []Dependency) (afterAny []int64, others []Dependency) {
	for _, d := range deps {
		if d.Type != AfterAny {
			others = append(others, d)
			continue
		}
		for _, id := range d.Jobs {
			if !slices.Contains(afterAny, id) {
				afterAny = append(afterAny, id)
			}
		}
	}
	return afterAny, others
}

// StateLetters is the job's state as qstat prints it: qw, hqw (held, or
// waiting for other jobs), r, s, dr and ds (being deleted), z (ended).
func (j *Job) StateLetters() string {
	switch j.State {
	case Pending:
		if j.WaitsForJobs() {
			return "hqw"
		}
		return "qw"
	case Held:
		return "hqw"
	case Running:
		if j.Deleting {
			return "dr"
		}
		return "r"
	case Suspended:
		if j.Deleting {
			return "ds"
		}
		return "s"
	}
	return "z"
}
