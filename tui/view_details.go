package tui

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/godocker/godocker/api"
)

// detailsState is the details view: one job, as gstat -j shows it.
type detailsState struct {
	job    *api.Job // as last heard of; kept when it finishes
	err    error    // reading it failed
	scroll int
	from   view // where esc goes back to
}

// field is one line of the details: gstat -j's key and its value.
type field struct{ key, value string }

// detailFields is everything gstat -j says about j, in its order and with
// its keys, only those set; gateway is the SSH gateway's address.
func detailFields(j *api.Job, gateway string, now time.Time, loc *time.Location) []field {
	var fs []field
	kv := func(k, v string) {
		if v != "" {
			fs = append(fs, field{k, safe(v)})
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
	array := isArray(j)
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
	afterAny, others := api.Predecessors(j.Spec.Dependencies)
	kv("jid_predecessor_list (req)", joinIDs(afterAny))
	kv("ja_ad_predecessor_list (req)", joinIDs(j.Spec.TaskDependencies))
	kv("dependency", dependencyString(others))
	kv("project", j.Project)
	if array {
		kv("job-array tasks", j.Spec.Array.String())
		if j.Spec.Array.Limit > 0 {
			kv("task_concurrency", strconv.Itoa(j.Spec.Array.Limit))
		}
	}
	kv("job_state", string(j.State))
	if array {
		var t api.Tasks
		if j.Tasks != nil {
			t = *j.Tasks
		}
		kv("task_states", fmt.Sprintf("running %d, done %d, failed %d, not started %d", t.Running, t.Done, t.Failed, j.TasksNotStarted()))
	}
	if j.Spec.Interactive {
		enter := api.ServerInfo{SSHGateway: gateway}.SSHCommand(j.Ref())
		switch {
		case j.State.Finished():
		case gateway == "":
			kv("interactive", "yes (the server has no SSH gateway to enter it)")
		case j.State == api.Running:
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
	if j.State == api.Pending || j.State == api.Held {
		kv("priority", j.Priority.Explain())
	}
	kv("start_time", ctime(j.Started))
	kv("end_time", ctime(j.Ended))
	if j.State == api.Suspended {
		kv("suspended_since", ctime(j.SuspendedAt))
	}
	suspended := j.SuspendedSeconds
	if j.State == api.Suspended && !j.SuspendedAt.IsZero() {
		suspended += max(now.Sub(j.SuspendedAt).Seconds(), 0)
	}
	if suspended >= 1 {
		kv("suspended_time", api.FormatWalltime(int64(suspended)))
	}
	if j.ExitCode != nil {
		kv("exit_status", strconv.Itoa(*j.ExitCode))
	}
	if u := usageLine(j.Usage); u != "" {
		kv(fmt.Sprintf("usage %4d", task), u)
	}
	switch {
	case j.State == api.Pending || j.State == api.Held:
		kv("scheduling info", j.Reason.Message)
	case j.State == api.Failed || j.State == api.Killed || j.State == api.Rejected || j.State == api.Cancelled:
		kv(fmt.Sprintf("error reason %4d", task), j.Reason.Message)
	case j.Deleting:
		kv("deletion", j.Reason.Message)
	}
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

// usageLine is gstat's usage line: wallclock, cpu, mem, maxvmem.
func usageLine(u api.Usage) string {
	if u.WallSeconds == 0 && u.CPUSeconds == 0 && u.MaxMemory == 0 {
		return ""
	}
	return fmt.Sprintf("wallclock=%s, cpu=%s, mem=%s, maxvmem=%s",
		api.FormatWalltime(int64(u.WallSeconds)), api.FormatWalltime(int64(u.CPUSeconds)),
		api.FormatMemory(u.Memory), api.FormatMemory(u.MaxMemory))
}

// dependencyString is dependencies in gsub --dependency's syntax:
// afterok:40,afternotok:38:39.
func dependencyString(deps []api.Dependency) string {
	parts := make([]string, len(deps))
	for i, d := range deps {
		parts[i] = d.Type + ":" + joinIDsWith(d.Jobs, ":")
	}
	return strings.Join(parts, ",")
}

// joinIDs is ids joined by commas: 41,42.
func joinIDs(ids []int64) string { return joinIDsWith(ids, ",") }

// joinIDsWith is ids joined by sep.
func joinIDsWith(ids []int64, sep string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, sep)
}

// detailLines lays the details out for the terminal's width: keys padded
// as gstat -j pads them (less on a narrow terminal), long values wrapped
// under themselves.
func (m *model) detailLines() []string {
	j := m.details.job
	if j == nil {
		return nil
	}
	keyW := min(detailKeyWidth, max(m.width/3, 8))
	valW := max(m.width-keyW, 1)
	var lines []string
	for _, f := range detailFields(j, m.info.SSHGateway, m.now(), m.loc) {
		key := pad(f.key+":", keyW)
		if width(f.key)+1 >= keyW {
			key = fit(f.key, keyW-2) + ": "
		}
		key = m.st.label.Render(key)
		for i, part := range strings.Split(ansi.Wrap(f.value, valW, ",:"), "\n") {
			if i > 0 {
				key = strings.Repeat(" ", keyW)
			}
			lines = append(lines, key+fit(part, valW))
		}
	}
	return lines
}

// detailsView draws the details in h lines: a title, then the fields
// from the scroll position.
func (m *model) detailsView(h int) []string {
	d := &m.details
	j := d.job
	if j == nil {
		return []string{m.st.dim.Render("no job")}
	}
	title := []string{m.st.label.Render("job " + j.Ref()), safe(j.Name), m.st.stateStyle(stateLetters(j)).Render(string(j.State))}
	if d.err != nil {
		title = append(title, m.st.errText.Render(errorText(d.err)))
	}
	lines := []string{joinFit(title, " · ", m.width)}
	body := m.detailLines()
	page := max(h-1, 0)
	from := clampScroll(d.scroll, len(body), page)
	end := min(from+page, len(body))
	return append(lines, body[from:end]...)
}

// clampScroll keeps a scroll position within n lines shown page at a
// time.
func clampScroll(scroll, n, page int) int {
	return max(min(scroll, n-max(page, 1)), 0)
}
