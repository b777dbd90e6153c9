package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/godocker/godocker/api"
)

// gsubFlags are qsub's options as GoDocker takes them. Single-dash long
// names work as in Grid Engine (-cwd, -terse, -hold_jid): urfave/cli parses
// with Go's flag package.
func gsubFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "N", Usage: "job `name` (default: the script's file name, STDIN, or the command's)"},
		&ucli.StringFlag{Name: "o", Usage: "stdout `path`, relative to the working directory; a directory gets NAME.oJOB_ID; $JOB_ID $JOB_NAME $USER $HOME are expanded, and $TASK_ID to the task's number in an array"},
		&ucli.StringFlag{Name: "e", Usage: "stderr `path`, as -o (NAME.eJOB_ID)"},
		&ucli.StringFlag{Name: "j", Usage: "`y`: merge stderr into stdout (-e is ignored)"},
		&ucli.BoolFlag{Name: "cwd", Usage: "run in the current directory (default: the job directory)"},
		&ucli.StringFlag{Name: "wd", Usage: "run in `dir` (must be under your home or a mounted volume)"},
		&ucli.StringSliceFlag{Name: "v", Usage: "export `VAR[=value]`[,...] to the job; a bare name takes your current value"},
		&ucli.BoolFlag{Name: "V", Usage: "export your whole environment to the job"},
		&ucli.StringSliceFlag{Name: "l", Usage: "resources `key=value`[,...]: h_rt, s_rt (walltime), h_vmem, s_vmem, h_rss, mem_free (memory per slot), mem (whole job), cpu/slots, gpu/gpus, image"},
		&ucli.StringFlag{Name: "pe", Usage: "parallel environment: -pe `NAME N` grants N cpus (N-M: N)"},
		&ucli.StringFlag{Name: "P", Usage: "`project` to submit to, one you are a member of (default: default; gctl project list)"},
		&ucli.StringFlag{Name: "q", Aliases: []string{"executor"}, Destination: new(string), Usage: "run on the executor `NAME` (Grid Engine's queue; default: the first configured one that takes the project); gstat -q lists its jobs"},
		&ucli.StringFlag{Name: "p", Usage: "`priority` -1023..1024 (users may only lower it below 0)"},
		&ucli.BoolFlag{Name: "h", Usage: "submit on hold (state hqw)"},
		&ucli.StringSliceFlag{Name: "hold_jid", Usage: "wait until the jobs `ID`[,ID...] have ended, however they ended (Slurm's afterany); repeatable"},
		&ucli.StringSliceFlag{Name: "hold_jid_ad", Usage: "array tasks wait task by task: task N waits for task N of each array `ID`[,ID...] to end (with -t)"},
		&ucli.StringSliceFlag{Name: "dependency", Usage: "Slurm's dependencies `TYPE:ID`[:ID...][,...]: TYPE afterany (ended), afterok (exited 0) or afternotok (ended otherwise)"},
		&ucli.StringFlag{Name: "t", Usage: "an array of tasks `FIRST-LAST[:STEP]` (or N: the one task N), numbers from 1; each task sees its number in $SGE_TASK_ID"},
		&ucli.StringFlag{Name: "tc", Usage: "run at most `N` tasks of the array at once (with -t)"},
		&ucli.BoolFlag{Name: "terse", Usage: "print only the job id (an array's ID.FIRST-LAST:STEP)"},
		&ucli.StringFlag{Name: "sync", Usage: "`y`: wait for the job to end and exit with its exit code (an array: 0 if every task succeeded, else 1)"},
		&ucli.StringFlag{Name: "S", Usage: "interpreter `path` for the script (default: its #! line, else bash, else sh)"},
		&ucli.StringFlag{Name: "b", Usage: "`y`: the arguments are a command to run as is, not a script"},
		&ucli.StringFlag{Name: "C", Usage: "directive `prefix` (default #$; '' disables directives)"},
		&ucli.StringFlag{Name: "image", Usage: "container `image` (must be allowed by the site)"},
		&ucli.StringSliceFlag{Name: "volume", Usage: "mount the site volume `NAME[:ro]` (repeatable)"},
		&ucli.BoolFlag{Name: "root", Usage: "run as root in the container (only for users the site allows)"},
		&ucli.BoolFlag{Name: "I", Aliases: []string{"interactive"}, Usage: "an interactive job: no script; once it runs, enter it with ssh -p PORT job-ID@HOST (gstat -j ID says how)"},
		&ucli.BoolFlag{Name: "help", Usage: "show this help"},
	}
}

