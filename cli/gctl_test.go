package cli

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
)

const gib = 1 << 30

// accountingFake is a fake server with projects, accounts, quotas and
// usage to show; the caller is an admin unless admin is false.
func accountingFake(t *testing.T, admin bool) *fake {
	t.Helper()
	stopClock(t, time.Date(2026, 11, 23, 19, 30, 0, 0, time.UTC))
	f := newFake("root")
	f.admin = admin
	f.projects["bio"] = &api.Project{Name: "bio", Owner: "alice", Members: []string{"alice", "@bioinfo"}, Priority: 70,
		Volumes: []string{"refgenomes:ro", "scratch"}, Limit: api.Limit{CPUs: 32, Memory: 64 * gib, GPUs: 2, Jobs: 10},
		Quota: api.Quota{CPUSeconds: 100 * 3600, MemorySeconds: 2000 * gib * 3600, GPUSeconds: 10 * 3600}}
	f.projects["chem"] = &api.Project{Name: "chem", Members: []string{"carol"}, Priority: 40, Limit: api.Limit{Memory: 512 << 20}}
	f.accounts["alice"] = &api.Account{User: "alice", Priority: 60, Quota: api.Quota{CPUSeconds: 50 * 3600}}
	f.accounts["bob"] = &api.Account{User: "bob", Priority: 50, Quota: api.Quota{CPUSeconds: 1200, GPUSeconds: 3600}}
	f.accounts["carol"] = &api.Account{User: "carol", Priority: 20}
	f.quotas = api.QuotaReport{
		Start:  time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		Resets: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		Quotas: []api.QuotaEntry{
			{Kind: api.KindUser, Name: "alice", Quota: api.Quota{CPUSeconds: 50 * 3600}, Used: api.Quota{CPUSeconds: 12.4 * 3600, MemorySeconds: 30 * gib * 3600}},
			{Kind: api.KindUser, Name: "bob", Quota: api.Quota{CPUSeconds: 1200, GPUSeconds: 3600}, Used: api.Quota{CPUSeconds: 1500, GPUSeconds: 3600}},
			{Kind: api.KindProject, Name: "bio", Quota: f.projects["bio"].Quota, Used: api.Quota{CPUSeconds: 99.999 * 3600, MemorySeconds: 24.8 * gib * 3600}},
			{Kind: api.KindUser, Name: "carol"}, // no budget: not shown
		},
	}
	f.usage = api.UsageReport{
		Window: 30 * 86400, HalfLife: 7 * 86400,
		Users: []api.UsageEntry{
			{Name: "alice", Priority: 60, Used: api.Quota{CPUSeconds: 12.4 * 3600, MemorySeconds: 30 * gib * 3600}, Share: 0.6251, Running: 2, CPUs: 8, Memory: 16 * gib},
			{Name: "bob", Priority: 50, Used: api.Quota{CPUSeconds: 7.44 * 3600, GPUSeconds: 3600}, Share: 0.375, Running: 1, CPUs: 1, Memory: 512 << 20, GPUs: 1},
		},
		Projects: []api.UsageEntry{
			{Name: "bio", Priority: 70, Used: api.Quota{CPUSeconds: 19.84 * 3600, MemorySeconds: 30 * gib * 3600, GPUSeconds: 3600}, Share: 1, Running: 3, CPUs: 9, Memory: 16*gib + 512<<20, GPUs: 1},
			{Name: "default", Priority: 50},
		},
	}
	return f
}

// stopClock sets gctl's clock to at for the test.
func stopClock(t *testing.T, at time.Time) {
	t.Helper()
	saved := now
	now = func() time.Time { return at }
	t.Cleanup(func() { now = saved })
}

// gctlOK runs gctl and fails the test unless it exits 0.
func gctlOK(t *testing.T, f *fake, args ...string) string {
	t.Helper()
	r := gctl(f, args...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("gctl %q: exit %d, stderr %q", args, r.code, r.stderr)
	}
	return r.stdout
}

