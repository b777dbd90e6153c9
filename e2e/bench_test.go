package e2e

import (
	"os/exec"
	"slices"
	"testing"
	"time"
)

// BenchmarkSubmitToDone measures, as a user sees it, the time from
// `gsub -sync y -b y true` to its return once the job is done, beside a
// plain `docker run --rm` of the same image. Each reports the median
// over b.N runs:
//
//	go test ./e2e -run '^$' -bench SubmitToDone -benchtime 20x
func BenchmarkSubmitToDone(b *testing.B) {
	s := startServer(b, "")
	alice := lookup(b, "gdtest-alice")
	var samples []time.Duration
	for b.Loop() {
		start := time.Now()
		r := s.run(alice, "", "gsub", "-sync", "y", "-b", "y", "true")
		samples = append(samples, time.Since(start))
		if r.code != 0 {
			b.Fatalf("gsub: exit %d: %s%s", r.code, r.stdout, r.stderr)
		}
	}
	b.ReportMetric(median(samples), "ms-median")
}

// BenchmarkDockerRunRaw is the baseline: the engine alone.
func BenchmarkDockerRunRaw(b *testing.B) {
	if skipAll != "" {
		b.Skip(skipAll)
	}
	var samples []time.Duration
	for b.Loop() {
		start := time.Now()
		if out, err := exec.Command("docker", "run", "--rm", image, "true").CombinedOutput(); err != nil {
			b.Fatalf("docker run: %v: %s", err, out)
		}
		samples = append(samples, time.Since(start))
	}
	b.ReportMetric(median(samples), "ms-median")
}

func median(d []time.Duration) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return float64(d[len(d)/2].Microseconds()) / 1000
}
