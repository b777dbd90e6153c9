package cli

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/godocker/godocker/api"
)

// now is the clock of gctl quota show's "resets in"; tests stop it.
var now = time.Now

// ownerFlags are -u USER and -P PROJECT, which name whose quota or usage.
func ownerFlags(what string) []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "u", Aliases: []string{"user"}, Usage: what + " of user `USER`"},
		&ucli.StringFlag{Name: "P", Aliases: []string{"project"}, Usage: what + " of project `PROJECT`"},
	}
}

// quotaOwner reads -u or -P: at most one of them, and one when required.
func quotaOwner(cc *ucli.Context, required bool) (kind, name string, err error) {
	u, p := cc.IsSet("u"), cc.IsSet("P")
	switch {
	case u && p:
		return "", "", usagef("give -u USER or -P PROJECT, not both")
	case u:
		kind, name = api.KindUser, cc.String("u")
	case p:
		kind, name = api.KindProject, cc.String("P")
	case required:
		return "", "", usagef("whose quota? give -u USER or -P PROJECT")
	default:
		return "", "", nil
	}
	if strings.TrimSpace(name) == "" {
		return "", "", usagef("-%s needs a name", map[string]string{api.KindUser: "u", api.KindProject: "P"}[kind])
	}
	return kind, name, nil
}

func (g *ctl) quotaCommand() *ucli.Command {
	return group(&ucli.Command{
		Name:      "quota",
		Usage:     "show the budgets of resource·hours per quota period and what is left; admins set them",
		UsageText: "gctl quota show [-u USER | -P PROJECT] | set (-u USER | -P PROJECT) [--cpu HOURS] [--memory G_HOURS] [--gpu HOURS]",
		Subcommands: []*ucli.Command{
			{
				Name:      "show",
				Usage:     "show the current quota period and every budget set, with what is used and left",
				UsageText: "gctl quota show [-u USER | -P PROJECT]",
				Flags:     ownerFlags("only the budgets"),
				Action:    g.quotaShow,
			},
			{
				Name:      "set",
				Usage:     "admins: set the budgets of a user or project per quota period (0 removes one)",
				UsageText: "gctl quota set (-u USER | -P PROJECT) [--cpu HOURS] [--memory G_HOURS] [--gpu HOURS]",
				Flags: append(ownerFlags("the budgets"),
					&ucli.Float64Flag{Name: "cpu", Usage: "`HOURS` of cpu (cpus × hours held); 0: no budget", DefaultText: "unchanged"},
					&ucli.Float64Flag{Name: "memory", Usage: "`G_HOURS` of memory (G × hours held, G = 1024³ bytes); 0: no budget", DefaultText: "unchanged"},
					&ucli.Float64Flag{Name: "gpu", Usage: "`HOURS` of gpu (gpus × hours held); 0: no budget", DefaultText: "unchanged"},
				),
				Action: g.quotaSet,
			},
		},
	})
}

