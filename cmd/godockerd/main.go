// Command godockerd is the GoDocker server: the API on a unix socket, the
// scheduler and the watcher, in one process.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/godocker/godocker/config"
	"github.com/godocker/godocker/server"
	"github.com/godocker/godocker/sshgw/sftpd"

	_ "github.com/godocker/godocker/executor/docker" // executor type "docker"
	_ "github.com/godocker/godocker/executor/sim"    // executor type "sim"
	_ "github.com/godocker/godocker/executor/swarm"  // executor type "swarm"
	_ "github.com/godocker/godocker/store/mongo"     // store driver "mongo"
	_ "github.com/godocker/godocker/store/sqlite"    // store driver "sqlite"
)

func main() {
	sftpd.Init() // the gateway's sftp child is this binary
	app := &cli.App{
		Name:  "godockerd",
		Usage: "the GoDocker server: API, scheduler, watcher and SSH gateway",
		Description: `godockerd runs users' batch jobs in containers, as the users who submitted
them. It serves the API on a unix socket (GODOCKER_SOCKET), keeps jobs in its
store and runs them on its executors. With no configuration file it runs the
embedded default: sqlite in /var/lib/godocker, job directories in
/var/lib/godocker/jobs, the local Docker engine, first-in first-out, and the
SSH gateway into interactive jobs on port 2222 (ssh_gateway.listen).
Every key of the file can be overridden by GODOCKER_<KEY> (see godocker.yaml(5)).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, EnvVars: []string{"GODOCKER_CONFIG"},
				Usage: "configuration file (default " + config.DefaultPath + " if it exists)"},
			&cli.StringFlag{Name: "roles",
				Usage: "what this process does, of `api,scheduler,watcher,sshgw` (default: all; the roles key, GODOCKER_ROLES): with several processes on one store and one Redis, one scheduler leads at a time"},
		},
		Action: run,
		Commands: []*cli.Command{{
			Name:   "check-config",
			Usage:  "validate the configuration and print the effective one (file + environment + defaults)",
			Action: checkConfig,
		}},
	}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "godockerd:", err)
		os.Exit(1)
	}
}

func load(c *cli.Context) (*config.Config, error) {
	cfg, err := config.Load(c.String("config"), os.Environ())
	if err != nil || !c.IsSet("roles") {
		return cfg, err
	}
	cfg.Roles = nil
	for _, r := range strings.Split(c.String("roles"), ",") {
		if r = strings.TrimSpace(r); r != "" {
			cfg.Roles = append(cfg.Roles, r)
		}
	}
	return cfg, cfg.Validate()
}

func checkConfig(c *cli.Context) error {
	cfg, err := load(c)
	if err != nil {
		return err
	}
	b, err := cfg.YAML()
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(b)
	return err
}

func run(c *cli.Context) error {
	if c.Args().Present() {
		return fmt.Errorf("unknown command %q (see godockerd --help)", c.Args().First())
	}
	cfg, err := load(c)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	setLibraryLogger(log)
	setRedisLogger(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, closeFn, err := server.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeFn()
	srv.SetDashboard(dashboard(cfg.Socket))
	err = srv.Run(ctx)
	log.Info("godockerd stopped")
	return err
}
