// Command sysbench is GoDocker's whole-system benchmark: it builds the
// commands, starts real godockerd processes on temporary state
// directories, submits, lists and runs jobs as real users, and prints one
// table of figures (the median of several runs each) beside their
// targets. Run it as root from the module:
//
//	go run ./bench/sysbench [-runs 3] [-scale 1] [-only submit,array,gstat,drain,latency,memory] [-json FILE]
//
// It exits 0 when every figure was measured, whether or not the targets
// were met (the verdict column says), and 1 when the benchmark itself
// failed: a command failed, a job was lost, something did not happen in
// time.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	dockerclient "github.com/docker/docker/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "sysbench: error:", err)
		os.Exit(1)
	}
}

// groups are the benchmark's parts, in the order they run.
var groups = []string{"submit", "array", "gstat", "memory", "drain", "latency"}

type options struct {
	runs     int
	scale    float64
	only     map[string]bool
	bin      string
	keep     bool
	jsonPath string
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("sysbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.runs, "runs", 3, "runs of each figure; the table shows their median")
	fs.Float64Var(&o.scale, "scale", 1, "multiplies every job count (0.01: a smoke run)")
	only := fs.String("only", "", "comma list of the groups to run: "+strings.Join(groups, ", ")+" (default: all)")
	fs.StringVar(&o.bin, "bin", "", "directory of prebuilt godockerd, gsub, gstat, gdel and gctl (default: build them)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directories (state, logs, job directories)")
	fs.StringVar(&o.jsonPath, "json", "", "also write the figures to `FILE` as JSON")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./bench/sysbench [flags]   (as root)\n\nGoDocker's whole-system benchmark; see bench/README.md.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.runs < 1 {
		return o, fmt.Errorf("-runs %d: want 1 or more", o.runs)
	}
	if o.scale <= 0 || o.scale > 100 {
		return o, fmt.Errorf("-scale %g: want more than 0 (1 is the full benchmark)", o.scale)
	}
	o.only = map[string]bool{}
	for _, g := range strings.Split(*only, ",") {
		if g = strings.TrimSpace(g); g == "" {
			continue
		}
		if !slices.Contains(groups, g) {
			return o, fmt.Errorf("-only: unknown group %q (groups: %s)", g, strings.Join(groups, ", "))
		}
		o.only[g] = true
	}
	if len(o.only) == 0 {
		for _, g := range groups {
			o.only[g] = true
		}
	}
	return o, nil
}

// bench is one run of the benchmark: its options, its binaries, its
// users and what it measured.
type bench struct {
	opts   options
	stderr io.Writer
	tmp    string // everything the benchmark writes
	bin    string // the commands
	alice  account
	bob    account
	docker *dockerclient.Client

	serial  int
	servers []*server
	issues  []logIssue
	report  report
}

// scaled is n jobs times -scale, at least least.
func (b *bench) scaled(n, least int) int {
	return max(least, int(math.Round(float64(n)*b.opts.scale)))
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.stderr, "bench: "+format+"\n", args...)
}

func (b *bench) add(f ...*Figure) { b.report.add(f...) }

// run is the whole program: it returns the error that made the benchmark
// fail, after printing the table of what was measured until then.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	opts, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	b := &bench{opts: opts, stderr: stderr}
	defer func() {
		if cerr := b.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if err := b.setup(ctx); err != nil {
		return err
	}
	steps := map[string]func(context.Context) error{
		"submit":  b.submitGroup,
		"array":   b.arrayGroup,
		"gstat":   b.gstatAndMemory,
		"drain":   b.drainGroup,
		"latency": b.latencyGroup,
	}
	start := time.Now()
	for _, g := range groups {
		step := steps[g]
		if step == nil || !(opts.only[g] || g == "gstat" && opts.only["memory"]) {
			continue
		}
		t0 := time.Now()
		if err = step(ctx); err != nil {
			err = fmt.Errorf("%s: %w", g, err)
			break
		}
		// Other work on the machine skews the figures: say how busy it was.
		b.logf("%s: done in %v; load average %s", g, time.Since(t0).Round(time.Second), loadAverage())
	}
	b.logf("done in %v", time.Since(start).Round(time.Second))
	b.report.writeTable(stdout)
	b.summarizeLogs()
	if err != nil {
		return err
	}
	if opts.jsonPath != "" {
		return b.report.writeJSON(opts.jsonPath)
	}
	return nil
}

