package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/godocker/godocker/api"
)

const gctlUsage = `gctl COMMAND [arguments]`

const gctlDescription = `Controls GoDocker: one command with subcommands, as Grid Engine's qmod,
qhold, qrls and qconf are several. Users act on their own jobs; admins on
everything.`

// Gctl runs the gctl command with args (without the program name) and
// returns its exit status.
func Gctl(ctx context.Context, c Client, args []string, stdout, stderr io.Writer) int {
	const name = "gctl"
	app := newApp(name, gctlUsage, gctlDescription, []ucli.Flag{
		&ucli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "show this help"},
	}, stdout, stderr)
	app.Usage = "control GoDocker"
	app.HideHelpCommand = false
	app.Commands = []*ucli.Command{maintenanceCommand(ctx, c, stdout)}
	app.Action = func(cc *ucli.Context) error {
		if cc.Bool("help") || !cc.Args().Present() {
			return ucli.ShowAppHelp(cc)
		}
		return usagef("unknown command %q", cc.Args().First())
	}
	return finish(name, stderr, app.Run(append([]string{name}, args...)))
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
		Usage:     "show, or (admins) turn on or off, maintenance mode: no new submissions, running jobs go on",
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
