package cli

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/godocker/godocker/api"
)

// Why a word is not a job id.
var (
	errNotJobID  = errors.New("not a job id")
	errArrayTask = errors.New("a task of an array, not a job")
)

// parseJobID reads a job id, as dependencies take them: a whole number of
// 1 or more. An array task (12.3, Grid Engine's; 12_3, Slurm's) is
// errArrayTask, anything else errNotJobID.
func parseJobID(s string) (int64, error) {
	if id, err := strconv.ParseInt(s, 10, 64); err == nil && id > 0 {
		return id, nil
	}
	for _, sep := range []string{".", "_"} {
		if job, task, ok := strings.Cut(s, sep); ok && isDigits(job) && isDigits(task) {
			return 0, errArrayTask
		}
	}
	return 0, errNotJobID
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// parseJobRef reads how users name a job: ID, or ID.TASK for a task of an
// array (Slurm's ID_TASK too).
func parseJobRef(s string) (api.JobRef, error) {
	if job, task, ok := strings.Cut(s, "_"); ok && isDigits(job) && isDigits(task) {
		s = job + "." + task
	}
	if !isDigits(strings.Replace(s, ".", "", 1)) {
		return api.JobRef{}, errNotJobID
	}
	r, err := api.ParseJobRef(s)
	if err != nil {
		return api.JobRef{}, errNotJobID
	}
	return r, nil
}

// jobRefs reads the job operands of gctl's job commands: "12 13.5" or
// "12,13.5" (ID, or ID.TASK for a task of an array). Anything that is
// not a job is a usage error, before anything is sent; a job given twice
// counts once.
func jobRefs(words []string) ([]api.JobRef, error) {
	var refs []api.JobRef
	for _, w := range splitList(words) {
		r, err := parseJobRef(w)
		if err != nil {
			return nil, usagef("%q is not a job id: give job numbers, e.g. 12, or ID.TASK for a task of an array, e.g. 12.5", w)
		}
		if !slices.Contains(refs, r) {
			refs = append(refs, r)
		}
	}
	if len(refs) == 0 {
		return nil, usagef("missing ID: which jobs?")
	}
	return refs, nil
}

// dependencyTypes are the types --dependency takes, as the help says them.
const dependencyTypes = "afterany, afterok or afternotok"

// parseHoldJid reads the values of -hold_jid (each ID[,ID...]; the option
// may be repeated, the ids add up) as Grid Engine's qsub does, except that
// names are not taken. NONE drops the ids before it; empty items are
// skipped. gctl alter -hold_jid NONE, or an empty list, removes a job's.
func parseHoldJid(values []string) ([]int64, error) {
	var ids []int64
	for _, v := range values {
		for _, it := range strings.Split(v, ",") {
			it = strings.TrimSpace(it)
			if it == "" {
				continue
			}
			if strings.EqualFold(it, "NONE") {
				ids = nil
				continue
			}
			id, err := parseJobID(it)
			switch {
			case errors.Is(err, errArrayTask):
				return nil, fmt.Errorf("-hold_jid %s: waiting for one task of an array is not supported; give the array's id to wait for all its tasks", it)
			case err != nil:
				return nil, fmt.Errorf("-hold_jid %s: give job ids: job names in -hold_jid are not supported yet", it)
			}
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}

// parseDependency reads the values of --dependency, Slurm's
// TYPE:ID[:ID...][,TYPE:ID...] with TYPE afterany, afterok or afternotok.
// Each item is one Dependency, in the order given; all must be met.
func parseDependency(values []string) ([]api.Dependency, error) {
	var deps []api.Dependency
	for _, v := range values {
		if strings.Contains(v, "?") {
			return nil, fmt.Errorf("--dependency %s: '?' (any of them) is not supported; separate with ',' (all of them)", v)
		}
		for _, it := range strings.Split(v, ",") {
			it = strings.TrimSpace(it)
			if it == "" {
				continue
			}
			typ, list, _ := strings.Cut(it, ":")
			switch typ {
			case api.AfterAny, api.AfterOK, api.AfterNotOK:
			default:
				return nil, fmt.Errorf("--dependency %s: unknown type %q; want TYPE:ID[:ID...] with TYPE %s", it, typ, dependencyTypes)
			}
			d := api.Dependency{Type: typ}
			for _, s := range strings.Split(list, ":") {
				if s == "" {
					continue
				}
				id, err := parseJobID(s)
				switch {
				case errors.Is(err, errArrayTask):
					return nil, fmt.Errorf("--dependency %s: %s: waiting for one task of an array is not supported; give the array's id to wait for all its tasks", it, s)
				case err != nil:
					return nil, fmt.Errorf("--dependency %s: %q is not a job id", it, s)
				}
				if !slices.Contains(d.Jobs, id) {
					d.Jobs = append(d.Jobs, id)
				}
			}
			if len(d.Jobs) == 0 {
				return nil, fmt.Errorf("--dependency %s: name the jobs: %s:ID[:ID...]", it, typ)
			}
			deps = append(deps, d)
		}
	}
	return deps, nil
}

// dependencies reads -hold_jid (one afterany dependency on all its ids)
// and --dependency together: they add up.
func dependencies(holdJid, dependency []string) ([]api.Dependency, error) {
	ids, err := parseHoldJid(holdJid)
	if err != nil {
		return nil, err
	}
	var deps []api.Dependency
	if len(ids) > 0 {
		deps = append(deps, api.Dependency{Type: api.AfterAny, Jobs: ids})
	}
	more, err := parseDependency(dependency)
	if err != nil {
		return nil, err
	}
	return append(deps, more...), nil
}