// valueFlags are the options that take a value, to find where the options
// end and the script begins.
var valueFlags = map[string]bool{
	"N": true, "o": true, "e": true, "j": true, "wd": true, "v": true, "l": true, "pe": true,
	"P": true, "q": true, "executor": true, "p": true, "sync": true, "S": true, "b": true, "C": true, "image": true, "volume": true,
	"hold_jid": true, "hold_jid_ad": true, "dependency": true, "t": true, "tc": true,
}

const gsubUsage = `gsub [options] [script [args...]]
   gsub [options] -b y command [args...]
   gsub -I [options]`

const gsubDescription = `Submits a batch job to GoDocker, as Grid Engine's qsub does. The job runs
in a container, as you, with your home mounted, in its job directory
(SHARED_DIR/USER/ID) unless -cwd or -wd say otherwise.

The script comes from the file named, or from standard input when there is
none or it is "-". Lines starting with #$ anywhere in the script are options
too; the command line takes precedence over them.

With -I the job runs no script: its container waits for you to enter it
through GoDocker's SSH gateway (ssh -p PORT job-ID@HOST) until you delete
it (gdel) or it reaches its walltime (-l h_rt).

Prints: Your job ID ("NAME") has been submitted   (-terse: the id alone)
An array (-t): Your job-array ID.FIRST-LAST:STEP ("NAME") has been submitted
Exit status: 0 submitted; 1 refused (the reason follows "Unable to run job:");
2 bad command line or directive; 25 try again later; with -sync y the job's
exit status (an array's: 0 if every task succeeded, else 1).`

// Gsub runs the gsub command with args (without the program name) and
// returns its exit status.
func Gsub(ctx context.Context, c Client, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	const name = "gsub"
	app := newApp(name, gsubUsage, gsubDescription, gsubFlags(), stdout, stderr)
	app.Usage = "submit a batch job (Grid Engine's qsub)"
	app.Action = func(cc *ucli.Context) error {
		if cc.Bool("help") {
			return ucli.ShowAppHelp(cc)
		}
		return nil
	}
	// The help is the only thing that needs urfave's own run. Only the
	// options count: "gsub job.sh --help" passes --help to the script.
	if opts, _, err := splitOptions(joinPE(args)); err == nil {
		for _, a := range opts {
			if a == "--help" || a == "-help" {
				return finish(name, stderr, app.Run([]string{name, "--help"}))
			}
		}
	}
	req, err := parseGsub(args, stdin, os.Getenv, os.Environ)
	if err != nil {
		return finish(name, stderr, err)
	}
	job, err := c.Submit(ctx, req.spec)
	if err != nil {
		msg, status := explain(err)
		fmt.Fprintf(stderr, "Unable to run job: %s\nExiting.\n", msg)
		return status
	}
	printSubmitted(stdout, job, req)
	if job.Spec.Interactive && !req.terse {
		printConnect(ctx, c, stdout, job)
	}
	if !req.sync {
		return exitOK
	}
	return waitJob(ctx, c, job.ID, stdout, stderr)
}

