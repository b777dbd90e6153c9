package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/config"
	"github.com/godocker/godocker/sched"
	"github.com/godocker/godocker/store"
)

// Limits of what a submission may carry.
const (
	maxScriptBytes = 1 << 20
	maxNameLen     = 255
	minMemory      = 6 << 20 // the smallest limit Docker accepts
	maxPriority    = 1024
	minPriority    = -1023
)

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// mount is a volume a job asked for, resolved against the config.
type mount struct {
	vol      config.Volume
	readOnly bool
}

// checked is what validation learnt on the way: resolved paths and
// volumes, so that resolution does not ask the file system again.
type checked struct {
	workDir  string // host path; empty: the job directory
	volumes  []mount
	home     bool // the home directory exists and is mounted
	project  *api.Project
	executor string // where the job runs
}

// submit validates spec for c and stores the job; its directory is made
// when it starts (makeJobDir). Nothing is created when validation fails,
// except that the job id reserved for it is never used.
func (s *Server) submit(ctx context.Context, c *caller, spec api.Spec) (*api.Job, error) {
	if err := s.refuseInMaintenance(ctx); err != nil {
		return nil, err
	}
	ck, err := s.validate(ctx, c, &spec)
	if err != nil {
		return nil, err
	}
	if s.cfg.Limits.MaxPendingPerUser > 0 || s.cfg.Limits.MaxPending > 0 {
		// Counted and stored one submission at a time, so that a burst
		// does not pass the cap; without caps, nothing waits here.
		s.admitMu.Lock()
		defer s.admitMu.Unlock()
	}
	if err := s.admit(ctx, c); err != nil {
		return nil, err
	}
	if err := s.refuseOverQuota(ctx, c, ck.project); err != nil {
		return nil, err
	}
	id, err := s.store.NextID(ctx)
	if err != nil {
		return nil, fmt.Errorf("reserve job id: %w", err)
	}
	j := &api.Job{
		ID:        id,
		Name:      spec.Name,
		User:      c.User,
		UID:       c.UID,
		GID:       c.GID,
		Group:     c.Group,
		Groups:    c.Groups,
		Home:      c.Home,
		Project:   spec.Project,
		State:     api.Pending,
		Reason:    api.Reason{Code: api.ReasonWaitingForScheduling, Message: "waiting for the scheduler"},
		Spec:      spec,
		Submitted: time.Now().UTC(),
		Attempt:   1,
		Executor:  ck.executor,
	}
	if a := spec.Array; a != nil {
		j.Tasks = &api.Tasks{Next: a.First}
	}
	if spec.Hold {
		j.State = api.Held
		j.Reason = api.Reason{Code: api.ReasonHeld, Message: "held by its owner (gsub -h)"}
	}
	j.Dir = filepath.Join(s.cfg.SharedDir, c.User, strconv.FormatInt(id, 10))
	if err := s.resolveOutput(j, ck); err != nil {
		return nil, err
	}
	// Its execution (Run) is decided when it starts (resolveExecution).
	if err := s.store.CreateJob(ctx, j); err != nil {
		return nil, fmt.Errorf("store job %d: %w", id, err)
	}
	return j, nil
}

// waiting are the states of jobs that count against the pending caps.
var waiting = []api.State{api.Pending, api.Held}

