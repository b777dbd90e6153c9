// Command gsub submits a batch job to GoDocker (Grid Engine's qsub).
package main

import (
	"context"
	"os"

	"github.com/godocker/godocker/cli"
	"github.com/godocker/godocker/client"
)

func main() {
	ctx, stop := cli.InterruptContext(context.Background())
	code := cli.Gsub(ctx, client.FromEnv(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
