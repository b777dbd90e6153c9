package cli

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/godocker/godocker/api"
)

// jobControl is one of gctl's job control subcommands: the action sent
// and what it says of each job it was applied to.
type jobControl struct {
	name, usage, usageText, action string
	done                           func(j *api.Job) string
}

var jobControls = []jobControl{
	{
		name: "hold", action: api.ControlHold,
		usage:     "hold waiting jobs: they stay hqw until released (Grid Engine's qhold, Slurm's scontrol hold)",
		usageText: "gctl hold ID[.TASK]...",
		done:      func(*api.Job) string { return "held" },
	},
	{
		name: "release", action: api.ControlRelease,
		usage:     "release held jobs: they wait to be scheduled again (qrls, scontrol release)",
		usageText: "gctl release ID[.TASK]...",
		done:      func(*api.Job) string { return "released" },
	},
	{
		name: "suspend", action: api.ControlSuspend,
		usage:     "suspend running jobs: their containers are frozen, keeping their resources (qmod -sj, scontrol suspend)",
		usageText: "gctl suspend ID[.TASK]...",
		done:      func(*api.Job) string { return "suspended" },
	},
	{
		name: "resume", action: api.ControlResume,
		usage:     "resume suspended jobs (qmod -usj, scontrol resume)",
		usageText: "gctl resume ID[.TASK]...",
		done:      func(*api.Job) string { return "resumed" },
	},
	{
		name: "requeue", action: api.ControlRequeue,
		usage:     "put finished or running jobs back in the queue under the same id, as their next attempt (qmod -rj, scontrol requeue)",
		usageText: "gctl requeue ID[.TASK]...",
		done:      func(j *api.Job) string { return fmt.Sprintf("requeued (attempt %d)", requeuedAttempt(j)) },
	},
}

// requeuedAttempt is the attempt a requeued job will run as: a running
// job is killed first and becomes pending as the next attempt when its
// container has exited; a finished one is pending again at once.
func requeuedAttempt(j *api.Job) int {
	if j.Requeue && j.State.Active() {
		return j.Attempt + 1
	}
	return j.Attempt
}

// controlCommand is gctl hold, release, suspend, resume or requeue.
func (g *ctl) controlCommand(jc jobControl) *ucli.Command {
	return leaf(&ucli.Command{
		Name:      jc.name,
		Usage:     jc.usage,
		UsageText: jc.usageText,
		Action: func(cc *ucli.Context) error {
			if slices.ContainsFunc(cc.Args().Slice(), isHelp) {
				return ucli.ShowSubcommandHelp(cc)
			}
			if _, err := operands(cc, 1, -1, "ID: which jobs?"); err != nil {
				return err
			}
			refs, err := jobRefs(cc.Args().Slice())
			if err != nil {
				return err
			}
			status := exitOK
			for _, ref := range refs {
				j, err := g.c.Control(g.ctx, ref, jc.action)
				if err != nil {
					status = max(status, g.jobFailed(ref, err))
					if g.ctx.Err() != nil {
						break // interrupted: the rest would fail alike
					}
					continue
				}
				fmt.Fprintf(g.out, "job %s %s\n", ref, jc.done(j))
			}
			return exitStatus(status)
		},
	})
}

// isHelp reports whether an operand asks for help: gctl hold 12 --help.
func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

// jobFailed reports on standard error what went wrong with job ref and
// returns the exit status it calls for.
func (g *ctl) jobFailed(ref api.JobRef, err error) int {
	msg, status := explain(err)
	fmt.Fprintf(g.err, "gctl: job %s: %s\n", ref, msg)
	return status
}

// exitStatus ends a command with a status, its errors already reported;
// nil for exitOK.
func exitStatus(status int) error {
	if status == exitOK {
		return nil
	}
	return statusError(status)
}

// statusError is an exit status whose reasons were already reported.
type statusError int

func (e statusError) Error() string { return "exit status " + strconv.Itoa(int(e)) }
func (e statusError) ExitCode() int { return int(e) }

// alterFlags are gctl alter's options: gsub's that a waiting job may
// change.
func alterFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "N", Usage: "the job's `NAME`"},
		&ucli.StringFlag{Name: "pe", Usage: "`NAME N` cpus, as gsub -pe (-pe smp 4)"},
		&ucli.StringSliceFlag{Name: "l", Usage: "resources `key=value`[,...] as gsub -l: h_rt, s_rt (walltime), h_vmem, s_vmem, h_rss, mem_free (memory per slot), mem (whole job), cpu/slots, gpu"},
		&ucli.StringFlag{Name: "p", Usage: "`priority` -1023..1024 (users may only lower it below 0)"},
		&ucli.StringFlag{Name: "q", Aliases: []string{"executor"}, Destination: new(string), Usage: "run on the executor `NAME` instead; '' for the first that takes the job's project"},
		&ucli.StringSliceFlag{Name: "hold_jid", Usage: "wait until the jobs `ID`[,ID...] have ended, instead of what it waited for; NONE or '' for nothing"},
		&ucli.StringSliceFlag{Name: "dependency", Usage: "wait as `TYPE:ID`[:ID...][,...] says, instead of what it waited for; TYPE afterany, afterok or afternotok; '' for nothing"},
	}
}

