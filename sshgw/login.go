package sshgw

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/godocker/godocker/api"
)

// login is what an SSH user name asks for: a job (job-123, job-123.4), or
// a user's own page (alice).
type login struct {
	job  api.JobRef // zero for a user login
	user string     // for a user login
}

func (l login) isJob() bool { return l.job.ID != 0 }

var (
	// jobLogin is job-ID or job-ID.TASK, numbers without leading zeros.
	jobLogin = regexp.MustCompile(`^job-([1-9][0-9]{0,17})(?:\.([1-9][0-9]{0,17}))?$`)
	// userLogin is a portable POSIX user name (as useradd's default
	// NAME_REGEX, with capitals and dots allowed).
	userLogin = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,31}$`)
)

// parseLogin reads an SSH user name. Anything that is not exactly a job
// reference or a plain user name is refused, before any lookup.
func parseLogin(name string) (login, error) {
	if m := jobLogin.FindStringSubmatch(name); m != nil {
		id, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return login{}, fmt.Errorf("login %q: %w", name, err)
		}
		ref := api.JobRef{ID: id}
		if m[2] != "" {
			if ref.Task, err = strconv.ParseInt(m[2], 10, 64); err != nil {
				return login{}, fmt.Errorf("login %q: %w", name, err)
			}
		}
		return login{job: ref}, nil
	}
	if userLogin.MatchString(name) && name != "job" && !jobPrefix.MatchString(name) {
		return login{user: name}, nil
	}
	return login{}, fmt.Errorf("login %q is neither job-ID[.TASK] nor a user name", name)
}

// jobPrefix catches malformed job logins (job-0, job-01, job-1.x) that
// would otherwise pass as user names.
var jobPrefix = regexp.MustCompile(`^job-`)