// printSubmitted prints Grid Engine's line for a submitted job: "Your
// job 12 ("name") has been submitted", for an array "Your job-array
// 12.1-1000:2 ("name") has been submitted"; with -terse the id alone (12,
// 12.1-1000:2).
func printSubmitted(w io.Writer, job *api.Job, req *gsubRequest) {
	ref, kind := strconv.FormatInt(job.ID, 10), "job"
	arr := job.Spec.Array
	if arr == nil {
		arr = req.spec.Array
	}
	if arr != nil {
		ref, kind = ref+"."+arr.String(), "job-array"
	}
	if req.terse {
		fmt.Fprintln(w, ref)
		return
	}
	fmt.Fprintf(w, "Your %s %s (\"%s\") has been submitted\n", kind, ref, job.Name)
}

// printConnect says how to enter an interactive job, when the server has
// an SSH gateway.
func printConnect(ctx context.Context, c Client, w io.Writer, job *api.Job) {
	in, err := c.Info(ctx)
	if err != nil || in.SSHGateway == "" {
		fmt.Fprintf(w, "The server has no SSH gateway: job %d cannot be entered until an admin turns it on (ssh_gateway.listen).\n", job.ID)
		return
	}
	fmt.Fprintf(w, "Once it runs, enter it with: %s\n", in.SSHCommand(job.Ref()))
}

// gsubRequest is a parsed gsub command line.
type gsubRequest struct {
	spec  api.Spec
	terse bool
	sync  bool
}