// admit applies the caps on waiting jobs (rate limiting): a user, or
// everybody, with too many jobs waiting must let some start first. An
// array counts as one waiting job, whatever its size. The caller holds
// admitMu until the job is stored; two servers of a cluster may each
// admit one job past a cap at the same instant.
func (s *Server) admit(ctx context.Context, c *caller) error {
	if limit := s.cfg.Limits.MaxPendingPerUser; limit > 0 {
		n, err := s.store.Count(ctx, store.Query{Users: []string{c.User}, States: waiting})
		if err != nil {
			return fmt.Errorf("count pending jobs: %w", err)
		}
		if n >= limit {
			return &api.Error{Code: api.CodeUnavailable, Message: fmt.Sprintf("you have %d jobs waiting, the most one user may (limits.max_pending_per_user): submit again when some have started", n)}
		}
	}
	if limit := s.cfg.Limits.MaxPending; limit > 0 {
		n, err := s.store.Count(ctx, store.Query{States: waiting})
		if err != nil {
			return fmt.Errorf("count pending jobs: %w", err)
		}
		if n >= limit {
			return &api.Error{Code: api.CodeUnavailable, Message: fmt.Sprintf("the queue holds %d waiting jobs, the most it takes (limits.max_pending): submit again later", n)}
		}
	}
	return nil
}

