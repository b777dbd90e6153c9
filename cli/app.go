package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	ucli "github.com/urfave/cli/v2"
)

// newApp builds the urfave/cli application of a command: its help text
// and flags. gsub turns off urfave's -h (Grid Engine's hold) and keeps
// --help. A bad option is a usage error (exit status 2, a hint to --help
// on standard error), not urfave's "Incorrect Usage" on standard output.
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
		OnUsageError:    flagUsageError,
	}
}

// flagUsageError turns an error of urfave's flag parsing into a usage
// error, naming the subcommand whose help to read.
func flagUsageError(cc *ucli.Context, err error, isSubcommand bool) error {
	ue := &usageError{msg: cleanFlagError(err).Error()}
	// Go's flag package: invalid value "x" for flag -priority: parse error
	var value, name string
	if _, serr := fmt.Sscanf(err.Error(), "invalid value %q for flag -%s", &value, &name); serr == nil {
		name = strings.TrimSuffix(name, ":")
		dash := "--"
		if len(name) == 1 {
			dash = "-"
		}
		want := "a number"
		if f := findFlag(cc, name); f != nil {
			switch f.(type) {
			case *ucli.IntFlag, *ucli.Int64Flag, *ucli.UintFlag, *ucli.Uint64Flag:
				want = "a whole number"
			}
		}
		ue.msg = fmt.Sprintf("%s%s %q: want %s", dash, name, value, want)
	}
	if isSubcommand && cc.Command != nil && cc.Command.HelpName != "" {
		ue.help = cc.Command.HelpName
	}
	return ue
}

// findFlag returns the flag of the command cc runs named name, or nil.
func findFlag(cc *ucli.Context, name string) ucli.Flag {
	flags := cc.App.Flags
	if cc.Command != nil && cc.Command.Name != "" {
		flags = cc.Command.Flags
	}
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}