// parseGsub turns gsub's arguments (and the script's directives) into a
// Spec. getenv and environ stand for the process environment.
func parseGsub(args []string, stdin io.Reader, getenv func(string) string, environ func() []string) (*gsubRequest, error) {
	args = joinPE(args)
	opts, rest, err := splitOptions(args)
	if err != nil {
		return nil, err
	}
	cmdline, err := parseFlags(opts)
	if err != nil {
		return nil, usagef("%v", err)
	}
	binary := yes(cmdline, "b")
	interactive := str(cmdline, "I") == "true"

	var script, scriptName string
	var directives []string
	switch {
	case interactive:
		if binary || len(rest) > 0 {
			return nil, usagef("gsub -I runs no script or command: give only options (the job waits for you to ssh into it)")
		}
	case binary:
		if len(rest) == 0 {
			return nil, usagef("-b y needs a command to run")
		}
	default:
		var text []byte
		if len(rest) == 0 || rest[0] == "-" {
			scriptName = "STDIN"
			text, err = io.ReadAll(io.LimitReader(stdin, 1<<24))
			if err != nil {
				return nil, fmt.Errorf("read the script from standard input: %w", err)
			}
			if len(rest) > 0 {
				rest = rest[1:]
			}
		} else {
			scriptName = rest[0]
			text, err = os.ReadFile(scriptName)
			if err != nil {
				return nil, fmt.Errorf("read script: %w", err)
			}
			rest = rest[1:]
		}
		if strings.TrimSpace(string(text)) == "" {
			return nil, fmt.Errorf("the script %s is empty", scriptName)
		}
		script = string(text)
		prefix := "#$"
		if given(cmdline, "C") {
			prefix = str(cmdline, "C")
		}
		if prefix != "" {
			directives, err = scanDirectives(script, prefix, filepath.Base(scriptName))
			if err != nil {
				return nil, err
			}
		}
	}
	fs, err := parseFlags(append(directives, opts...))
	if err != nil {
		return nil, usagef("%v", err)
	}

	spec := api.Spec{ScriptName: scriptName, Script: script, Interactive: interactive}
	switch {
	case interactive:
	case binary:
		spec.Script, spec.ScriptName, spec.Command = "", "", rest
	default:
		spec.Args = rest
	}
	spec.Name = str(fs, "N")
	if spec.Name == "" {
		switch {
		case interactive:
			spec.Name = "INTERACTIVE"
		case binary:
			spec.Name = filepath.Base(rest[0])
		default:
			spec.Name = filepath.Base(scriptName)
		}
	}
	spec.Stdout, spec.Stderr = str(fs, "o"), str(fs, "e")
	spec.Join = yes(fs, "j")
	cwd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("current directory: %w", err)
	}
	if fs.Lookup("cwd").Value.String() == "true" {
		spec.Cwd = cwd
	}
	if wd := str(fs, "wd"); wd != "" {
		if !filepath.IsAbs(wd) {
			wd = filepath.Join(cwd, wd)
		}
		spec.Cwd = filepath.Clean(wd)
	}
	env := map[string]string{}
	if fs.Lookup("V").Value.String() == "true" {
		for _, kv := range environ() {
			if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
				env[k] = v
			}
		}
	}
	for _, item := range slice(fs, "v") {
		if k, v, ok := strings.Cut(item, "="); ok {
			env[k] = v
		} else {
			env[item] = getenv(item)
		}
	}
	if len(env) > 0 {
		spec.Env = env
	}
	if pe := str(fs, "pe"); pe != "" {
		n, err := peSlots(pe)
		if err != nil {
			return nil, usagef("%v", err)
		}
		spec.CPUs = n
	}
	if err := applyResources(&spec, slice(fs, "l")); err != nil {
		return nil, usagef("%v", err)
	}
	spec.Project = str(fs, "P")
	if spec.Executor, err = executorOption(str(fs, "q")); err != nil {
		return nil, usagef("%v", err)
	}
	if p := str(fs, "p"); p != "" {
		n, err := parsePriority(p)
		if err != nil {
			return nil, usagef("%v", err)
		}
		spec.Priority = n
	}
	spec.Hold = fs.Lookup("h").Value.String() == "true"
	if spec.Array, err = arrayOption(fs); err != nil {
		return nil, usagef("%v", err)
	}
	if given(fs, "tc") && spec.Array == nil {
		return nil, usagef("-tc %s limits how many tasks of an array run at once: give the array's tasks with -t too", str(fs, "tc"))
	}
	spec.Dependencies, err = dependencies(slice(fs, "hold_jid"), slice(fs, "dependency"))
	if err != nil {
		return nil, usagef("%v", err)
	}
	if spec.TaskDependencies, err = parseHoldJid(slice(fs, "hold_jid_ad")); err != nil {
		return nil, usagef("%v", strings.Replace(err.Error(), "-hold_jid", "-hold_jid_ad", 1))
	}
	if len(spec.TaskDependencies) > 0 && spec.Array == nil {
		return nil, usagef("-hold_jid_ad makes the tasks of an array wait task by task: give the array's tasks with -t, or use -hold_jid")
	}
	spec.Shell = str(fs, "S")
	if img := str(fs, "image"); img != "" {
		spec.Image = img
	}
	spec.Volumes = slice(fs, "volume")
	spec.Root = fs.Lookup("root").Value.String() == "true"
	spec.SubmitDir = cwd
	spec.SubmitHost, _ = os.Hostname()
	spec.SubmitEnv = map[string]string{}
	for _, k := range []string{"HOME", "PATH", "LOGNAME", "USER", "SHELL"} {
		if v := getenv(k); v != "" {
			spec.SubmitEnv[k] = v
		}
	}
	return &gsubRequest{spec: spec, terse: fs.Lookup("terse").Value.String() == "true", sync: yes(fs, "sync")}, nil
}

// joinPE rewrites Grid Engine's two-valued "-pe NAME N" into one value,
// among the options only: the script's own arguments are left alone.
func joinPE(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || a == "-" || !strings.HasPrefix(a, "-") {
			return append(out, args[i:]...)
		}
		name := strings.TrimLeft(a, "-")
		switch {
		case name == "pe" && i+2 < len(args):
			out = append(out, a, args[i+1]+" "+args[i+2])
			i += 2
		case valueFlags[name] && i+1 < len(args):
			out = append(out, a, args[i+1])
			i++
		default:
			out = append(out, a)
		}
	}
	return out
}

