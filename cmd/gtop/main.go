// Command gtop is GoDocker's full-screen live queue monitor: the queue,
// kept up to date by the server's event stream, a job's details and live
// output, the nodes, and the users' and projects' usage. The application
// itself is package tui.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/charmbracelet/x/term"
	ucli "github.com/urfave/cli/v2"

	"github.com/godocker/godocker/client"
	"github.com/godocker/godocker/tui"
)

const usageText = `gtop [-u USER|'*']`

const description = `Shows the queue live, full screen, and acts on jobs. It starts on your
pending, held, running and suspended jobs; -u starts on another user's, or
everybody's with '*'.

Keys (? shows them all): up/down move, enter details, l live output,
/ filter, u my jobs/all users, f state, < > sort, i reverse, d delete,
s suspend/resume, h hold/release, r requeue, c ssh command of an
interactive job, 1 2 3 or tab queue/nodes/users, esc back, q quit.
NO_COLOR or TERM=dumb draws without colour. See gtop(1).`

// run runs gtop with args (without the program name) and returns its
// exit status: 0, 1 when gtop failed, 2 for a bad command line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, gtop func(context.Context, tui.Options) error) int {
	status := 0
	app := &ucli.App{
		Name:            "gtop",
		Usage:           "GoDocker's live queue monitor",
		UsageText:       usageText,
		Description:     description,
		HideHelp:        true,
		HideHelpCommand: true,
		Writer:          stdout,
		ErrWriter:       stderr,
		ExitErrHandler:  func(*ucli.Context, error) {},
		OnUsageError: func(_ *ucli.Context, err error, _ bool) error {
			status = 2
			return err
		},
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "u", Usage: "start on the jobs of `USER`; '*' for everybody's (default: yours)"},
			&ucli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "show this help"},
		},
		Action: func(cc *ucli.Context) error {
			if cc.Bool("help") {
				return ucli.ShowAppHelp(cc)
			}
			if cc.Args().Present() {
				status = 2
				return fmt.Errorf("unexpected argument %q", cc.Args().First())
			}
			return gtop(ctx, tui.Options{User: cc.String("u")})
		},
	}
	if err := app.Run(append([]string{"gtop"}, args...)); err != nil {
		fmt.Fprintf(stderr, "gtop: %s\n", err)
		if status == 2 {
			fmt.Fprintln(stderr, "Try 'gtop --help' for more information.")
			return status
		}
		return 1
	}
	return 0
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, func(ctx context.Context, opts tui.Options) error {
		if !term.IsTerminal(os.Stdout.Fd()) {
			return errors.New("standard output is not a terminal (gstat prints the queue for scripts)")
		}
		return tui.Run(ctx, client.FromEnv(), opts)
	})
	stop()
	os.Exit(code)
}