func (g *ctl) quotaSet(cc *ucli.Context) error {
	if _, err := operands(cc, 0, 0, ""); err != nil {
		return err
	}
	kind, name, err := quotaOwner(cc, true)
	if err != nil {
		return err
	}
	if kind == api.KindProject && name == api.DefaultProject {
		return usagef("the %s project has no quota: every user may always use it", api.DefaultProject)
	}
	// Budgets in resource·seconds, as api.Quota keeps them.
	var changes []func(*api.Quota)
	for _, b := range []struct {
		flag  string
		scale float64
		set   func(*api.Quota, float64)
	}{
		{"cpu", secondsPerHour, func(q *api.Quota, v float64) { q.CPUSeconds = v }},
		{"memory", gibHour, func(q *api.Quota, v float64) { q.MemorySeconds = v }},
		{"gpu", secondsPerHour, func(q *api.Quota, v float64) { q.GPUSeconds = v }},
	} {
		if !cc.IsSet(b.flag) {
			continue
		}
		v := cc.Float64(b.flag)
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return usagef("--%s %s: want a number of hours of 0 (no budget) or more", b.flag, strconv.FormatFloat(v, 'g', -1, 64))
		}
		changes = append(changes, func(q *api.Quota) { b.set(q, v*b.scale) })
	}
	if len(changes) == 0 {
		return usagef("nothing to change: give at least one of --cpu, --memory, --gpu")
	}
	change := func(q *api.Quota) {
		for _, c := range changes {
			c(q)
		}
	}
	var q api.Quota
	switch kind {
	case api.KindUser:
		a, err := g.c.Account(g.ctx, name)
		if err != nil {
			return err
		}
		a.User = name
		change(&a.Quota)
		out, err := g.c.PutAccount(g.ctx, *a)
		if err != nil {
			return err
		}
		q = out.Quota
	default:
		p, err := g.c.Project(g.ctx, name)
		if err != nil {
			return err
		}
		change(&p.Quota)
		out, err := g.c.UpdateProject(g.ctx, *p)
		if err != nil {
			return err
		}
		q = out.Quota
	}
	fmt.Fprintf(g.out, "quota of %s %s: %s\n", kind, name, quotaString(q))
	return nil
}

func (g *ctl) quotaShow(cc *ucli.Context) error {
	if _, err := operands(cc, 0, 0, ""); err != nil {
		return err
	}
	kind, name, err := quotaOwner(cc, false)
	if err != nil {
		return err
	}
	r, err := g.c.Quotas(g.ctx)
	if err != nil {
		return err
	}
	var entries []api.QuotaEntry
	for _, e := range r.Quotas {
		if e.Quota.Set() && (kind == "" || e.Kind == kind && e.Name == name) {
			entries = append(entries, e)
		}
	}
	if len(entries) == 0 {
		if kind == "" {
			fmt.Fprintln(g.out, "no quota is set")
		} else {
			fmt.Fprintf(g.out, "%s %s has no quota\n", kind, name)
		}
		return nil
	}
	const stamp = "2006-01-02 15:04 UTC"
	fmt.Fprintf(g.out, "quota period: %s to %s (resets in %s)\n",
		r.Start.UTC().Format(stamp), r.Resets.UTC().Format(stamp), roughDuration(r.Resets.Sub(now())))
	t := newTable(g.out)
	row(t, "OWNER", "RESOURCE", "USED", "BUDGET", "LEFT")
	for _, e := range entries {
		for _, res := range quotaResources {
			budget := res.get(e.Quota)
			if budget == 0 {
				continue
			}
			used := res.get(e.Used)
			left := res.format(max(budget-used, 0))
			if used >= budget {
				left += " (spent)"
			}
			row(t, e.Kind+" "+e.Name, res.name, res.format(used), res.format(budget), left)
		}
	}
	return t.Flush()
}

func (g *ctl) usageCommand() *ucli.Command {
	return leaf(&ucli.Command{
		Name:      "usage",
		Usage:     "show what each user and project used recently, as fair share weighs it (Slurm's sshare)",
		UsageText: "gctl usage [-u USER] [-P PROJECT]",
		Flags:     ownerFlags("only the usage"),
		Action:    g.usage,
	})
}

func (g *ctl) usage(cc *ucli.Context) error {
	if _, err := operands(cc, 0, 0, ""); err != nil {
		return err
	}
	user, project := cc.String("u"), cc.String("P")
	r, err := g.c.Usage(g.ctx)
	if err != nil {
		return err
	}
	head := "usage over the last " + compactDuration(seconds(r.Window))
	if r.Window <= 0 {
		head = "usage since the start (no reset window)"
	}
	if r.HalfLife > 0 {
		head += ", half-life " + compactDuration(seconds(r.HalfLife))
	}
	fmt.Fprintln(g.out, head)
	showUsers := user != "" || project == ""
	showProjects := project != "" || user == ""
	if showUsers {
		g.usageSection(api.KindUser, user, r.Users)
	}
	if showUsers && showProjects {
		fmt.Fprintln(g.out)
	}
	if showProjects {
		g.usageSection(api.KindProject, project, r.Projects)
	}
	return nil
}

