package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/godocker/godocker/api"
)

// ScriptName is the job script's file name in the job directory.
const ScriptName = "job.sh"

// InteractiveName is the name of an interactive job that was given none
// (Grid Engine names qlogin's jobs QLOGIN).
const InteractiveName = "INTERACTIVE"

// idle is what an interactive job's container runs: nothing, until the
// job is deleted or reaches its walltime. Users enter it through the SSH
// gateway; docker's init (PID 1) reaps what they leave behind.
var idle = []string{"sleep", "infinity"}

// wrapper is the container's first process: it sends stdout and stderr to
// the job's files (created by the job's own uid, so they are the user's),
// then becomes the job. Paths arrive as arguments, never pasted into code.
//
//	sh -c WRAPPER godocker OUT ERR MODE CMD...
//
// ERR empty: stderr joins stdout. MODE "default-shell": run CMD (the
// script) with bash, or sh where the image has no bash; "exec": run CMD.
const wrapper = `out=$1 err=$2 mode=$3; shift 3
if [ -n "$err" ]; then exec >"$out" 2>"$err"; else exec >"$out" 2>&1; fi
if [ "$mode" = default-shell ]; then
	if command -v bash >/dev/null 2>&1; then exec bash "$@"; fi
	exec sh "$@"
fi
exec "$@"`

// resolveExecution decides how j's current attempt runs, as it starts:
// its owner's rights are checked again (they may have lost one since
// submission), its output files resolved again, and j.Run built for this
// attempt (RESTARTED counts it). It changes j's Spec defaults, Stdout,
// Stderr and Run. An error that is the owner's (api.Error) means the job
// cannot run as submitted.
func (s *Server) resolveExecution(ctx context.Context, j *api.Job) error {
	// The priority is the scheduler's business: an admin may have raised
	// it above what the owner may ask for.
	spec := j.Spec
	spec.Priority = 0
	ck, err := s.validate(ctx, ownerOf(j), &spec)
	if err != nil {
		return err
	}
	spec.Priority = j.Spec.Priority
	j.Spec = spec
	if err := s.resolveOutput(j, ck); err != nil {
		return err
	}
	j.Run = s.buildRun(j, ck)
	return nil
}

// buildRun decides the job's execution: the whole contract of DESIGN.md
// in one place, so that every executor runs the same thing.
func (s *Server) buildRun(j *api.Job, ck *checked) *api.Run {
	uid, gid, groups := j.UID, j.GID, j.Groups
	if j.Spec.Root {
		uid, gid, groups = 0, 0, nil
	}
	r := &api.Run{
		Image:  j.Spec.Image,
		UID:    uid,
		GID:    gid,
		Groups: groups,
		CPUs:   j.Spec.CPUs,
		Memory: j.Spec.Memory,
		Pids:   s.cfg.Limits.Pids,
	}
	if !j.Spec.Root {
		// The names the container's passwd and group files give the
		// uid and gid; root has its own in every image.
		r.User, r.Group, r.Home = j.User, j.Group, j.Home
	}

	var mounts []api.Mount
	if ck.home {
		mounts = append(mounts, api.Mount{Source: j.Home, Target: j.Home, ReadOnly: j.Spec.Root})
	}
	for _, m := range ck.volumes {
		mounts = append(mounts, api.Mount{Source: m.vol.Path, Target: m.vol.Mount, ReadOnly: m.readOnly})
	}
	// A task's directory is in its array's, which holds the script: the
	// array's is mounted (a directory only root could have replaced).
	base := j.Dir
	if j.ArrayID != 0 {
		base = filepath.Dir(j.Dir)
	}
	mounts = append(mounts, api.Mount{Source: base, Target: base})
	r.Mounts = mounts

	r.WorkDir = j.Dir
	if ck.workDir != "" {
		r.WorkDir, _ = containerPath(ck.workDir, ck, j.Home)
	}
	out := s.inContainer(j.Stdout, ck, j)
	errPath := s.inContainer(j.Stderr, ck, j)
	if j.Spec.Join {
		errPath = ""
	}
	script := filepath.Join(base, ScriptName)
	argv := []string{"/bin/sh", "-c", wrapper, "godocker", out, errPath}
	switch {
	case j.Spec.Interactive:
		argv = append(argv, "exec")
		argv = append(argv, idle...)
	case len(j.Spec.Command) > 0:
		argv = append(argv, "exec")
		argv = append(argv, j.Spec.Command...)
	case j.Spec.Shell != "":
		argv = append(argv, "exec", j.Spec.Shell, script)
	default:
		if interp := shebang(j.Spec.Script); len(interp) > 0 {
			argv = append(argv, "exec")
			argv = append(argv, interp...)
			argv = append(argv, script)
		} else {
			argv = append(argv, "default-shell", script)
		}
	}
	if len(j.Spec.Command) == 0 {
		argv = append(argv, j.Spec.Args...)
	}
	r.Argv = argv
	r.Env = s.jobEnv(j, r.WorkDir, out, errPath, script)
	return r
}

