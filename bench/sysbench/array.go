package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/godocker/godocker/api"
)

// arrayGroup times the submission of one large array, with gsub -t and
// through the API, on a fresh api-only server each run (at least 5).
func (b *bench) arrayGroup(ctx context.Context) error {
	n := int64(b.scaled(100000, 10))
	runs := max(b.opts.runs, 5)
	var cliMS, apiMS []float64
	for r := range runs {
		b.logf("array: run %d/%d: an array of %s tasks…", r+1, runs, count(int(n)))
		err := b.withServer(ctx, "array", serverConfig{}, apiOnly, func(s *server) error {
			if err := b.warmUp(ctx, s); err != nil {
				return err
			}
			ms, err := b.arrayCLI(ctx, s, n)
			if err != nil {
				return err
			}
			cliMS = append(cliMS, ms)
			spec := b.alice.spec("true")
			spec.Array = &api.Array{First: 1, Last: n, Step: 1}
			sctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			start := time.Now()
			j, err := b.alice.client(s).Submit(sctx, spec)
			elapsed := time.Since(start)
			if err != nil {
				return fmt.Errorf("submit an array of %d tasks through the API: %w", n, err)
			}
			if j.Spec.Array == nil || j.Spec.Array.Count() != n {
				return fmt.Errorf("the array submitted has tasks %v; want 1-%d", j.Spec.Array, n)
			}
			apiMS = append(apiMS, float64(elapsed.Microseconds())/1000)
			return nil
		})
		if err != nil {
			return err
		}
	}
	tasks := count(int(n))
	b.add(
		newFigure("array.cli", fmt.Sprintf("array: `gsub -t 1-%d -b y true`, wall time", n), "ms", cliMS, atMost(50)),
		newFigure("array.api", fmt.Sprintf("array: Submit of %s tasks through the API", tasks), "ms", apiMS, atMost(50)),
	)
	return nil
}

// arrayCLI times gsub -t 1-N -b y true in a shell as alice and checks
// what it printed.
func (b *bench) arrayCLI(ctx context.Context, s *server, n int64) (float64, error) {
	script := fmt.Sprintf(`out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
s=$EPOCHREALTIME
"$BIN/gsub" -t 1-%d -b y true >"$out" || { cat "$out" >&2; exit 1; }
e=$EPOCHREALTIME
echo "$s $e"
cat "$out"
`, n)
	out, err := b.shell(ctx, b.alice, s, time.Minute, script)
	if err != nil {
		return 0, err
	}
	times, said, _ := strings.Cut(out, "\n")
	want := fmt.Sprintf(".1-%d:1 (\"true\") has been submitted", n)
	if !strings.HasPrefix(said, "Your job-array ") || !strings.Contains(said, want) {
		return 0, fmt.Errorf("gsub -t 1-%d printed %q; want \"Your job-array ID%s\"", n, said, want)
	}
	f := strings.Fields(times)
	if len(f) != 2 {
		return 0, fmt.Errorf("the array shell printed %q", out)
	}
	return epochPair(f[0], f[1])
}
