package cli

import (
	"io"

	ucli "github.com/urfave/cli/v2"
)

// newApp builds the urfave/cli application of a command: its help text
// and flags. gsub turns off urfave's -h (Grid Engine's hold) and keeps
// --help.
func newApp(name, usage, description string, flags []ucli.Flag, stdout, stderr io.Writer) *ucli.App {
	return &ucli.App{
		Name:            name,
		Usage:           "",
		UsageText:       usage,
		Description:     description,
		Flags:           flags,
		HideHelp:        true,
		HideHelpCommand: true,
		Writer:          stdout,
		ErrWriter:       stderr,
		ExitErrHandler:  func(*ucli.Context, error) {},
	}
}
