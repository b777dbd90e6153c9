//go:build !linux

package docker

import (
	"context"
	"fmt"
	"net"
	"os"

	"github.com/godocker/godocker/executor"
)

// dialInNetns needs Linux's network namespaces.
func dialInNetns(context.Context, *os.File, string) (net.Conn, error) {
	return nil, fmt.Errorf("enter a container's network namespace: %w", executor.ErrUnsupported)
}
