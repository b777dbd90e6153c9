package cli

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/godocker/godocker/api"
)

// projectCommand is gctl project: Grid Engine's qconf -sprjl, -sprj,
// -aprj, -mprj and -dprj.
func (g *ctl) projectCommand() *ucli.Command {
	return group(&ucli.Command{
		Name:      "project",
		Usage:     "list and show projects; admins add, change and remove them",
		UsageText: "gctl project list [NAME] | add NAME [options] | set NAME [options] | rm NAME",
		Subcommands: []*ucli.Command{
			{
				Name:      "list",
				Usage:     "list every project, or show one in detail (Grid Engine's qconf -sprjl, -sprj)",
				UsageText: "gctl project list [NAME]",
				Action:    g.projectList,
			},
			{
				Name:  "add",
				Usage: "admins: create a project (qconf -aprj)",
				UsageText: "gctl project add NAME [--owner USER] [--members USER,@GROUP,...] [--priority N]\n" +
					"     [--volumes NAME[:ro],...] [--max-cpus N] [--max-memory SIZE] [--max-gpus N] [--max-jobs N]",
				Flags:  projectFlags(true),
				Action: g.projectAdd,
			},
			{
				Name:  "set",
				Usage: "admins: change what the options say of a project, and nothing else (qconf -mprj)",
				UsageText: "gctl project set NAME [--owner USER] [--members LIST] [--add-member M]... [--remove-member M]...\n" +
					"     [--priority N] [--volumes LIST] [--max-cpus N] [--max-memory SIZE] [--max-gpus N] [--max-jobs N]",
				Flags:  projectFlags(false),
				Action: g.projectSet,
			},
			{
				Name:      "rm",
				Usage:     "admins: remove a project no waiting or running job uses (qconf -dprj)",
				UsageText: "gctl project rm NAME",
				Action:    g.projectRm,
			},
		},
	})
}

// projectFlags are the options of gctl project add (add) and set. What
// set is not told stays as it is.
func projectFlags(add bool) []ucli.Flag {
	unset, noLimit := "unchanged", "unchanged"
	if add {
		unset, noLimit = "none", "no limit"
	}
	flags := []ucli.Flag{
		&ucli.StringFlag{Name: "owner", Usage: "`USER` to ask about the project (informative)", DefaultText: unset},
		&ucli.StringFlag{Name: "members", Usage: "who may submit to it: `USER`,@GROUP,...; \"\" for nobody", DefaultText: unset},
		&ucli.IntFlag{Name: "priority", Usage: "fair-share `PRIORITY`, 0..100", DefaultText: "unchanged"},
		&ucli.StringFlag{Name: "volumes", Usage: "site volumes mounted in each of its jobs: `NAME`[:ro],...; \"\" for none", DefaultText: unset},
		&ucli.IntFlag{Name: "max-cpus", Usage: "its running jobs hold at most `N` cpus at once; 0: no limit", DefaultText: noLimit},
		&ucli.StringFlag{Name: "max-memory", Usage: "... at most `SIZE` of memory (e.g. 64G); 0: no limit", DefaultText: noLimit},
		&ucli.IntFlag{Name: "max-gpus", Usage: "... at most `N` gpus; 0: no limit", DefaultText: noLimit},
		&ucli.IntFlag{Name: "max-jobs", Usage: "at most `N` of its jobs run at once; 0: no limit", DefaultText: noLimit},
	}
	if add {
		flags[2] = &ucli.IntFlag{Name: "priority", Usage: "fair-share `PRIORITY`, 0..100", Value: api.DefaultPriority}
	} else {
		flags = append(flags,
			&ucli.StringSliceFlag{Name: "add-member", Usage: "add `USER` or @GROUP to the members (repeatable)"},
			&ucli.StringSliceFlag{Name: "remove-member", Usage: "remove `USER` or @GROUP from the members (repeatable)"},
		)
	}
	return flags
}

// projectFlagNames are the options that change a project, in the order
// the help lists them.
var projectFlagNames = []string{"owner", "members", "add-member", "remove-member", "priority", "volumes", "max-cpus", "max-memory", "max-gpus", "max-jobs"}