// splitOptions separates the options from the script (or command) and its
// arguments: the first word that is not an option or an option's value.
func splitOptions(args []string) (opts, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return args[:i], args[i+1:], nil
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			return args[:i], args[i:], nil
		}
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if valueFlags[name] {
			if i+1 >= len(args) {
				return nil, nil, usagef("option %s needs a value", a)
			}
			i++
		}
	}
	return args, nil, nil
}

// parseFlags parses options alone (no script) with gsub's flags.
func parseFlags(opts []string) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet("gsub", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, f := range gsubFlags() {
		if err := f.Apply(fs); err != nil {
			return nil, err
		}
	}
	if err := fs.Parse(opts); err != nil {
		return nil, cleanFlagError(err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected %q among the options", fs.Arg(0))
	}
	for _, name := range []string{"j", "b", "sync"} {
		switch strings.ToLower(str(fs, name)) {
		case "", "y", "yes", "true", "n", "no", "false":
		default:
			return nil, fmt.Errorf("-%s %q: want y or n", name, str(fs, name))
		}
	}
	return fs, nil
}

// unsupported are Grid Engine's options GoDocker knows of but does not
// take yet, and why.
var unsupported = map[string]string{
	"hold_jid_ad": "changing task-by-task dependencies is not supported yet: delete and submit the array again",
}

func cleanFlagError(err error) error {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		if why, ok := unsupported[strings.TrimLeft(rest, "-")]; ok {
			return fmt.Errorf("%s: %s", rest, why)
		}
		return fmt.Errorf("unknown option %s", rest)
	}
	return errors.New(strings.Replace(msg, "flag", "option", 1))
}

type flagSet = flag.FlagSet

func str(fs *flagSet, name string) string { return fs.Lookup(name).Value.String() }