// validate checks everything about spec that does not need the job id,
// fills its defaults, and says what to change when something is wrong.
func (s *Server) validate(ctx context.Context, c *caller, spec *api.Spec) (*checked, error) {
	ck := &checked{}
	if c.UID == 0 && !spec.Root && !s.cfg.MayRunAsRoot("root") {
		return nil, api.Denied("root may not submit jobs: submit as the user who owns the work (or add root to root_users in godocker.yaml)")
	}
	if spec.Root && !s.cfg.MayRunAsRoot(c.User) {
		return nil, api.Denied(fmt.Sprintf("%s may not run jobs as root: drop --root (an admin can list you in root_users in godocker.yaml)", c.User))
	}

	// What to run.
	switch {
	case spec.Interactive:
		if len(spec.Command) > 0 || spec.Script != "" || len(spec.Args) > 0 || spec.Shell != "" {
			return nil, api.Invalid("an interactive job (-I) runs no script or command: submit it alone, then enter it with ssh once it runs")
		}
		if spec.Array != nil {
			return nil, api.Invalid("an interactive job (-I) cannot be an array (-t)")
		}
		if spec.Name == "" {
			spec.Name = InteractiveName
		}
	case len(spec.Command) > 0 && spec.Script != "":
		return nil, api.Invalid("give either a script or a command (-b y), not both")
	case len(spec.Command) > 0:
		if spec.Command[0] == "" {
			return nil, api.Invalid("the command (-b y) is empty")
		}
	case strings.TrimSpace(spec.Script) == "":
		return nil, api.Invalid("the script is empty: give a script file, a script on standard input, or a command with -b y")
	case len(spec.Script) > maxScriptBytes:
		return nil, api.Invalid(fmt.Sprintf("the script is %d bytes; at most %d are accepted: keep data in files, not in the script", len(spec.Script), maxScriptBytes))
	}
	if spec.Shell != "" && !filepath.IsAbs(spec.Shell) {
		return nil, api.Invalid(fmt.Sprintf("shell %q (-S) must be an absolute path, e.g. /bin/bash", spec.Shell))
	}
	if err := validName(spec.Name); err != nil {
		return nil, err
	}

	// Where and with what.
	if spec.Image == "" {
		spec.Image = s.cfg.Images.Default
	}
	if !s.cfg.ImageAllowed(spec.Image) {
		return nil, api.Invalid(fmt.Sprintf("image %q is not allowed; allowed: %s", spec.Image, strings.Join(s.cfg.Images.Allowed, ", ")))
	}
	if spec.Project == "" {
		spec.Project = api.DefaultProject
	}
	p, err := s.kept.projects.get(spec.Project, func() (*api.Project, error) { return s.project(ctx, spec.Project) })
	if errors.Is(err, api.ErrNotFound) {
		return nil, api.Invalid(fmt.Sprintf("project %q does not exist: gctl project list shows those that do (or leave out -P)", spec.Project))
	}
	if err != nil {
		return nil, err
	}
	if err := mayJoin(p, c); err != nil {
		return nil, err
	}
	ck.project = p
	if ck.executor, err = s.chooseExecutor(spec.Executor, p.Name); err != nil {
		return nil, err
	}

	// Resources.
	if err := s.validateResources(ctx, spec, ck.executor); err != nil {
		return nil, err
	}
	if r, over := sched.OverLimit(p.Name, schedLimit(p.Limit), spec.CPUs, spec.Memory, spec.GPUs); over {
		return nil, api.Invalid(r.Message + ": ask for less, or submit to another project (-P)")
	}
	if spec.Priority < minPriority || spec.Priority > maxPriority {
		return nil, api.Invalid(fmt.Sprintf("priority %d is out of range %d..%d", spec.Priority, minPriority, maxPriority))
	}
	if spec.Priority > 0 && !c.Admin {
		return nil, api.Denied(fmt.Sprintf("only admins may raise a job's priority above 0 (asked: %d); users may lower it", spec.Priority))
	}
	if err := validateArray(spec.Array); err != nil {
		return nil, err
	}
	if err := s.validateDependencies(ctx, spec.Dependencies); err != nil {
		return nil, err
	}
	if err := s.validateTaskDependencies(ctx, spec); err != nil {
		return nil, err
	}
	for k, v := range spec.Env {
		if !envName.MatchString(k) {
			return nil, api.Invalid(fmt.Sprintf("environment variable name %q is not valid (-v): use letters, digits and _", k))
		}
		if strings.ContainsRune(v, 0) {
			return nil, api.Invalid(fmt.Sprintf("environment variable %s holds a NUL byte", k))
		}
	}

	// Volumes: those asked for, then the project's.
	ofProject := map[string]string{} // name → mode
	for _, v := range p.Volumes {
		name, mode, _ := strings.Cut(v, ":")
		ofProject[name] = mode
	}
	seen := map[string]bool{}
	for _, req := range spec.Volumes {
		name, mode, _ := strings.Cut(req, ":")
		if mode != "" && mode != "ro" && mode != "rw" {
			return nil, api.Invalid(fmt.Sprintf("volume %q: the mode after ':' must be ro or rw", req))
		}
		v, ok := s.volume(name)
		if !ok {
			return nil, api.Invalid(fmt.Sprintf("volume %q does not exist; volumes: %s", name, s.volumeNames()))
		}
		if _, granted := ofProject[name]; !granted && !mayMount(v, c) {
			return nil, api.Denied(fmt.Sprintf("you may not mount volume %q", name))
		}
		if mode == "rw" && v.ACL != "rw" {
			return nil, api.Denied(fmt.Sprintf("volume %q is read-only; ask for %s or %s:ro", name, name, name))
		}
		if seen[name] {
			return nil, api.Invalid(fmt.Sprintf("volume %q is asked for twice", name))
		}
		if pm, granted := ofProject[name]; granted && pm == "ro" && mode == "rw" {
			return nil, api.Denied(fmt.Sprintf("project %s mounts volume %q read-only; ask for %s or %s:ro", p.Name, name, name, name))
		}
		seen[name] = true
		ck.volumes = append(ck.volumes, mount{vol: v, readOnly: v.ACL == "ro" || mode == "ro"})
	}
	for _, pv := range p.Volumes {
		name, mode, _ := strings.Cut(pv, ":")
		v, ok := s.volume(name)
		if !ok {
			return nil, fmt.Errorf("project %s mounts volume %q, which is no longer configured: ask an admin to fix the project (gctl project set %s --volumes ...)", p.Name, name, p.Name)
		}
		if !seen[name] {
			seen[name] = true
			ck.volumes = append(ck.volumes, mount{vol: v, readOnly: v.ACL == "ro" || mode == "ro"})
		}
	}

	if fi, err := os.Stat(c.Home); err == nil && fi.IsDir() && c.Home != "/" {
		ck.home = true
	}

	// Working directory.
	if spec.Cwd != "" {
		dir, err := s.checkDir(c, ck, spec, spec.Cwd, permExec)
		if err != nil {
			return nil, err
		}
		ck.workDir = dir
	}
	return ck, nil
}