// setup checks the machine, builds the commands and finds the users.
func (b *bench) setup(ctx context.Context) error {
	if os.Geteuid() != 0 {
		return errors.New("run me as root: I run godockerd and act as the users gdtest-alice and gdtest-bob")
	}
	dc, version, err := connectDocker(ctx)
	if err != nil {
		return err
	}
	b.docker = dc
	if b.tmp, err = os.MkdirTemp("", "godocker-sysbench-"); err != nil {
		return err
	}
	// The users run the commands and reach the servers' sockets in it.
	if err := os.Chmod(b.tmp, 0o755); err != nil {
		return err
	}
	if b.alice, err = ensureAccount(ctx, "gdtest-alice"); err != nil {
		return err
	}
	if b.bob, err = ensureAccount(ctx, "gdtest-bob"); err != nil {
		return err
	}
	if err := b.build(ctx); err != nil {
		return err
	}
	now := time.Now().UTC()
	b.report.Date, b.report.Host, b.report.Runs, b.report.Scale = now, readHost(version), b.opts.runs, b.opts.scale
	h := b.report.Host
	b.report.Header = fmt.Sprintf("GoDocker system benchmark — %s, host %s, %d cpus, %s, Docker %s, %d runs",
		now.Format("2006-01-02 15:04 UTC"), h.Name, h.CPUs, h.Model, h.Docker, b.opts.runs)
	if b.opts.scale != 1 {
		b.report.Header += fmt.Sprintf(", scale %g", b.opts.scale)
	}
	return nil
}

// build compiles the commands into the temporary directory, or checks
// the prebuilt ones of -bin.
func (b *bench) build(ctx context.Context) error {
	names := []string{"godockerd", "gsub", "gstat", "gdel", "gctl"}
	if b.opts.bin != "" {
		dir, err := filepath.Abs(b.opts.bin)
		if err != nil {
			return err
		}
		for _, n := range names {
			if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
				return fmt.Errorf("-bin %s: %w", dir, err)
			}
		}
		b.bin = dir
		return nil
	}
	b.bin = filepath.Join(b.tmp, "bin")
	b.logf("building %s…", strings.Join(names, ", "))
	args := []string{"build", "-tags", "urfave_cli_no_docs", "-o", b.bin + "/"} // as make build
	for _, n := range names {
		args = append(args, "github.com/godocker/godocker/cmd/"+n)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Stdout, cmd.Stderr = b.stderr, b.stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build the commands (run me from the module): %w", err)
	}
	return os.Chmod(b.bin, 0o755)
}

// close stops every server still running, removes what they left and,
// unless -keep, the temporary directory.
func (b *bench) close() error {
	ctx := context.Background()
	var first error
	for _, s := range b.servers {
		if err := s.discard(ctx); err != nil && first == nil {
			first = err
		}
	}
	if b.tmp != "" {
		if err := b.removeContainers(ctx, b.tmp); err != nil && first == nil {
			first = err
		}
		if b.opts.keep {
			b.logf("kept %s", b.tmp)
		} else if err := os.RemoveAll(b.tmp); err != nil && first == nil {
			first = err
		}
	}
	if b.docker != nil {
		b.docker.Close()
	}
	return first
}

// loadAverage is the machine's load over the last 1, 5 and 15 minutes.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// summarizeLogs reports on standard error what the servers logged
// (warnings and errors: they run with log_level warn).
func (b *bench) summarizeLogs() {
	if len(b.issues) == 0 {
		b.logf("godockerd logged no warning or error")
		return
	}
	b.logf("godockerd logged %d warnings or errors; the first distinct ones:", len(b.issues))
	seen := map[string]bool{}
	shown := 0
	for _, is := range b.issues {
		key := is.server + " " + logMessage(is.line)
		if seen[key] {
			continue
		}
		seen[key] = true
		if shown++; shown > 15 {
			break
		}
		fmt.Fprintf(b.stderr, "  %s: %s\n", is.server, is.line)
	}
}

// logMessage is the msg= part of a slog text line, to group repeats.
func logMessage(line string) string {
	_, rest, ok := strings.Cut(line, " msg=")
	if !ok {
		return line
	}
	if strings.HasPrefix(rest, `"`) {
		if end := strings.Index(rest[1:], `"`); end >= 0 {
			return rest[:end+2]
		}
	}
	msg, _, _ := strings.Cut(rest, " ")
	return msg
}