// given reports whether the option was on the command line.
func given(fs *flagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

func yes(fs *flagSet, name string) bool {
	switch strings.ToLower(str(fs, name)) {
	case "y", "yes", "true":
		return true
	}
	return false
}

func slice(fs *flagSet, name string) []string {
	if v, ok := fs.Lookup(name).Value.(*ucli.StringSlice); ok {
		return v.Value()
	}
	panic("gsub: option -" + name + " is not a list")
}

// stripQuotes removes every quote character from a directive's word, as
// Grid Engine's sge_strip_quotes does.
var stripQuotes = strings.NewReplacer(`"`, "", "'", "")

// scanDirectives collects the options of the script's directive lines:
// every line starting in column 1 with prefix, anywhere in the file.
// After the prefix, text after another '#' is a comment; words are split
// on blanks and quote characters (" and ') are removed from each word.
// A line with a bad option is an error naming the line.
func scanDirectives(script, prefix, file string) ([]string, error) {
	var all []string
	sc := bufio.NewScanner(strings.NewReader(script))
	sc.Buffer(make([]byte, 64<<10), 1<<24)
	for n := 1; sc.Scan(); n++ {
		line, ok := strings.CutPrefix(sc.Text(), prefix)
		if !ok {
			continue
		}
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		var words []string
		for _, w := range strings.Fields(line) {
			words = append(words, stripQuotes.Replace(w))
		}
		words = joinPE(words)
		if _, err := parseFlags(words); err != nil {
			return nil, usagef("%s:%d: %v in %s directive", file, n, err, prefix)
		}
		if err := checkDirective(words); err != nil {
			return nil, usagef("%s:%d: %v in %s directive", file, n, err, prefix)
		}
		all = append(all, words...)
	}
	return all, nil
}

// checkDirective validates the values a directive line gives, so that a
// bad one is reported with its line.
func checkDirective(words []string) error {
	fs, _ := parseFlags(words)
	if pe := str(fs, "pe"); pe != "" {
		if _, err := peSlots(pe); err != nil {
			return err
		}
	}
	if _, err := dependencies(slice(fs, "hold_jid"), slice(fs, "dependency")); err != nil {
		return err
	}
	if _, err := arrayOption(fs); err != nil {
		return err
	}
	var scratch api.Spec
	return applyResources(&scratch, slice(fs, "l"))
}

// arrayOption reads -t and -tc from fs: nil without -t. -tc alone is
// left to the caller, since a directive line may give it apart from -t.
func arrayOption(fs *flagSet) (*api.Array, error) {
	var a *api.Array
	if given(fs, "t") {
		var err error
		if a, err = parseArray(str(fs, "t")); err != nil {
			return nil, err
		}
	}
	if given(fs, "tc") {
		n, err := parseTaskLimit(str(fs, "tc"))
		if err != nil {
			return nil, err
		}
		if a != nil {
			a.Limit = n
		}
	}
	return a, nil
}

// parseArray reads -t as Grid Engine's qsub does: FIRST-LAST:STEP,
// FIRST-LAST (step 1) or N (the one task N, N-N:1); task numbers start at
// 1, LAST ≥ FIRST, STEP ≥ 1. The range is kept as given (1-10:4: tasks
// 1, 5 and 9), as qsub prints it back.
func parseArray(s string) (*api.Array, error) {
	const want = "want FIRST-LAST[:STEP], e.g. -t 1-100 or -t 1-1000:2"
	if s == "" {
		return nil, fmt.Errorf("-t needs the tasks: %s", want)
	}
	num := func(what, v string) (int64, error) {
		if v == "" {
			return 0, fmt.Errorf("-t %s: %s is missing: %s", s, what, want)
		}
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil && isDigits(v):
			return 0, fmt.Errorf("-t %s: %s %s is too large", s, what, v)
		case err != nil:
			return 0, fmt.Errorf("-t %s: %s %q is not a whole number: %s", s, what, v, want)
		}
		return n, nil
	}
	rng, stepText, hasStep := strings.Cut(s, ":")
	firstText, lastText, hasLast := strings.Cut(rng, "-")
	if hasStep && !hasLast {
		return nil, fmt.Errorf("-t %s: a STEP goes with a range: %s", s, want)
	}
	if strings.HasPrefix(s, "-") {
		return nil, fmt.Errorf("-t %s: task numbers start at 1", s)
	}
	first, err := num("FIRST", firstText)
	if err != nil {
		return nil, err
	}
	a := &api.Array{First: first, Last: first, Step: 1}
	if hasLast {
		if a.Last, err = num("LAST", lastText); err != nil {
			return nil, err
		}
	}
	if hasStep {
		if a.Step, err = num("STEP", stepText); err != nil {
			return nil, err
		}
	}
	switch {
	case a.First < 1:
		return nil, fmt.Errorf("-t %s: task numbers start at 1, FIRST is %d", s, a.First)
	case a.Last < a.First:
		return nil, fmt.Errorf("-t %s: LAST %d is less than FIRST %d", s, a.Last, a.First)
	case a.Step < 1:
		return nil, fmt.Errorf("-t %s: STEP must be 1 or more", s)
	}
	return a, nil
}

// parseTaskLimit reads -tc: how many tasks of an array may run at once.
func parseTaskLimit(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("-tc %q: want a number of tasks of 1 or more", s)
	}
	return n, nil
}

// parsePriority reads -p: an integer from -1023 to 1024.
func parsePriority(p string) (int, error) {
	n, err := strconv.Atoi(p)
	if err != nil || n < -1023 || n > 1024 {
		return 0, fmt.Errorf("-p %q: want an integer priority from -1023 to 1024", p)
	}
	return n, nil
}

// peSlots reads "NAME N" (or N-M, N-) as a number of cpus.
func peSlots(pe string) (int, error) {
	name, n, ok := strings.Cut(pe, " ")
	if !ok || name == "" {
		return 0, fmt.Errorf("-pe %q: want -pe NAME SLOTS, e.g. -pe smp 4", pe)
	}
	lo, _, _ := strings.Cut(n, "-")
	v, err := strconv.Atoi(lo)
	if err != nil || v < 1 {
		return 0, fmt.Errorf("-pe %s %s: want a number of slots of 1 or more", name, n)
	}
	return v, nil
}