// maxDependencies caps the jobs one job may wait for.
const maxDependencies = 1000

// validateDependencies checks that the dependency types are known and the
// jobs exist.
func (s *Server) validateDependencies(ctx context.Context, deps []api.Dependency) error {
	var ids []int64
	for _, d := range deps {
		switch d.Type {
		case api.AfterAny, api.AfterOK, api.AfterNotOK:
		default:
			return api.Invalid(fmt.Sprintf("dependency type %q is not known; types: afterany, afterok, afternotok", d.Type))
		}
		if len(d.Jobs) == 0 {
			return api.Invalid(fmt.Sprintf("dependency %s names no job", d.Type))
		}
		for _, id := range d.Jobs {
			if id <= 0 {
				return api.Invalid(fmt.Sprintf("dependency on job %d: job ids are positive", id))
			}
		}
		ids = append(ids, d.Jobs...)
	}
	if len(ids) == 0 {
		return nil
	}
	if len(ids) > maxDependencies {
		return api.Invalid(fmt.Sprintf("the job depends on %d jobs; at most %d are accepted", len(ids), maxDependencies))
	}
	found, err := s.store.Jobs(ctx, store.Query{IDs: ids})
	if err != nil {
		return fmt.Errorf("read the jobs depended on: %w", err)
	}
	known := make(map[int64]bool, len(found))
	for _, j := range found {
		known[j.ID] = true
	}
	for _, id := range ids {
		if !known[id] {
			return api.Invalid(fmt.Sprintf("the job depends on job %d, which does not exist", id))
		}
	}
	return nil
}

// validateTaskDependencies checks -hold_jid_ad: only an array may wait
// task by task, and only for arrays.
func (s *Server) validateTaskDependencies(ctx context.Context, spec *api.Spec) error {
	if len(spec.TaskDependencies) == 0 {
		return nil
	}
	if spec.Array == nil {
		return api.Invalid("-hold_jid_ad makes the tasks of an array wait for the tasks of others: give the array's tasks with -t, or use -hold_jid")
	}
	for _, id := range spec.TaskDependencies {
		a, err := s.store.Job(ctx, id)
		if errors.Is(err, store.ErrNotFound) || err == nil && !isArray(a) {
			return api.Invalid(fmt.Sprintf("-hold_jid_ad %d: job %d is not an array; use -hold_jid for a job", id, id))
		}
		if err != nil {
			return fmt.Errorf("read job %d: %w", id, err)
		}
	}
	return nil
}

