// Command gctl controls GoDocker (maintenance mode, and more to come).
package main

import (
	"context"
	"os"

	"github.com/godocker/godocker/cli"
	"github.com/godocker/godocker/client"
)

func main() {
	ctx, stop := cli.InterruptContext(context.Background())
	code := cli.Gctl(ctx, client.FromEnv(), os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