// usageSection prints the usage table of users or projects (kind), only
// the line of name if it is not empty.
func (g *ctl) usageSection(kind, name string, entries []api.UsageEntry) {
	var rows []api.UsageEntry
	for _, e := range entries {
		if name == "" || e.Name == name {
			rows = append(rows, e)
		}
	}
	if len(rows) == 0 {
		who := kind + "s"
		if name != "" {
			who = kind + " " + name
		}
		fmt.Fprintf(g.out, "%s: no usage yet\n", who)
		return
	}
	t := newTable(g.out)
	row(t, strings.ToUpper(kind), "PRIORITY", "SHARE", "CPU·H", "MEM·GH", "GPU·H", "RUNNING", "CPUS", "MEMORY")
	for _, e := range rows {
		row(t, e.Name, strconv.Itoa(e.Priority), strconv.FormatFloat(e.Share*100, 'f', 1, 64)+"%",
			hours(e.Used.CPUSeconds), gibHours(e.Used.MemorySeconds), hours(e.Used.GPUSeconds),
			strconv.Itoa(e.Running), strconv.Itoa(e.CPUs), api.FormatMemory(e.Memory))
	}
	t.Flush()
}

func (g *ctl) userCommand() *ucli.Command {
	return group(&ucli.Command{
		Name:      "user",
		Usage:     "list users' fair-share priorities and quotas; admins change priorities",
		UsageText: "gctl user list | set USER --priority N",
		Subcommands: []*ucli.Command{
			{
				Name:      "list",
				Usage:     "list the users who have a priority or a quota set (the others have priority 50 and no quota)",
				UsageText: "gctl user list",
				Action:    g.userList,
			},
			{
				Name:      "set",
				Usage:     "admins: set a user's fair-share priority",
				UsageText: "gctl user set USER --priority N",
				Flags: []ucli.Flag{
					&ucli.IntFlag{Name: "priority", Usage: "fair-share `PRIORITY`, 0..100 (a user nobody set one for has 50)", DefaultText: "unchanged"},
				},
				Action: g.userSet,
			},
		},
	})
}

func (g *ctl) userList(cc *ucli.Context) error {
	if _, err := operands(cc, 0, 0, ""); err != nil {
		return err
	}
	as, err := g.c.Accounts(g.ctx)
	if err != nil {
		return err
	}
	if len(as) == 0 {
		fmt.Fprintf(g.out, "no user has a priority or quota set: every user has priority %d and no quota\n", api.DefaultPriority)
		return nil
	}
	sort.SliceStable(as, func(a, b int) bool { return as[a].User < as[b].User })
	t := newTable(g.out)
	row(t, "USER", "PRIORITY", "QUOTA")
	for _, a := range as {
		row(t, a.User, strconv.Itoa(a.Priority), quotaString(a.Quota))
	}
	return t.Flush()
}

func (g *ctl) userSet(cc *ucli.Context) error {
	args, err := operands(cc, 1, 1, "USER: whose priority?")
	if err != nil {
		return err
	}
	user := args[0]
	if !cc.IsSet("priority") {
		return usagef("nothing to change: give --priority")
	}
	p := cc.Int("priority")
	if p < 0 || p > 100 {
		return usagef("--priority %d: want a priority from 0 to 100", p)
	}
	a, err := g.c.Account(g.ctx, user)
	if err != nil {
		return err
	}
	a.User, a.Priority = user, p
	if _, err := g.c.PutAccount(g.ctx, *a); err != nil {
		return err
	}
	fmt.Fprintf(g.out, "user %s changed\n", user)
	return nil
}