// projectEdit is what gctl project add or set was told to change; nil
// fields were not given.
type projectEdit struct {
	owner            *string
	members, volumes *[]string
	add, remove      []string
	priority         *int
	cpus, gpus, jobs *int
	memory           *int64
	given            bool // any option at all
}

// parseProjectEdit reads the options of gctl project add or set. It asks
// nothing of the server: a bad value is a usage error before anything is
// sent.
func parseProjectEdit(cc *ucli.Context) (*projectEdit, error) {
	e := &projectEdit{}
	set := func(name string) bool {
		if cc.IsSet(name) {
			e.given = true
			return true
		}
		return false
	}
	if set("owner") {
		v := strings.TrimSpace(cc.String("owner"))
		e.owner = &v
	}
	if set("members") {
		m, err := memberList("--members", cc.String("members"))
		if err != nil {
			return nil, err
		}
		e.members = &m
	}
	for _, name := range []string{"add-member", "remove-member"} {
		if !set(name) {
			continue
		}
		m, err := memberList("--"+name, strings.Join(cc.StringSlice(name), ","))
		if err != nil {
			return nil, err
		}
		if len(m) == 0 {
			return nil, usagef("--%s: name a user or @group", name)
		}
		if name == "add-member" {
			e.add = m
		} else {
			e.remove = m
		}
	}
	if set("priority") {
		p := cc.Int("priority")
		if p < 0 || p > 100 {
			return nil, usagef("--priority %d: want a priority from 0 to 100", p)
		}
		e.priority = &p
	}
	if set("volumes") {
		v := splitComma(cc.String("volumes"))
		e.volumes = &v
	}
	for _, lim := range []struct {
		name string
		dst  **int
	}{{"max-cpus", &e.cpus}, {"max-gpus", &e.gpus}, {"max-jobs", &e.jobs}} {
		if !set(lim.name) {
			continue
		}
		n := cc.Int(lim.name)
		if n < 0 {
			return nil, usagef("--%s %d: want 0 (no limit) or more", lim.name, n)
		}
		*lim.dst = &n
	}
	if set("max-memory") {
		m, err := api.ParseMemory(cc.String("max-memory"))
		if err != nil {
			return nil, usagef("--max-memory: %v", err)
		}
		e.memory = &m
	}
	return e, nil
}

// apply changes p as e says. Removing somebody who is not a member is an
// error: it is most likely a typing mistake.
func (e *projectEdit) apply(p *api.Project) error {
	if p.Name == api.DefaultProject && (e.members != nil || e.add != nil || e.remove != nil) {
		return usagef("every user belongs to the %s project: its members cannot be changed", api.DefaultProject)
	}
	if e.owner != nil {
		p.Owner = *e.owner
	}
	if e.members != nil {
		p.Members = *e.members
	}
	for _, m := range e.add {
		if !slices.Contains(p.Members, m) {
			p.Members = append(p.Members, m)
		}
	}
	for _, m := range e.remove {
		i := slices.Index(p.Members, m)
		if i < 0 {
			return fmt.Errorf("%s is not a member of project %s (members: %s); nothing changed", m, p.Name, listOr(p.Members, "none"))
		}
		p.Members = slices.Delete(p.Members, i, i+1)
	}
	if e.priority != nil {
		p.Priority = *e.priority
	}
	if e.volumes != nil {
		p.Volumes = *e.volumes
	}
	if e.cpus != nil {
		p.Limit.CPUs = *e.cpus
	}
	if e.memory != nil {
		p.Limit.Memory = *e.memory
	}
	if e.gpus != nil {
		p.Limit.GPUs = *e.gpus
	}
	if e.jobs != nil {
		p.Limit.Jobs = *e.jobs
	}
	return nil
}

// splitComma splits a comma-separated list, dropping blanks and empty
// items: "" is the empty list.
func splitComma(s string) []string {
	var out []string
	for _, it := range strings.Split(s, ",") {
		if it = strings.TrimSpace(it); it != "" && !slices.Contains(out, it) {
			out = append(out, it)
		}
	}
	return out
}