// validateResources checks the resources spec asks for against the
// limits and the nodes of the executor it runs on, and fills defaults.
func (s *Server) validateResources(ctx context.Context, spec *api.Spec, execName string) error {
	if spec.CPUs < 0 {
		return api.Invalid(fmt.Sprintf("cpus %d: must be 1 or more", spec.CPUs))
	}
	if spec.CPUs == 0 {
		spec.CPUs = 1
	}
	if spec.Memory < 0 {
		return api.Invalid(fmt.Sprintf("memory %d: must not be negative", spec.Memory))
	}
	if spec.Memory == 0 && s.cfg.Limits.DefaultMemory != "" {
		spec.Memory, _ = api.ParseMemory(s.cfg.Limits.DefaultMemory)
	}
	if spec.Memory != 0 && spec.Memory < minMemory {
		return api.Invalid(fmt.Sprintf("memory %s is too small: ask for at least 6M", api.FormatMemory(spec.Memory)))
	}
	if spec.Walltime < 0 {
		return api.Invalid(fmt.Sprintf("walltime %d: must not be negative", spec.Walltime))
	}
	if mw := time.Duration(s.cfg.Limits.MaxWalltime); mw > 0 && time.Duration(spec.Walltime)*time.Second > mw {
		return api.Invalid(fmt.Sprintf("walltime %s is over the limit of %s (limits.max_walltime)", api.FormatWalltime(spec.Walltime), api.FormatWalltime(int64(mw.Seconds()))))
	}
	maxCPUs, maxMem := s.cfg.Limits.MaxCPUs, int64(0)
	if s.cfg.Limits.MaxMemory != "" {
		maxMem, _ = api.ParseMemory(s.cfg.Limits.MaxMemory)
	}
	if maxCPUs == 0 || maxMem == 0 {
		nodes, err := s.nodes(ctx, execName)
		if err != nil {
			return fmt.Errorf("read node capacity: %w", err)
		}
		var cpus int
		var mem int64
		for _, n := range nodes {
			cpus, mem = max(cpus, n.CPUs), max(mem, n.Memory)
		}
		if maxCPUs == 0 {
			maxCPUs = cpus
		}
		if maxMem == 0 {
			maxMem = mem
		}
	}
	if spec.GPUs < 0 {
		return api.Invalid(fmt.Sprintf("gpus %d: must not be negative", spec.GPUs))
	}
	if spec.GPUs > 0 {
		nodes, err := s.nodes(ctx, execName)
		if err != nil {
			return fmt.Errorf("read node capacity: %w", err)
		}
		most := 0
		for _, n := range nodes {
			most = max(most, n.GPUs)
		}
		if spec.GPUs > most {
			return api.Invalid(fmt.Sprintf("the job asks for %d gpus; no node has more than %d: ask for fewer (-l gpu=N)", spec.GPUs, most))
		}
	}
	if spec.CPUs > maxCPUs {
		return api.Invalid(fmt.Sprintf("the job asks for %d cpus; at most %d can be granted: ask for fewer (-pe smp N)", spec.CPUs, maxCPUs))
	}
	if spec.Memory > maxMem {
		return api.Invalid(fmt.Sprintf("the job asks for %s memory; at most %s can be granted: ask for less (-l h_vmem=…)", api.FormatMemory(spec.Memory), api.FormatMemory(maxMem)))
	}
	return nil
}

// validName applies Grid Engine's rules for job names, plus no blanks
// (scripts split gstat's output on them).
func validName(name string) error {
	switch {
	case name == "":
		return api.Invalid("the job has no name: give one with -N")
	case len(name) > maxNameLen:
		return api.Invalid(fmt.Sprintf("job name is longer than %d characters", maxNameLen))
	case name[0] >= '0' && name[0] <= '9':
		return api.Invalid(fmt.Sprintf("job name %q starts with a digit: choose another with -N", name))
	case strings.ContainsAny(name, "/:@\\*?") || strings.IndexFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		return api.Invalid(fmt.Sprintf("job name %q holds a blank, a control character or one of / : @ \\ * ?: choose another with -N", name))
	}
	return nil
}

func (s *Server) volume(name string) (config.Volume, bool) {
	for _, v := range s.cfg.Volumes {
		if v.Name == name {
			return v, true
		}
	}
	return config.Volume{}, false
}

func (s *Server) volumeNames() string {
	if len(s.cfg.Volumes) == 0 {
		return "none are configured"
	}
	var names []string
	for _, v := range s.cfg.Volumes {
		names = append(names, v.Name)
	}
	return strings.Join(names, ", ")
}

func mayMount(v config.Volume, c *caller) bool {
	if len(v.Users) == 0 && len(v.Groups) == 0 {
		return true
	}
	if slices.Contains(v.Users, c.User) {
		return true
	}
	if len(v.Groups) > 0 {
		groups := c.groupNames()
		for _, g := range v.Groups {
			if groups[g] {
				return true
			}
		}
	}
	return false
}

