package cli

import (
	"strings"
	"testing"

	"github.com/godocker/godocker/api"
)

// TestGsubInteractive: gsub -I sends no script, names the job, and says
// how to enter it.
func TestGsubInteractive(t *testing.T) {
	f := newFake("alice")
	f.gateway = "gw.example.org:2222"
	r := gsub(f, "this stdin is not a script\n", "-I", "-l", "h_rt=1:00:00")
	if r.code != 0 || len(f.specs) != 1 {
		t.Fatalf("gsub -I: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	s := f.specs[0]
	if !s.Interactive || s.Script != "" || s.Name != "INTERACTIVE" || s.Walltime != 3600 {
		t.Errorf("spec: interactive %v script %q name %q walltime %d; want an interactive job named INTERACTIVE, no script, 1h", s.Interactive, s.Script, s.Name, s.Walltime)
	}
	want := "Your job 101 (\"INTERACTIVE\") has been submitted\nOnce it runs, enter it with: ssh -p 2222 job-101@gw.example.org\n"
	if r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	if r := gsub(f, "", "--interactive", "-N", "nb", "-terse"); r.code != 0 || r.stdout != "102\n" || f.specs[1].Name != "nb" {
		t.Errorf("gsub --interactive -N nb -terse: exit %d, stdout %q (want the id alone), name %q", r.code, r.stdout, f.specs[1].Name)
	}

	f.gateway = "gw:22"
	if r := gsub(f, "", "-I"); !strings.Contains(r.stdout, "enter it with: ssh job-103@gw\n") {
		t.Errorf("gateway on port 22: %q; want no -p", r.stdout)
	}
	f.gateway = ""
	if r := gsub(f, "", "-I"); !strings.Contains(r.stdout, "no SSH gateway") {
		t.Errorf("no gateway: %q; want a sentence saying so", r.stdout)
	}
}

func TestGsubInteractiveTakesNoScript(t *testing.T) {
	f := newFake("alice")
	for _, args := range [][]string{{"-I", "job.sh"}, {"-I", "-b", "y", "sleep", "1"}, {"-I", "-"}} {
		r := gsub(f, "echo\n", args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "runs no script") {
			t.Errorf("gsub %q: exit %d, stderr %q; want a usage error", args, r.code, r.stderr)
		}
	}
	if len(f.specs) != 0 {
		t.Errorf("%d submissions reached the server", len(f.specs))
	}
}

// TestGstatSaysHowToEnter: gstat -j of an interactive job prints the ssh
// command, and only while the job may still be entered.
func TestGstatSaysHowToEnter(t *testing.T) {
	j := &api.Job{ID: 7, Name: "INTERACTIVE", User: "alice", State: api.Running, Spec: api.Spec{Interactive: true}}
	f := newFake("alice", j)
	f.gateway = "gw:2222"
	r := gstat(f, "-j", "7")
	if !strings.Contains(r.stdout, "interactive:                yes: enter it with ssh -p 2222 job-7@gw\n") {
		t.Errorf("gstat -j of a running interactive job:\n%s", r.stdout)
	}
	j.State = api.Pending
	if r := gstat(f, "-j", "7"); !strings.Contains(r.stdout, "once it runs, enter it with ssh -p 2222 job-7@gw") {
		t.Errorf("gstat -j of a pending interactive job:\n%s", r.stdout)
	}
	j.State = api.Killed
	if r := gstat(f, "-j", "7"); strings.Contains(r.stdout, "interactive:") {
		t.Errorf("gstat -j of a finished interactive job still says how to enter it:\n%s", r.stdout)
	}
}
