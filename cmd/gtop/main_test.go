package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/godocker/godocker/tui"
)

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name        string
		args        []string
		err         error
		status      int
		user        string
		ran         bool
		out, stderr string
	}{
		{name: "default", ran: true},
		{name: "user", args: []string{"-u", "bob"}, ran: true, user: "bob"},
		{name: "everybody", args: []string{"-u", "*"}, ran: true, user: "*"},
		{name: "help", args: []string{"--help"}, out: "d delete"},
		{name: "short help", args: []string{"-h"}, out: "gtop [-u USER|'*']"},
		{name: "failure", err: errors.New("cannot reach godockerd at /run/godocker/godockerd.sock"), ran: true, status: 1, stderr: "gtop: cannot reach godockerd at"},
		{name: "operand", args: []string{"12"}, status: 2, stderr: "gtop: unexpected argument \"12\"\nTry 'gtop --help'"},
		{name: "bad flag", args: []string{"-x"}, status: 2, stderr: "Try 'gtop --help'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			var got *tui.Options
			status := run(context.Background(), tc.args, &stdout, &stderr, func(_ context.Context, o tui.Options) error {
				got = &o
				return tc.err
			})
			if status != tc.status {
				t.Errorf("status %d, want %d; stderr %q", status, tc.status, stderr.String())
			}
			if (got != nil) != tc.ran {
				t.Fatalf("gtop ran: %v, want %v", got != nil, tc.ran)
			}
			if got != nil && got.User != tc.user {
				t.Errorf("user %q, want %q", got.User, tc.user)
			}
			if !strings.Contains(stdout.String(), tc.out) || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stdout %q stderr %q, want %q and %q in them", stdout.String(), stderr.String(), tc.out, tc.stderr)
			}
		})
	}
}
