package sshgw

import (
	"testing"

	"github.com/godocker/godocker/api"
)

func TestParseLogin(t *testing.T) {
	for name, want := range map[string]login{
		"job-123":   {job: api.JobRef{ID: 123}},
		"job-12.4":  {job: api.JobRef{ID: 12, Task: 4}},
		"alice":     {user: "alice"},
		"_svc":      {user: "_svc"},
		"Bob.smith": {user: "Bob.smith"},
	} {
		got, err := parseLogin(name)
		if err != nil || got != want {
			t.Errorf("parseLogin(%q) = %+v, %v; want %+v", name, got, err, want)
		}
	}
	for _, name := range []string{
		"", "job", "job-", "job-0", "job-01", "job-1.", "job-1.0", "job-1.2.3", "job-../x", "job-1;id",
		"job-1 ", " alice", "job-1/../2", "../etc", "a/b", "alice;id", "$(id)", "al ice", "job-99999999999999999999",
		"-oProxyCommand=x", "1alice", "alice\x00", "élodie", "averyveryveryveryveryveryverylongname",
	} {
		if got, err := parseLogin(name); err == nil {
			t.Errorf("parseLogin(%q) = %+v; want an error", name, got)
		}
	}
}