func (g *ctl) alterCommand() *ucli.Command {
	return leaf(&ucli.Command{
		Name:  "alter",
		Usage: "change a job that has not started: only what the options say (Grid Engine's qalter, Slurm's scontrol update)",
		UsageText: "gctl alter ID[.TASK] [-N NAME] [-pe NAME N] [-l key=value[,...]] [-p PRIORITY]\n" +
			"     [-q EXECUTOR] [-hold_jid ID[,ID...]|NONE] [--dependency TYPE:ID[:ID...][,...]]",
		Flags:  alterFlags(),
		Action: g.alter,
	})
}

func (g *ctl) alter(cc *ucli.Context) error {
	args, err := operands(cc, 1, 1, "ID: which job?")
	if err != nil {
		return err
	}
	refs, err := jobRefs(args)
	if err != nil {
		return err
	}
	if len(refs) > 1 {
		return usagef("alter one job at a time")
	}
	ref := refs[0]
	a, perSlot, err := parseAlter(cc)
	if err != nil {
		return err
	}
	if perSlot != nil {
		// Per-slot memory and the job's own slots, as gsub multiplies them.
		j, err := g.c.Job(g.ctx, ref)
		if err != nil {
			return exitStatus(g.jobFailed(ref, err))
		}
		m := *perSlot * int64(j.CPUs())
		a.Memory = &m
	}
	if _, err := g.c.Alter(g.ctx, ref, *a); err != nil {
		return exitStatus(g.jobFailed(ref, err))
	}
	fmt.Fprintf(g.out, "modified job %s\n", ref)
	return nil
}

// parseAlter reads gctl alter's options into an Alter holding only what
// they change. Per-slot memory asked for without the slots is returned
// apart: it is multiplied by the job's slots, which only the server knows.
func parseAlter(cc *ucli.Context) (a *api.Alter, perSlot *int64, err error) {
	a = &api.Alter{}
	given := false
	for _, f := range alterFlags() {
		given = given || cc.IsSet(f.Names()[0])
	}
	if !given {
		return nil, nil, usagef("nothing to change: give at least one of -N, -pe, -l, -p, -q, -hold_jid, --dependency")
	}
	if cc.IsSet("N") {
		name := strings.TrimSpace(cc.String("N"))
		if name == "" {
			return nil, nil, usagef("-N needs a name")
		}
		a.Name = &name
	}
	if cc.IsSet("pe") {
		n, err := peSlots(cc.String("pe"))
		if err != nil {
			return nil, nil, usagef("%v", err)
		}
		a.CPUs = &n
	}
	if cc.IsSet("l") {
		r, err := parseResources(cc.StringSlice("l"))
		if err != nil {
			return nil, nil, usagef("%v", err)
		}
		if r.image != nil {
			return nil, nil, usagef("-l image: the image of a job cannot be changed; delete the job and submit it again")
		}
		a.Walltime, a.GPUs = r.walltime, r.gpus
		if r.cpus != nil {
			a.CPUs = r.cpus
		}
		slots := 1
		if a.CPUs != nil {
			slots = *a.CPUs
		}
		if r.perSlot != nil && *r.perSlot > 0 && a.CPUs == nil {
			perSlot = r.perSlot // times the job's slots
		} else if m, ok := r.jobMemory(slots); ok {
			a.Memory = &m
		}
	}
	if cc.IsSet("p") {
		n, err := parsePriority(cc.String("p"))
		if err != nil {
			return nil, nil, usagef("%v", err)
		}
		a.Priority = &n
	}
	if cc.IsSet("q") {
		q, err := executorOption(cc.String("q"))
		if err != nil {
			return nil, nil, usagef("%v", err)
		}
		a.Executor = &q
	}
	if cc.IsSet("hold_jid") || cc.IsSet("dependency") {
		deps, err := dependencies(cc.StringSlice("hold_jid"), cc.StringSlice("dependency"))
		if err != nil {
			return nil, nil, usagef("%v", err)
		}
		if deps == nil {
			deps = []api.Dependency{}
		}
		a.Dependencies = &deps
	}
	return a, perSlot, nil
}
