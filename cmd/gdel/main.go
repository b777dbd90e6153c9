// Command gdel deletes GoDocker jobs (Grid Engine's qdel).
package main

import (
	"context"
	"os"

	"github.com/godocker/godocker/cli"
	"github.com/godocker/godocker/client"
)

func main() {
	ctx, stop := cli.InterruptContext(context.Background())
	code := cli.Gdel(ctx, client.FromEnv(), os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