func (s *Server) inContainer(hostPath string, ck *checked, j *api.Job) string {
	if hostPath == "/dev/null" || within(hostPath, j.Dir) {
		return hostPath
	}
	p, _ := containerPath(hostPath, ck, j.Home)
	return p
}

// shebang returns the interpreter and its optional argument from the
// script's #! line, split as the kernel does.
func shebang(script string) []string {
	line, _, _ := strings.Cut(script, "\n")
	rest, ok := strings.CutPrefix(line, "#!")
	if !ok {
		return nil
	}
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return nil
	}
	interp, arg, found := strings.Cut(rest, " ")
	if !found {
		interp, arg, found = strings.Cut(rest, "\t")
	}
	if arg = strings.TrimSpace(arg); found && arg != "" {
		return []string{interp, arg}
	}
	return []string{interp}
}

// jobEnv is the job's environment: the user's -v/-V variables, then
// GoDocker's, Grid Engine's and Slurm's names (which the user cannot
// override), sorted for a stable container configuration.
func (s *Server) jobEnv(j *api.Job, workDir, out, errPath, script string) []string {
	env := map[string]string{}
	for k, v := range j.Spec.Env {
		env[k] = v
	}
	id := strconv.FormatInt(j.ID, 10)
	cpus := strconv.Itoa(j.Spec.CPUs)
	queue := j.Executor
	if errPath == "" {
		errPath = out
	}
	for k, v := range map[string]string{
		"HOME": j.Home, "USER": j.User, "LOGNAME": j.User,
		"GODOCKER_JID": id, "GODOCKER_PWD": workDir, "GODOCKER_HOME": j.Home,
		"GODOCKER_JOB_DIR": j.Dir, "GODOCKER_TASK_ID": "",
		"JOB_ID": id, "JOB_NAME": j.Name, "JOB_SCRIPT": script,
		"SGE_TASK_ID": "undefined", "SGE_TASK_FIRST": "undefined", "SGE_TASK_LAST": "undefined", "SGE_TASK_STEPSIZE": "undefined",
		"NSLOTS": cpus, "NHOSTS": "1", "QUEUE": queue, "ENVIRONMENT": "BATCH",
		"TMPDIR": "/tmp", "TMP": "/tmp", "RESTARTED": strconv.Itoa(min(j.Attempt-1, 1)),
		"SGE_STDOUT_PATH": out, "SGE_STDERR_PATH": errPath, "SGE_CWD_PATH": workDir,
		"SGE_O_WORKDIR": j.Spec.SubmitDir, "SGE_O_HOST": j.Spec.SubmitHost,
		"SGE_O_HOME": j.Spec.SubmitEnv["HOME"], "SGE_O_PATH": j.Spec.SubmitEnv["PATH"],
		"SGE_O_LOGNAME": j.Spec.SubmitEnv["LOGNAME"], "SGE_O_SHELL": j.Spec.SubmitEnv["SHELL"],
		"SLURM_JOB_ID": id, "SLURM_JOBID": id, "SLURM_JOB_NAME": j.Name, "SLURM_JOB_USER": j.User,
		"SLURM_JOB_UID": strconv.Itoa(j.UID), "SLURM_CPUS_ON_NODE": cpus, "SLURM_CPUS_PER_TASK": cpus,
		"SLURM_NTASKS": "1", "SLURM_JOB_NUM_NODES": "1", "SLURM_SUBMIT_DIR": j.Spec.SubmitDir,
		"SLURM_SUBMIT_HOST": j.Spec.SubmitHost, "SLURM_JOB_PARTITION": queue,
		"SLURM_RESTART_COUNT": strconv.Itoa(j.Attempt - 1),
	} {
		env[k] = v
	}
	if a := j.Spec.Array; a != nil && j.ArrayID != 0 {
		array, task := strconv.FormatInt(j.ArrayID, 10), strconv.FormatInt(j.TaskID, 10)
		first, last, step := strconv.FormatInt(a.First, 10), strconv.FormatInt(a.Last, 10), strconv.FormatInt(a.Step, 10)
		for k, v := range map[string]string{
			"GODOCKER_JID": array, "JOB_ID": array,
			"GODOCKER_TASK_ID": task, "GODOCKER_TASK_FIRST": first, "GODOCKER_TASK_LAST": last, "GODOCKER_TASK_STEP": step,
			"SGE_TASK_ID": task, "SGE_TASK_FIRST": first, "SGE_TASK_LAST": last, "SGE_TASK_STEPSIZE": step,
			"SLURM_ARRAY_JOB_ID": array, "SLURM_ARRAY_TASK_ID": task, "SLURM_ARRAY_TASK_MIN": first,
			"SLURM_ARRAY_TASK_MAX": last, "SLURM_ARRAY_TASK_STEP": step, "SLURM_ARRAY_TASK_COUNT": strconv.FormatInt(a.Count(), 10),
		} {
			env[k] = v
		}
	}
	if j.Spec.Memory > 0 {
		env["SLURM_MEM_PER_NODE"] = strconv.FormatInt(j.Spec.Memory>>20, 10)
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out2 := make([]string, 0, len(keys))
	for _, k := range keys {
		out2 = append(out2, k+"="+env[k])
	}
	return out2
}

// makeJobDir creates the job's directory, SharedDir/USER/ID, owned by the
// job's user, with the script in it; for a task, its array's directory
// first, then the task's in it. It runs when the job starts, as Grid
// Engine and Slurm create output files then: a submission touches no
// file system, and a job deleted before it starts leaves nothing. A
// directory made by an earlier attempt (a requeued or restarted job) is
// kept, and a script missing from it is written again.
//
// SharedDir/USER belongs to root (group: the user's primary group, mode
// 0750), so a user cannot swap a job's directory for a link and make root
// write elsewhere; a new job directory stays root's until its content is
// in place, then becomes the user's (mode 0700: nobody else reads it).
// The script is created, never opened if there, and links are never
// followed: what the user changed in their directory stays theirs.
func (s *Server) makeJobDir(j *api.Job) error {
	if j.User == "" || j.User != filepath.Base(j.User) || strings.HasPrefix(j.User, ".") {
		return fmt.Errorf("user name %q cannot name a directory", j.User)
	}
	dir := j.Dir
	if j.ArrayID != 0 {
		dir = filepath.Dir(j.Dir)
	}
	userDir := filepath.Join(s.cfg.SharedDir, j.User)
	if filepath.Dir(dir) != userDir {
		return fmt.Errorf("job directory %s is not in %s", dir, userDir)
	}
	// SharedDir/USER is set up once per user and group in this process;
	// only root can change it afterwards. If it has gone (an admin
	// cleaned up), it is set up again.
	key := userDirKey{j.User, j.GID}
	_, ready := s.userDirs.Load(key)
	if !ready {
		if err := makeUserDir(userDir, j.GID); err != nil {
			return err
		}
		s.userDirs.Store(key, struct{}{})
	}
	err := mkdirOrKeep(dir)
	if ready && errors.Is(err, fs.ErrNotExist) {
		s.userDirs.Delete(key)
		if err = makeUserDir(userDir, j.GID); err == nil {
			s.userDirs.Store(key, struct{}{})
			err = mkdirOrKeep(dir)
		}
	}
	if err != nil {
		return err
	}
	if j.Spec.Script != "" {
		if err := writeScript(filepath.Join(dir, ScriptName), j.Spec.Script, j.UID, j.GID); err != nil {
			return err
		}
	}
	if err := os.Lchown(dir, j.UID, j.GID); err != nil {
		return err
	}
	if j.ArrayID == 0 {
		return nil
	}
	// The array's directory is the user's: a link the user put there
	// under the task's number is refused, not followed.
	if err := mkdirOrKeep(j.Dir); err != nil {
		return err
	}
	return os.Lchown(j.Dir, j.UID, j.GID)
}

// mkdirOrKeep creates dir (mode 0700), or keeps the directory there; a
// link or a file there is an error.
func mkdirOrKeep(dir string) error {
	err := os.Mkdir(dir, 0o700)
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	fi, lerr := os.Lstat(dir)
	if lerr != nil {
		return lerr
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is in the way of the job's directory: it is not a directory", dir)
	}
	return nil
}

// writeScript creates the script file at path, owned by uid:gid, unless
// a file is there already.
func writeScript(path, script string, uid, gid int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o700)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	_, werr := f.WriteString(script)
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return os.Lchown(path, uid, gid)
}

// userDirKey names a user's directory as it was set up: for that user's
// primary group.
type userDirKey struct {
	user string
	gid  int
}

// makeUserDir creates or repairs SharedDir/USER: a directory (not a link)
// of root's, group gid, mode 0750.
func makeUserDir(dir string, gid int) error {
	if err := os.Mkdir(dir, 0o750); err != nil && !os.IsExist(err) {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if err := os.Lchown(dir, 0, gid); err != nil {
		return err
	}
	return os.Chmod(dir, 0o750)
}
