package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/godocker/godocker/api"
)

// Exit statuses shared by the commands.
const (
	exitOK      = 0
	exitFailure = 1   // the request failed; the message says why
	exitUsage   = 2   // bad command line or #$ directive; nothing was sent
	exitRetry   = 25  // the server asked to try again later (Grid Engine's max_u_jobs status)
	exitSignal  = 130 // interrupted by SIGINT
)

// usageError is a mistake on the command line: printed with a hint to
// --help, exit status 2. help names the command whose --help to suggest
// (a gctl subcommand: "gctl project add"); empty, the program's.
type usageError struct{ msg, help string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

// explain is the one place that turns an error from godockerd or the
// client into a sentence for a person and an exit status.
func explain(err error) (msg string, status int) {
	status = exitFailure
	if errors.Is(err, api.ErrUnavailable) {
		status = exitRetry
	}
	var e *api.Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message, status
	}
	switch {
	case errors.Is(err, api.ErrInvalid):
		return "the request is not valid", status
	case errors.Is(err, api.ErrDenied):
		return "permission denied", status
	case errors.Is(err, api.ErrNotFound):
		return "no such job", status
	case errors.Is(err, api.ErrConflict):
		return "not possible in the job's current state", status
	case errors.Is(err, api.ErrUnavailable):
		return "godockerd cannot take this request now; try again later", status
	case errors.Is(err, context.Canceled):
		return "interrupted", status
	}
	return err.Error(), status
}

// finish turns what a command's App returned into an exit status,
// reporting errors nobody has reported yet.
func finish(name string, stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	var ue *usageError
	if errors.As(err, &ue) {
		help := ue.help
		if help == "" {
			help = name
		}
		fmt.Fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n", name, ue.msg, help)
		return exitUsage
	}
	msg, status := explain(err)
	fmt.Fprintf(stderr, "%s: %s\n", name, msg)
	return status
}