func TestGctlProjectList(t *testing.T) {
	f := accountingFake(t, false) // reading needs no rights
	golden(t, "gctl-project-list", gctlOK(t, f, "project", "list"))
	golden(t, "gctl-project-show", gctlOK(t, f, "project", "list", "bio")+"\n"+gctlOK(t, f, "project", "list", "default"))
	if r := gctl(f, "project", "list", "nope"); r.code != 1 || r.stderr != "gctl: project \"nope\" does not exist\n" {
		t.Errorf("unknown project: exit %d %q", r.code, r.stderr)
	}
}

func TestGctlProjectAdd(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want api.Project
	}{
		{[]string{"phys"}, api.Project{Name: "phys", Priority: api.DefaultPriority}},
		{[]string{"phys", "--owner", "dave", "--members", "dave, @physics,dave", "--priority", "0", "--volumes", "data:ro",
			"--max-cpus", "16", "--max-memory", "32G", "--max-gpus", "1", "--max-jobs", "4"},
			api.Project{Name: "phys", Owner: "dave", Members: []string{"dave", "@physics"}, Priority: 0, Volumes: []string{"data:ro"},
				Limit: api.Limit{CPUs: 16, Memory: 32 * gib, GPUs: 1, Jobs: 4}}},
		// Options before the name, Grid Engine memory units.
		{[]string{"--max-memory", "1500m", "--priority=100", "phys"}, api.Project{Name: "phys", Priority: 100, Limit: api.Limit{Memory: 1500e6}}},
	} {
		f := accountingFake(t, true)
		out := gctlOK(t, f, append([]string{"project", "add"}, tc.args...)...)
		if out != "project phys added\n" {
			t.Errorf("gctl project add %q printed %q", tc.args, out)
		}
		if len(f.projectWrites) != 1 || !reflect.DeepEqual(f.projectWrites[0], tc.want) {
			t.Errorf("gctl project add %q wrote %+v; want %+v", tc.args, f.projectWrites, tc.want)
		}
	}
	f := accountingFake(t, true)
	if r := gctl(f, "project", "add", "bio"); r.code != 1 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("adding an existing project: exit %d %q", r.code, r.stderr)
	}
}

func TestGctlProjectSetChangesOnlyWhatIsGiven(t *testing.T) {
	bio := func(change func(p *api.Project)) api.Project {
		p := accountingFake(t, true).projects["bio"].Clone()
		change(p)
		return *p
	}
	for _, tc := range []struct {
		args []string
		want api.Project
	}{
		{[]string{"--owner", "bob"}, bio(func(p *api.Project) { p.Owner = "bob" })},
		{[]string{"--priority", "5"}, bio(func(p *api.Project) { p.Priority = 5 })},
		{[]string{"--members", ""}, bio(func(p *api.Project) { p.Members = nil })},
		{[]string{"--members", "x,@y"}, bio(func(p *api.Project) { p.Members = []string{"x", "@y"} })},
		{[]string{"--volumes", ""}, bio(func(p *api.Project) { p.Volumes = nil })},
		{[]string{"--max-cpus", "0"}, bio(func(p *api.Project) { p.Limit.CPUs = 0 })},
		{[]string{"--max-memory", "0", "--max-jobs", "20"}, bio(func(p *api.Project) { p.Limit.Memory, p.Limit.Jobs = 0, 20 })},
		{[]string{"--max-gpus", "4"}, bio(func(p *api.Project) { p.Limit.GPUs = 4 })},
		{[]string{"--add-member", "bob", "--add-member", "@lab,alice"}, bio(func(p *api.Project) { p.Members = []string{"alice", "@bioinfo", "bob", "@lab"} })},
		{[]string{"--remove-member", "alice"}, bio(func(p *api.Project) { p.Members = []string{"@bioinfo"} })},
		{[]string{"--members", "x", "--add-member", "y", "--remove-member", "x"}, bio(func(p *api.Project) { p.Members = []string{"y"} })},
	} {
		f := accountingFake(t, true)
		args := append([]string{"project", "set", "bio"}, tc.args...)
		if out := gctlOK(t, f, args...); out != "project bio changed\n" {
			t.Errorf("gctl %q printed %q", args, out)
		}
		if len(f.projectWrites) != 1 || !reflect.DeepEqual(f.projectWrites[0], tc.want) {
			t.Errorf("gctl %q wrote\n%+v; want\n%+v", args, f.projectWrites, tc.want)
		}
	}
	// The default project: priority and limits, not members.
	f := accountingFake(t, true)
	gctlOK(t, f, "project", "set", "default", "--priority", "30", "--max-cpus", "8")
	if got := f.projects["default"]; got.Priority != 30 || got.Limit.CPUs != 8 || got.Members != nil {
		t.Errorf("default project = %+v", got)
	}
	// Removing a non-member is refused, and nothing is written.
	if r := gctl(f, "project", "set", "bio", "--remove-member", "zed"); r.code != 1 || !strings.Contains(r.stderr, "zed is not a member of project bio") || f.writes() != 1 {
		t.Errorf("removing a non-member: exit %d %q, %d writes", r.code, r.stderr, f.writes())
	}
}