// resourceRequest is what -l items ask for; nil: not asked.
type resourceRequest struct {
	walltime   *int64  // h_rt, s_rt
	memory     *int64  // mem: of the whole job
	perSlot    *int64  // h_vmem and friends: per slot, as in Grid Engine
	cpus, gpus *int    // cpu, slots; gpu
	image      *string // image
}

// parseResources reads -l key=value items. A later key overrides an
// earlier one; mem and the per-slot keys override each other.
func parseResources(items []string) (resourceRequest, error) {
	var r resourceRequest
	for _, it := range items {
		k, v, ok := strings.Cut(it, "=")
		if !ok || v == "" {
			return r, fmt.Errorf("-l %q: want key=value", it)
		}
		switch k {
		case "h_rt", "s_rt":
			s, err := api.ParseWalltime(v)
			if err != nil {
				return r, fmt.Errorf("-l %s: %v", k, err)
			}
			r.walltime = &s
		case "h_vmem", "s_vmem", "h_rss", "mem_free", "virtual_free":
			m, err := api.ParseMemory(v)
			if err != nil {
				return r, fmt.Errorf("-l %s: %v", k, err)
			}
			r.perSlot = &m
		case "mem", "memory":
			m, err := api.ParseMemory(v)
			if err != nil {
				return r, fmt.Errorf("-l %s: %v", k, err)
			}
			r.memory, r.perSlot = &m, nil
		case "cpu", "cpus", "slots":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return r, fmt.Errorf("-l %s=%s: want a number of cpus of 1 or more", k, v)
			}
			r.cpus = &n
		case "gpu", "gpus":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return r, fmt.Errorf("-l %s=%s: want a number of gpus of 0 or more", k, v)
			}
			r.gpus = &n
		case "image":
			r.image = &v
		default:
			return r, fmt.Errorf("-l %s: unknown resource; known: h_rt s_rt h_vmem s_vmem h_rss mem_free mem cpu slots gpu image", k)
		}
	}
	return r, nil
}

// jobMemory is the memory of a job of slots cpus that r asks for, if it
// asks: per-slot memory (h_vmem and friends) is multiplied by the slots.
func (r resourceRequest) jobMemory(slots int) (int64, bool) {
	switch {
	case r.perSlot != nil && *r.perSlot > 0:
		return *r.perSlot * int64(max(slots, 1)), true
	case r.memory != nil:
		return *r.memory, true
	}
	return 0, false
}

// applyResources reads -l key=value items into spec. Per-slot memory
// (h_vmem and friends, as in Grid Engine) is multiplied by the slots,
// which may be set by -pe before or after.
func applyResources(spec *api.Spec, items []string) error {
	r, err := parseResources(items)
	if err != nil {
		return err
	}
	if r.walltime != nil {
		spec.Walltime = *r.walltime
	}
	if r.cpus != nil {
		spec.CPUs = *r.cpus
	}
	if r.gpus != nil {
		spec.GPUs = *r.gpus
	}
	if r.image != nil {
		spec.Image = *r.image
	}
	if m, ok := r.jobMemory(spec.CPUs); ok {
		spec.Memory = m
	}
	return nil
}

// syncPoll is how often gsub -sync y asks for the job's state in case an
// event was missed, and retries while godockerd cannot be reached.
const syncPoll = 5 * time.Second

