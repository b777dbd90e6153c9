//go:build !linux

package sftpd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// Init must be called first thing in main. On this system, which has no
// SFTP child, it returns at once, unless the process was started as the
// child, in which case it exits with an error.
func Init() {
	if _, ok := os.LookupEnv(envMarker); ok {
		fmt.Fprintln(os.Stderr, childName+": not supported on this system")
		os.Exit(1)
	}
}

// Command returns an error wrapping [errors.ErrUnsupported]: the SFTP
// child needs Linux.
func Command(ctx context.Context, dir string, uid, gid int, groups []int) (*exec.Cmd, error) {
	return nil, fmt.Errorf("sftpd: serve %s: %w (needs Linux)", dir, errors.ErrUnsupported)
}
