package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/godocker/godocker/api"
)

const gctlUsage = `gctl COMMAND [arguments]`

const gctlDescription = `Controls GoDocker: one command with subcommands, as Grid Engine's qhold,
qrls, qmod, qalter, qconf and Slurm's scontrol, sacctmgr and sshare are
several. Users act on their own jobs, register their SSH keys (gctl key)
and may read projects, quotas and usage; admins act on every job and
change everything. Options may follow
a subcommand's operands: "gctl project add bio --owner alice" is
"gctl project add --owner alice bio".`

// Gctl runs the gctl command with args (without the program name) and
// returns its exit status.
func Gctl(ctx context.Context, c Client, args []string, stdout, stderr io.Writer) int {
	const name = "gctl"
	app := newApp(name, gctlUsage, gctlDescription, []ucli.Flag{
		&ucli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "show this help"},
	}, stdout, stderr)
	app.Usage = "control GoDocker"
	app.HideHelpCommand = false
	app.Commands = gctlCommands(ctx, c, stdout, stderr)
	app.Action = func(cc *ucli.Context) error {
		if cc.Bool("help") || !cc.Args().Present() {
			return ucli.ShowAppHelp(cc)
		}
		return usagef("unknown command %q", cc.Args().First())
	}
	args = interspersed(app.Commands, args)
	return finish(name, stderr, app.Run(append([]string{name}, args...)))
}

// gctlCommands are gctl's subcommands.
func gctlCommands(ctx context.Context, c Client, stdout, stderr io.Writer) []*ucli.Command {
	g := &ctl{ctx: ctx, c: c, out: stdout, err: stderr}
	var cmds []*ucli.Command
	for _, jc := range jobControls {
		cmds = append(cmds, g.controlCommand(jc))
	}
	return append(cmds,
		g.alterCommand(),
		g.keyCommand(),
		leaf(maintenanceCommand(ctx, c, stdout)),
		g.projectCommand(),
		g.quotaCommand(),
		g.statusCommand(),
		g.usageCommand(),
		g.userCommand(),
	)
}

// ctl is what gctl's subcommands share: the request's context, the
// server and where to print.
type ctl struct {
	ctx context.Context
	c   Client
	out io.Writer
	err io.Writer // for what went wrong with one job of several
}

// group completes a subcommand that only holds others (gctl project):
// alone it shows its help, with an unknown word it is a usage error.
func group(cmd *ucli.Command) *ucli.Command {
	cmd.HideHelpCommand = true
	cmd.OnUsageError = flagUsageError
	cmd.Action = func(cc *ucli.Context) error {
		if cc.Args().Present() {
			return &usageError{msg: fmt.Sprintf("unknown command %q", cc.Args().First()), help: cc.Command.HelpName}
		}
		return ucli.ShowSubcommandHelp(cc)
	}
	for i, sub := range cmd.Subcommands {
		cmd.Subcommands[i] = leaf(sub)
	}
	return cmd
}

// leaf completes a subcommand that does the work: a bad option or operand
// is a usage error that points to that subcommand's --help.
func leaf(cmd *ucli.Command) *ucli.Command {
	cmd.OnUsageError = flagUsageError
	action := cmd.Action
	cmd.Action = func(cc *ucli.Context) error {
		err := action(cc)
		var ue *usageError
		if errors.As(err, &ue) && ue.help == "" {
			ue.help = cc.Command.HelpName
		}
		return err
	}
	return cmd
}

// operands returns a subcommand's operands, from lo to hi of them (hi < 0:
// any number), else a usage error naming what is missing.
func operands(cc *ucli.Context, lo, hi int, what string) ([]string, error) {
	args := cc.Args().Slice()
	switch {
	case len(args) < lo:
		return nil, usagef("missing %s", what)
	case hi >= 0 && len(args) > hi:
		return nil, usagef("unexpected argument %q", args[hi])
	}
	return args, nil
}

// interspersed moves the options of a gctl subcommand before its operands,
// so that "gctl project add bio --owner alice" means what it says: Go's
// flag package, which urfave/cli uses, stops at the first operand. After
// "--" every word is an operand; with --help, operands are dropped.
// Subcommands without options of their own (gctl maintenance on
// MESSAGE...) are left alone.
func interspersed(cmds []*ucli.Command, args []string) []string {
	var cmd *ucli.Command
	i := 0
	for ; i < len(args); i++ {
		next := findCommand(cmds, args[i])
		if next == nil {
			break
		}
		cmd, cmds = next, next.Subcommands
	}
	if cmd == nil || len(cmd.Subcommands) > 0 || len(cmd.Flags) == 0 {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		_, isBool := f.(*ucli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	var opts, words []string
	rest := args[i:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if a == "--" {
			words = append(words, rest[j+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			words = append(words, a)
			continue
		}
		opts = append(opts, a)
		name := strings.TrimLeft(a, "-")
		switch {
		case name == "pe" && takesValue[name] && j+2 < len(rest) && !strings.Contains(rest[j+1], " "):
			// Grid Engine's -pe NAME N: two words, one value (as joinPE).
			opts = append(opts, rest[j+1]+" "+rest[j+2])
			j += 2
		case !strings.Contains(name, "=") && takesValue[name] && j+1 < len(rest):
			j++
			opts = append(opts, rest[j])
		}
	}
	out := append(slices.Clone(args[:i]), opts...)
	if slices.ContainsFunc(opts, func(o string) bool { return o == "-h" || strings.TrimLeft(o, "-") == "help" }) {
		// urfave's help would take the first operand for a help topic.
		return out
	}
	if len(words) > 0 {
		out = append(append(out, "--"), words...)
	}
	return out
}

func findCommand(cmds []*ucli.Command, name string) *ucli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

func maintenanceCommand(ctx context.Context, c Client, stdout io.Writer) *ucli.Command {
	show := func(m *api.Maintenance) {
		if m.On {
			fmt.Fprintf(stdout, "maintenance: on (%s)\n", m.Message)
		} else {
			fmt.Fprintln(stdout, "maintenance: off")
		}
	}
	return &ucli.Command{
		Name:      "maintenance",
		Usage:     "show, or (admins) turn on or off, maintenance mode: no new submissions, no job starts, running jobs go on",
		UsageText: "gctl maintenance [status | on [MESSAGE...] | off]",
		Action: func(cc *ucli.Context) error {
			args := cc.Args().Slice()
			if len(args) == 0 {
				args = []string{"status"}
			}
			var m *api.Maintenance
			var err error
			switch args[0] {
			case "status":
				if len(args) > 1 {
					return usagef("maintenance status takes no argument")
				}
				m, err = c.Maintenance(ctx)
			case "on":
				m, err = c.SetMaintenance(ctx, api.Maintenance{On: true, Message: strings.Join(args[1:], " ")})
			case "off":
				if len(args) > 1 {
					return usagef("maintenance off takes no argument")
				}
				m, err = c.SetMaintenance(ctx, api.Maintenance{})
			default:
				return usagef("maintenance %q: want status, on [MESSAGE] or off", args[0])
			}
			if err != nil {
				return err
			}
			show(m)
			return nil
		},
	}
}
