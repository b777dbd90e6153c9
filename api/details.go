package api

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Field is one line of gstat -j: its key and its value.
type Field struct{ Key, Value string }

// Details is everything gstat -j says about the job, in Grid Engine's
// order and with its keys (GoDocker's own after job_state), only those
// set: what gstat -j prints and gtop's details view shows. gateway is the
// SSH gateway's HOST:PORT, for how to enter an interactive job; now counts
// the time a suspended job has been suspended; times are shown in loc.
func (j *Job) Details(gateway string, now time.Time, loc *time.Location) []Field {
	var fs []Field
	kv := func(k, v string) {
		if v != "" {
			fs = append(fs, Field{k, v})
		}
	}
	ctime := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(loc).Format("Mon Jan _2 15:04:05 2006")
	}
	id, task := strconv.FormatInt(j.ID, 10), int64(1)
	if j.ArrayID != 0 {
		id, task = strconv.FormatInt(j.ArrayID, 10), j.TaskID
	}
	array := j.Spec.Array != nil && j.ArrayID == 0
	kv("job_number", id)
	if j.ArrayID != 0 {
		kv("ja_task_id", strconv.FormatInt(j.TaskID, 10))
	}
	if j.Spec.Script != "" || len(j.Spec.Command) == 0 && !j.Spec.Interactive {
		kv("exec_file", "job_scripts/"+id)
	}
	kv("submission_time", ctime(j.Submitted))
	kv("owner", j.User)
	kv("uid", strconv.Itoa(j.UID))
	kv("group", j.Group)
	kv("gid", strconv.Itoa(j.GID))
	kv("sge_o_home", j.Spec.SubmitEnv["HOME"])
	kv("sge_o_log_name", j.Spec.SubmitEnv["LOGNAME"])
	kv("sge_o_path", j.Spec.SubmitEnv["PATH"])
	kv("sge_o_shell", j.Spec.SubmitEnv["SHELL"])
	kv("sge_o_workdir", j.Spec.SubmitDir)
	kv("sge_o_host", j.Spec.SubmitHost)
	kv("account", "sge")
	kv("cwd", j.Spec.Cwd)
	if j.Spec.Join {
		kv("merge", "y")
	} else {
		kv("merge", "n")
	}
	kv("hard resource_list", j.ResourceList())
	kv("job_name", j.Name)
	if j.Stdout != "" {
		kv("stdout_path_list", "NONE:NONE:"+j.Stdout)
	}
	if j.Stderr != "" && !j.Spec.Join {
		kv("stderr_path_list", "NONE:NONE:"+j.Stderr)
	}
	kv("env_list", envList(j.Spec.Env))
	if len(j.Spec.Command) > 0 {
		kv("job_args", strings.Join(j.Spec.Command, ","))
	} else {
		kv("job_args", strings.Join(j.Spec.Args, ","))
		kv("script_file", j.Spec.ScriptName)
	}
	afterAny, others := Predecessors(j.Spec.Dependencies)
	kv("jid_predecessor_list (req)", JoinIDs(afterAny, ","))
	kv("ja_ad_predecessor_list (req)", JoinIDs(j.Spec.TaskDependencies, ","))
	kv("dependency", FormatDependencies(others))
	kv("project", j.Project)
	if array {
		kv("job-array tasks", j.Spec.Array.String())
		if j.Spec.Array.Limit > 0 {
			kv("task_concurrency", strconv.Itoa(j.Spec.Array.Limit))
		}
	}
	kv("job_state", string(j.State))
	if array {
		var t Tasks
		if j.Tasks != nil {
			t = *j.Tasks
		}
		kv("task_states", fmt.Sprintf("running %d, done %d, failed %d, not started %d", t.Running, t.Done, t.Failed, j.TasksNotStarted()))
	}
	if j.Spec.Interactive {
		enter := ServerInfo{SSHGateway: gateway}.SSHCommand(j.Ref())
		switch {
		case j.State.Finished():
		case gateway == "":
			kv("interactive", "yes (the server has no SSH gateway to enter it)")
		case j.State == Running:
			kv("interactive", "yes: enter it with "+enter)
		default:
			kv("interactive", "yes: once it runs, enter it with "+enter)
		}
	}
	kv("image", j.Spec.Image)
	kv("job_dir", j.Dir)
	kv("executor", j.Executor)
	kv("node", j.Node)
	kv("attempt", strconv.Itoa(j.Attempt))
	for _, a := range j.Attempts {
		kv("attempt "+strconv.Itoa(a.Attempt), a.Summary())
	}
	if j.State == Pending || j.State == Held {
		kv("priority", j.Priority.Explain())
	}
	kv("start_time", ctime(j.Started))
	kv("end_time", ctime(j.Ended))
	if j.State == Suspended {
		kv("suspended_since", ctime(j.SuspendedAt))
	}
	suspended := j.SuspendedSeconds
	if j.State == Suspended && !j.SuspendedAt.IsZero() {
		suspended += max(now.Sub(j.SuspendedAt).Seconds(), 0)
	}
	if suspended >= 1 {
		kv("suspended_time", FormatWalltime(int64(suspended)))
	}
	if j.ExitCode != nil {
		kv("exit_status", strconv.Itoa(*j.ExitCode))
	}
	if u := j.Usage.Summary(); u != "" {
		kv(fmt.Sprintf("usage %4d", task), u)
	}
	switch {
	case j.State == Pending || j.State == Held:
		kv("scheduling info", j.Reason.Message)
	case j.State == Failed || j.State == Killed || j.State == Rejected || j.State == Cancelled:
		kv(fmt.Sprintf("error reason %4d", task), j.Reason.Message)
	case j.Deleting:
		kv("deletion", j.Reason.Message)
	default:
		return fs
	}
	// The reason's code, which scripts can test (gstat(1), REASONS).
	kv("reason_code", j.Reason.Code)
	return fs
}

// envList is the job's -v variables, sorted: K=V,K=V.
func envList(env map[string]string) string {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + env[k]
	}
	return strings.Join(keys, ",")
}

// Summary is gstat's usage line, "wallclock=0:59:59, cpu=1:56:40, mem=0,
// maxvmem=3G"; "" when nothing was used.
func (u Usage) Summary() string {
	if u.WallSeconds == 0 && u.CPUSeconds == 0 && u.MaxMemory == 0 {
		return ""
	}
	return fmt.Sprintf("wallclock=%s, cpu=%s, mem=%s, maxvmem=%s",
		FormatWalltime(int64(u.WallSeconds)), FormatWalltime(int64(u.CPUSeconds)),
		FormatMemory(u.Memory), FormatMemory(u.MaxMemory))
}

// FormatDependencies writes dependencies in --dependency's syntax:
// afterok:41:42,afternotok:7.
func FormatDependencies(deps []Dependency) string {
	parts := make([]string, len(deps))
	for i, d := range deps {
		parts[i] = d.Type + ":" + JoinIDs(d.Jobs, ":")
	}
	return strings.Join(parts, ",")
}

// JoinIDs is ids joined by sep: 41,42.
func JoinIDs(ids []int64, sep string) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, sep)
}