// waitJob waits for the job to end (gsub -sync y), prints Grid Engine's
// line and returns the job's exit status; for an array, it waits for the
// array's own record to end (its last task) and returns 0 if every task
// succeeded, else 1. Interrupted, it deletes the job (the whole array).
// While godockerd cannot be reached (a restart) it keeps waiting; an
// answer such as "no such job" ends the wait with status 1.
func waitJob(ctx context.Context, c Client, id int64, stdout, stderr io.Writer) int {
	// Subscribe before the first look at the job, so that no end is
	// missed between the two; a stream that ends or cannot be opened is
	// reopened at the next tick, the ticker covering the gap.
	var events <-chan api.Event
	subscribe := func() {
		if ev, err := c.Events(ctx, id); err == nil {
			events = ev
		}
	}
	subscribe()
	tick := time.NewTicker(syncPoll)
	defer tick.Stop()
	lost := false
	for {
		j, err := c.Job(ctx, api.JobRef{ID: id})
		var apiErr *api.Error
		switch {
		case ctx.Err() != nil:
			return interruptJob(ctx, c, id, stderr)
		case err != nil && !errors.As(err, &apiErr):
			if !lost {
				msg, _ := explain(err)
				fmt.Fprintf(stderr, "gsub: still waiting for job %d: %s\n", id, msg)
				lost = true
			}
		case err != nil:
			msg, status := explain(err)
			fmt.Fprintf(stderr, "gsub: job %d: %s\n", id, msg)
			return status
		case j.State.Finished() && j.Spec.Array != nil && j.ArrayID == 0:
			return arrayEnded(j, stdout)
		case j.State.Finished():
			code := exitFailure
			if j.ExitCode != nil && (j.State == api.Done || j.State == api.Failed) {
				code = *j.ExitCode
			}
			if j.ExitCode != nil {
				fmt.Fprintf(stdout, "Job %d exited with exit code %d.\n", id, *j.ExitCode)
			} else {
				reason := ""
				if j.Reason.Message != "" {
					reason = ": " + j.Reason.Message
				}
				fmt.Fprintf(stdout, "Job %d was %s%s\n", id, j.State, reason)
			}
			return code
		default:
			lost = false
		}
		select {
		case <-ctx.Done():
			return interruptJob(ctx, c, id, stderr)
		case <-tick.C:
			if events == nil {
				subscribe()
			}
		case _, ok := <-events:
			if !ok {
				events = nil
			}
		}
	}
}

// arrayEnded prints how a finished array went and returns gsub -sync y's
// exit status for it: 0 if every task succeeded (exited 0), else 1.
// Tasks deleted before they ran count as failed.
func arrayEnded(j *api.Job, stdout io.Writer) int {
	var t api.Tasks
	if j.Tasks != nil {
		t = *j.Tasks
	}
	fmt.Fprintf(stdout, "Job-array %d.%s ended: %d tasks done, %d failed.\n", j.ID, j.Spec.Array, t.Done, t.Failed)
	if t.Failed == 0 && t.Done == j.Spec.Array.Count() {
		return exitOK
	}
	return exitFailure
}

// interruptJob deletes the job gsub -sync y was waiting for when the user
// interrupted it, and returns 130.
func interruptJob(ctx context.Context, c Client, id int64, stderr io.Writer) int {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := c.Delete(dctx, api.JobRef{ID: id}); err != nil {
		msg, _ := explain(err)
		fmt.Fprintf(stderr, "gsub: interrupted; job %d not deleted: %s\n", id, msg)
	} else {
		fmt.Fprintf(stderr, "gsub: interrupted: job %d deleted\n", id)
	}
	return exitSignal
}

// executorOption reads -q: one executor's name. Grid Engine's queue lists
// and QUEUE@HOST have no meaning here.
func executorOption(q string) (string, error) {
	switch {
	case strings.Contains(q, "@"):
		return "", fmt.Errorf("-q %s: GoDocker's scheduler chooses the node; give the executor's name alone (-q %s)", q, q[:strings.Index(q, "@")])
	case strings.ContainsAny(q, ", "):
		return "", fmt.Errorf("-q %s: give one executor", q)
	}
	return q, nil
}