// checkDir resolves a directory the job will use (its working directory,
// or the directory of an output file) to its real path, and checks that
// the container will see it and the user may use it.
func (s *Server) checkDir(c *caller, ck *checked, spec *api.Spec, dir string, want uint32) (string, error) {
	if !filepath.IsAbs(dir) {
		return "", api.Invalid(fmt.Sprintf("directory %q must be an absolute path", dir))
	}
	real, err := filepath.EvalSymlinks(filepath.Clean(dir))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", api.Invalid(fmt.Sprintf("directory %s does not exist: create it first", dir))
		}
		return "", api.Denied(fmt.Sprintf("directory %s cannot be used: %v", dir, err))
	}
	if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
		return "", api.Invalid(fmt.Sprintf("%s is not a directory", dir))
	}
	uid, gids := c.UID, append([]int{c.GID}, c.Groups...)
	if spec.Root {
		uid = 0
	}
	if !mayAccess(real, uid, gids, want) {
		return "", api.Denied(fmt.Sprintf("you may not use directory %s (permission denied)", dir))
	}
	if _, ok := containerPath(real, ck, c.Home); !ok {
		return "", api.Invalid(fmt.Sprintf("directory %s is not visible in the job's container: use a directory under your home (%s) or a volume you mount (--volume), or leave out -cwd/-wd to run in the job directory", dir, c.Home))
	}
	return real, nil
}

// containerPath maps a host path to the path the container sees it at,
// through the home directory and the volumes the job mounts.
func containerPath(host string, ck *checked, home string) (string, bool) {
	if ck.home && within(host, home) {
		return host, true
	}
	for _, m := range ck.volumes {
		if within(host, m.vol.Path) {
			return filepath.Join(m.vol.Mount, strings.TrimPrefix(host, m.vol.Path)), true
		}
	}
	return "", false
}

// resolveOutput works out the stdout and stderr files (host paths).
// Grid Engine's rules, with GoDocker's default directory: relative paths
// are relative to the working directory, a directory gets NAME.oID, and
// $JOB_ID $JOB_NAME $USER $HOME are expanded.
func (s *Server) resolveOutput(j *api.Job, ck *checked) error {
	wd := ck.workDir
	if wd == "" {
		wd = j.Dir
	}
	c := &caller{Identity: api.Identity{User: j.User, UID: j.UID, GID: j.GID}, Groups: j.Groups, Home: j.Home}
	resolve := func(given, def, letter string) (string, error) {
		if given == "" {
			return filepath.Join(j.Dir, def), nil
		}
		p := os.Expand(given, func(k string) string {
			switch k {
			case "JOB_ID":
				if j.ArrayID != 0 {
					return strconv.FormatInt(j.ArrayID, 10)
				}
				return strconv.FormatInt(j.ID, 10)
			case "JOB_NAME":
				return j.Name
			case "USER", "LOGNAME":
				return j.User
			case "HOME":
				return j.Home
			case "TASK_ID":
				if j.TaskID != 0 {
					return strconv.FormatInt(j.TaskID, 10)
				}
				return "undefined"
			}
			return "$" + k
		})
		if !filepath.IsAbs(p) {
			p = filepath.Join(wd, p)
		}
		p = filepath.Clean(p)
		if p == "/dev/null" {
			return p, nil
		}
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			p = filepath.Join(p, fmt.Sprintf("%s.%s%s", j.Name, letter, j.Ref())) // Grid Engine's NAME.oID[.TASK]
		}
		if within(p, j.Dir) {
			return p, nil
		}
		dir, err := s.checkDir(c, ck, &j.Spec, filepath.Dir(p), permWrite|permExec)
		if err != nil {
			return "", err
		}
		return filepath.Join(dir, filepath.Base(p)), nil
	}
	var err error
	if j.Stdout, err = resolve(j.Spec.Stdout, "stdout", "o"); err != nil {
		return err
	}
	if j.Spec.Join {
		j.Stderr = j.Stdout
		return nil
	}
	j.Stderr, err = resolve(j.Spec.Stderr, "stderr", "e")
	return err
}