// memberList reads a list of members: user names and @groups.
func memberList(option, s string) ([]string, error) {
	m := splitComma(s)
	for _, it := range m {
		if it == "@" || strings.ContainsAny(it, " \t\n:/") {
			return nil, usagef("%s: %q is neither a user name nor @group", option, it)
		}
	}
	return m, nil
}

// projectName reads the one NAME operand of gctl project add, set and rm.
func projectName(cc *ucli.Context) (string, error) {
	args, err := operands(cc, 1, 1, "NAME: which project?")
	if err != nil {
		return "", err
	}
	name := args[0]
	if !api.ProjectNamePattern.MatchString(name) {
		return "", usagef("project name %q: want a letter, then up to 63 letters, digits, '_', '.' or '-'", name)
	}
	return name, nil
}

func (g *ctl) projectList(cc *ucli.Context) error {
	args, err := operands(cc, 0, 1, "")
	if err != nil {
		return err
	}
	if len(args) == 1 {
		p, err := g.c.Project(g.ctx, args[0])
		if err != nil {
			return err
		}
		writeProject(g, p)
		return nil
	}
	ps, err := g.c.Projects(g.ctx)
	if err != nil {
		return err
	}
	sort.SliceStable(ps, func(a, b int) bool { return ps[a].Name < ps[b].Name })
	t := newTable(g.out)
	row(t, "NAME", "PRIORITY", "OWNER", "MEMBERS", "LIMIT", "VOLUMES")
	for _, p := range ps {
		row(t, p.Name, strconv.Itoa(p.Priority), orDash(p.Owner), members(p, "-"), limitString(p.Limit, "-"), listOr(p.Volumes, "-"))
	}
	return t.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeProject prints one project as Grid Engine's qconf -sprj does: a
// "key value" line per attribute, NONE for an empty value.
func writeProject(g *ctl, p *api.Project) {
	none := func(s string) string {
		if s == "" {
			return "NONE"
		}
		return s
	}
	for _, kv := range [][2]string{
		{"name", p.Name},
		{"owner", none(p.Owner)},
		{"priority", strconv.Itoa(p.Priority)},
		{"members", members(p, "NONE")},
		{"volumes", listOr(p.Volumes, "NONE")},
		{"limit", limitString(p.Limit, "NONE")},
		{"quota", quotaString(p.Quota)},
	} {
		fmt.Fprintf(g.out, "%-9s %s\n", kv[0], kv[1])
	}
}

func (g *ctl) projectAdd(cc *ucli.Context) error {
	name, err := projectName(cc)
	if err != nil {
		return err
	}
	e, err := parseProjectEdit(cc)
	if err != nil {
		return err
	}
	p := api.Project{Name: name, Priority: api.DefaultPriority}
	if err := e.apply(&p); err != nil {
		return err
	}
	if _, err := g.c.CreateProject(g.ctx, p); err != nil {
		return err
	}
	fmt.Fprintf(g.out, "project %s added\n", name)
	return nil
}

func (g *ctl) projectSet(cc *ucli.Context) error {
	name, err := projectName(cc)
	if err != nil {
		return err
	}
	e, err := parseProjectEdit(cc)
	if err != nil {
		return err
	}
	if !e.given {
		return usagef("nothing to change: give at least one of --%s", strings.Join(projectFlagNames, ", --"))
	}
	p, err := g.c.Project(g.ctx, name)
	if err != nil {
		return err
	}
	if err := e.apply(p); err != nil {
		return err
	}
	if _, err := g.c.UpdateProject(g.ctx, *p); err != nil {
		return err
	}
	fmt.Fprintf(g.out, "project %s changed\n", name)
	return nil
}

func (g *ctl) projectRm(cc *ucli.Context) error {
	name, err := projectName(cc)
	if err != nil {
		return err
	}
	if err := g.c.DeleteProject(g.ctx, name); err != nil {
		return err
	}
	fmt.Fprintf(g.out, "project %s removed\n", name)
	return nil
}