func TestGctlProjectRm(t *testing.T) {
	f := accountingFake(t, true)
	if out := gctlOK(t, f, "project", "rm", "chem"); out != "project chem removed\n" {
		t.Errorf("printed %q", out)
	}
	if _, ok := f.projects["chem"]; ok || len(f.removedProject) != 1 {
		t.Errorf("chem not removed: %v", f.removedProject)
	}
	if r := gctl(f, "project", "rm", "default"); r.code != 1 || r.stderr != "gctl: the default project cannot be removed\n" {
		t.Errorf("removing the default project: exit %d %q", r.code, r.stderr)
	}
}

func TestGctlQuotaSet(t *testing.T) {
	for _, tc := range []struct {
		args []string
		user bool
		want api.Quota
		out  string
	}{
		{[]string{"-u", "alice", "--cpu", "100"}, true, api.Quota{CPUSeconds: 360000}, "quota of user alice: cpu=100h\n"},
		{[]string{"-u", "dave", "--memory", "2"}, true, api.Quota{MemorySeconds: 2 * gib * 3600}, "quota of user dave: memory=2G·h\n"},
		{[]string{"--user", "bob", "--gpu", "0.5", "--cpu", "0"}, true, api.Quota{GPUSeconds: 1800}, "quota of user bob: gpu=0.5h\n"},
		{[]string{"-u", "bob", "--cpu", "0", "--gpu", "0"}, true, api.Quota{}, "quota of user bob: NONE\n"},
		{[]string{"-P", "bio", "--cpu", "12.5", "--memory", "0"}, false, api.Quota{CPUSeconds: 45000, GPUSeconds: 36000}, "quota of project bio: cpu=12.5h,gpu=10h\n"},
	} {
		f := accountingFake(t, true)
		args := append([]string{"quota", "set"}, tc.args...)
		if out := gctlOK(t, f, args...); out != tc.out {
			t.Errorf("gctl %q printed %q; want %q", args, out, tc.out)
		}
		var got api.Quota
		switch {
		case tc.user && len(f.accountWrites) == 1 && len(f.projectWrites) == 0:
			got = f.accountWrites[0].Quota
			if a := f.accountWrites[0]; a.User != tc.args[1] || a.Priority != map[string]int{"alice": 60, "bob": 50, "dave": 50}[a.User] {
				t.Errorf("gctl %q wrote account %+v: the priority must be kept", args, a)
			}
		case !tc.user && len(f.projectWrites) == 1 && len(f.accountWrites) == 0:
			got = f.projectWrites[0].Quota
			if p := f.projectWrites[0]; p.Owner != "alice" || p.Limit.CPUs != 32 {
				t.Errorf("gctl %q changed more than the quota: %+v", args, p)
			}
		default:
			t.Fatalf("gctl %q wrote accounts %v, projects %v", args, f.accountWrites, f.projectWrites)
		}
		if got != tc.want {
			t.Errorf("gctl %q stored %+v; want %+v", args, got, tc.want)
		}
	}
}

func TestGctlQuotaShow(t *testing.T) {
	f := accountingFake(t, false)
	all := gctlOK(t, f, "quota", "show")
	golden(t, "gctl-quota-show", all)
	for _, want := range []string{
		"quota period: 2026-11-01 00:00 UTC to 2026-12-01 00:00 UTC (resets in 7d 4h)\n",
		"user bob     cpu       0.42h    0.33h    0h (spent)\n",
		"user bob     gpu       1h       1h       0h (spent)\n",
		"project bio  cpu       100h     100h     0.001h\n", // 3.6 cpu·seconds left: not spent
	} {
		if !strings.Contains(all, want) {
			t.Errorf("gctl quota show lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "carol") || strings.Contains(all, "alice  memory") {
		t.Errorf("gctl quota show lists what has no budget:\n%s", all)
	}
	for _, tc := range []struct {
		args []string
		want []string
		not  []string
	}{
		{[]string{"-u", "bob"}, []string{"user bob"}, []string{"alice", "bio"}},
		{[]string{"-P", "bio"}, []string{"project bio  cpu       100h     100h     0.001h\n", "project bio  memory    24.8G·h  2000G·h  1975.2G·h\n"}, []string{"user"}},
		{[]string{"-u", "carol"}, []string{"user carol has no quota\n"}, []string{"period"}},
		{[]string{"--project", "chem"}, []string{"project chem has no quota\n"}, nil},
	} {
		out := gctlOK(t, f, append([]string{"quota", "show"}, tc.args...)...)
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("gctl quota show %q lacks %q:\n%s", tc.args, w, out)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(out, w) {
				t.Errorf("gctl quota show %q shows %q:\n%s", tc.args, w, out)
			}
		}
	}
	f.quotas.Quotas = nil
	if out := gctlOK(t, f, "quota", "show"); out != "no quota is set\n" {
		t.Errorf("no quota at all: %q", out)
	}
}

func TestGctlUsage(t *testing.T) {
	f := accountingFake(t, false)
	golden(t, "gctl-usage", gctlOK(t, f, "usage"))
	out := gctlOK(t, f, "usage", "-u", "bob")
	if !strings.Contains(out, "\nbob ") || strings.Contains(out, "alice") || strings.Contains(out, "PROJECT") {
		t.Errorf("gctl usage -u bob:\n%s", out)
	}
	out = gctlOK(t, f, "usage", "-P", "bio")
	if !strings.Contains(out, "\nbio ") || strings.Contains(out, "default") || strings.Contains(out, "USER") {
		t.Errorf("gctl usage -P bio:\n%s", out)
	}
	if out := gctlOK(t, f, "usage", "-u", "zed"); out != "usage over the last 30d, half-life 7d\nuser zed: no usage yet\n" {
		t.Errorf("gctl usage -u zed: %q", out)
	}
	f.usage = api.UsageReport{Window: 36 * 3600}
	if out := gctlOK(t, f, "usage"); out != "usage over the last 1d12h\nusers: no usage yet\n\nprojects: no usage yet\n" {
		t.Errorf("no usage at all: %q", out)
	}
}

func TestGctlUser(t *testing.T) {
	f := accountingFake(t, true)
	golden(t, "gctl-user-list", gctlOK(t, f, "user", "list"))
	if out := gctlOK(t, f, "user", "set", "alice", "--priority", "90"); out != "user alice changed\n" {
		t.Errorf("printed %q", out)
	}
	want := api.Account{User: "alice", Priority: 90, Quota: api.Quota{CPUSeconds: 50 * 3600}}
	if len(f.accountWrites) != 1 || f.accountWrites[0] != want {
		t.Errorf("wrote %+v; want %+v (quota kept)", f.accountWrites, want)
	}
	gctlOK(t, f, "user", "set", "--priority", "0", "newbie")
	if a := f.accounts["newbie"]; a == nil || a.Priority != 0 {
		t.Errorf("newbie = %+v", a)
	}
	if out := gctlOK(t, newFake("x"), "user", "list"); !strings.HasPrefix(out, "no user has a priority or quota set") {
		t.Errorf("no accounts: %q", out)
	}
}

// Bad command lines are usage errors (exit 2) and nothing is written.
func TestGctlBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"project", "add", "x", "--bogus"}, "unknown option -bogus"},
		{[]string{"project", "add"}, "missing NAME"},
		{[]string{"project", "add", "x", "y"}, `unexpected argument "y"`},
		{[]string{"project", "add", "1bad"}, `project name "1bad"`},
		{[]string{"project", "add", "x", "--priority", "101"}, "--priority 101: want a priority from 0 to 100"},
		{[]string{"project", "add", "x", "--priority", "-1"}, "--priority -1"},
		{[]string{"project", "add", "x", "--priority", "high"}, `--priority "high": want a whole number`},
		{[]string{"project", "add", "x", "--max-cpus", "-2"}, "--max-cpus -2: want 0 (no limit) or more"},
		{[]string{"project", "add", "x", "--max-memory", "lots"}, "--max-memory"},
		{[]string{"project", "add", "x", "--members", "a,b/c"}, `"b/c" is neither a user name nor @group`},
		{[]string{"project", "add", "x", "--members", "@"}, `"@" is neither a user name nor @group`},
		{[]string{"project", "set", "bio"}, "nothing to change: give at least one of --owner, --members"},
		{[]string{"project", "set", "bio", "--add-member", ""}, "--add-member: name a user or @group"},
		{[]string{"project", "set", "default", "--add-member", "x"}, "every user belongs to the default project"},
		{[]string{"project", "set"}, "missing NAME"},
		{[]string{"project", "rm"}, "missing NAME"},
		{[]string{"project", "rm", "a", "b"}, `unexpected argument "b"`},
		{[]string{"project", "list", "a", "b"}, `unexpected argument "b"`},
		{[]string{"project", "frob"}, `unknown command "frob"`},
		{[]string{"quota", "set", "-u", "alice", "--cpu", "-1"}, "--cpu -1: want a number of hours of 0 (no budget) or more"},
		{[]string{"quota", "set", "-u", "alice", "--memory", "NaN"}, "--memory NaN"},
		{[]string{"quota", "set", "-u", "alice", "-P", "bio", "--cpu", "1"}, "give -u USER or -P PROJECT, not both"},
		{[]string{"quota", "set", "--cpu", "1"}, "whose quota? give -u USER or -P PROJECT"},
		{[]string{"quota", "set", "-u", "alice"}, "nothing to change: give at least one of --cpu, --memory, --gpu"},
		{[]string{"quota", "set", "-u", "", "--cpu", "1"}, "-u needs a name"},
		{[]string{"quota", "set", "-P", "default", "--cpu", "1"}, "the default project has no quota"},
		{[]string{"quota", "set", "-u", "alice", "--cpu", "1", "extra"}, `unexpected argument "extra"`},
		{[]string{"quota", "show", "-u", "a", "-P", "b"}, "not both"},
		{[]string{"quota", "show", "x"}, `unexpected argument "x"`},
		{[]string{"usage", "x"}, `unexpected argument "x"`},
		{[]string{"usage", "--bogus"}, "unknown option -bogus"},
		{[]string{"user", "set", "alice"}, "nothing to change: give --priority"},
		{[]string{"user", "set", "--priority", "5"}, "missing USER"},
		{[]string{"user", "set", "alice", "--priority", "101"}, "want a priority from 0 to 100"},
		{[]string{"user", "list", "x"}, `unexpected argument "x"`},
		{[]string{"maintenance", "--bogus"}, "unknown option -bogus"},
	} {
		f := accountingFake(t, true)
		r := gctl(f, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "--help' for more information") {
			t.Errorf("gctl %q: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
		if r.stdout != "" || f.writes() != 0 {
			t.Errorf("gctl %q: printed %q and wrote %d times; want nothing", tc.args, r.stdout, f.writes())
		}
	}
	// The other commands' bad options are usage errors too.
	if r := gstat(newFake("a"), "-bogus"); r.code != 2 || r.stdout != "" || r.stderr != "gstat: unknown option -bogus\nTry 'gstat --help' for more information.\n" {
		t.Errorf("gstat -bogus: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	// The hint names the subcommand.
	if r := gctl(accountingFake(t, true), "quota", "set"); !strings.HasSuffix(r.stderr, "Try 'gctl quota set --help' for more information.\n") {
		t.Errorf("hint: %q", r.stderr)
	}
}

// Changes are the server's to authorize: gctl prints its refusal.
func TestGctlDenied(t *testing.T) {
	f := accountingFake(t, false)
	for _, args := range [][]string{
		{"project", "add", "x"}, {"project", "set", "bio", "--priority", "1"}, {"project", "rm", "bio"},
		{"quota", "set", "-u", "alice", "--cpu", "1"}, {"user", "set", "alice", "--priority", "1"},
	} {
		r := gctl(f, args...)
		if r.code != 1 || !strings.HasPrefix(r.stderr, "gctl: root may not change") || !strings.HasSuffix(r.stderr, ": only admins may\n") || r.stdout != "" {
			t.Errorf("gctl %q as a user: exit %d, %q %q", args, r.code, r.stdout, r.stderr)
		}
	}
	if f.writes() != 0 {
		t.Errorf("%d writes went through", f.writes())
	}
}

func TestGctlSubcommandHelp(t *testing.T) {
	f := newFake("alice")
	for _, args := range [][]string{
		{"project"}, {"project", "--help"}, {"project", "list", "--help"}, {"project", "add", "--help"},
		{"project", "set", "-h"}, {"project", "rm", "--help"}, {"quota", "--help"}, {"quota", "show", "--help"},
		{"quota", "set", "--help"}, {"usage", "--help"}, {"user", "--help"}, {"user", "list", "--help"},
		{"user", "set", "alice", "--help"},
	} {
		r := gctl(f, args...)
		var words []string
		for _, a := range args {
			if !slices.Contains([]string{"--help", "-h", "alice"}, a) {
				words = append(words, a)
			}
		}
		name := "gctl " + strings.Join(words, " ")
		if r.code != 0 || !strings.Contains(r.stdout, "USAGE:\n   "+name) || strings.Contains(r.stdout, "(default: 0)") {
			t.Errorf("gctl %q: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
	if r := gctl(f, "--help"); !strings.Contains(r.stdout, "project") || !strings.Contains(r.stdout, "quota") || !strings.Contains(r.stdout, "usage") || !strings.Contains(r.stdout, "user") {
		t.Errorf("gctl --help does not list the commands:\n%s", r.stdout)
	}
}

func TestInterspersed(t *testing.T) {
	cmds := gctlCommands(t.Context(), newFake("a"), nil, nil)
	for _, tc := range []struct{ in, want string }{
		{"project add bio --owner alice --max-cpus -1", "project add --owner alice --max-cpus -1 -- bio"},
		{"project add --owner=alice bio", "project add --owner=alice -- bio"},
		{"project rm -- -odd", "project rm -- -odd"},
		{"quota set -u alice --cpu 3", "quota set -u alice --cpu 3"},
		{"maintenance on -x y", "maintenance on -x y"},
		{"--help project", "--help project"},
		{"project add bio --help", "project add --help"},
		{"alter 12 -pe smp 4 -N x", "alter -pe smp 4 -N x -- 12"}, // "smp 4" is one word
		{"hold 12 -x", "hold 12 -x"},
	} {
		if got := strings.Join(interspersed(cmds, strings.Fields(tc.in)), " "); got != tc.want {
			t.Errorf("interspersed(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestFormats(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{hours(360000), "100"}, {hours(44640), "12.4"}, {hours(1200), "0.33"}, {hours(0), "0"}, {hours(3600 * 1.004), "1"}, {hours(18), "0.005"},
		{compactDuration(30 * 24 * time.Hour), "30d"}, {compactDuration(12 * time.Hour), "12h"}, {compactDuration(36 * time.Hour), "1d12h"},
		{compactDuration(90 * time.Minute), "1h30m"}, {compactDuration(0), "0s"},
		{roughDuration(7*24*time.Hour + 4*time.Hour + 30*time.Minute), "7d 4h"}, {roughDuration(3 * 24 * time.Hour), "3d"},
		{roughDuration(65 * time.Minute), "1h 5m"}, {roughDuration(30 * time.Second), "<1m"}, {roughDuration(-time.Hour), "<1m"},
		{quotaString(api.Quota{}), "NONE"}, {quotaString(api.Quota{CPUSeconds: 360000, MemorySeconds: 2000 * gib * 3600, GPUSeconds: 36000}), "cpu=100h,memory=2000G·h,gpu=10h"},
		{limitString(api.Limit{CPUs: 32, Memory: 64 * gib, GPUs: 2, Jobs: 10}, "-"), "cpus=32,memory=64G,gpus=2,jobs=10"}, {limitString(api.Limit{Jobs: 1}, "-"), "jobs=1"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q; want %q", tc.got, tc.want)
		}
	}
}
