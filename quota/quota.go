// Package quota accounts for budgets of resource·seconds over fixed
// periods: what a job holding some cpus, memory and gpus uses of a
// budget, the period a moment falls in, and the sentence that says which
// budget is spent and when it resets. It does no I/O and reads no clock;
// the server feeds it and the scheduler states its reasons.
//
// # Periods
//
// Quota periods have the length of scheduler.user_reset_usage_duration
// and follow one another from the Unix epoch, in UTC: with 1 day they
// start at midnight UTC, with 7 days on Thursdays (1970-01-01 was one),
// with 30 days every 30 days from then. Every budget starts afresh when a
// period starts: a job's use counts toward the period in which it held
// its resources, so a job that runs across the boundary counts toward
// both periods, each for its own part.
//
// # Use
//
// A job uses what it holds, not what it happens to burn: cpus × seconds,
// bytes of memory × seconds, gpus × seconds, from its start to its end
// (or now), as Slurm and Grid Engine bill reserved resources.
package quota

import (
	"fmt"
	"strconv"
	"time"

	"github.com/godocker/godocker/api"
)

// Period returns the quota period of length d that holds t.
func Period(t time.Time, d time.Duration) (start, end time.Time) {
	if d <= 0 {
		return time.Time{}, time.Time{}
	}
	n := t.UnixNano()
	off := n % int64(d)
	if off < 0 {
		off += int64(d)
	}
	start = time.Unix(0, n-off).UTC()
	return start, start.Add(d)
}

// Held is what a job holding cpus, memory (bytes) and gpus uses between
// started and ended, counting only the part within [from, to).
func Held(cpus int, memory int64, gpus int, started, ended, from, to time.Time) api.Quota {
	if started.Before(from) {
		started = from
	}
	if ended.After(to) {
		ended = to
	}
	if !ended.After(started) {
		return api.Quota{}
	}
	s := ended.Sub(started).Seconds()
	return api.Quota{
		CPUSeconds:    float64(max(cpus, 0)) * s,
		MemorySeconds: float64(max(memory, 0)) * s,
		GPUSeconds:    float64(max(gpus, 0)) * s,
	}
}

// Resource names, as the sentences and gctl say them.
const (
	CPU    = "cpu"
	Memory = "memory"
	GPU    = "gpu"
)

// Spent returns the first resource (cpu, memory, gpu) whose budget in q
// is used up by used, or "" if none is.
func Spent(q, used api.Quota) string {
	switch {
	case q.CPUSeconds > 0 && used.CPUSeconds >= q.CPUSeconds:
		return CPU
	case q.MemorySeconds > 0 && used.MemorySeconds >= q.MemorySeconds:
		return Memory
	case q.GPUSeconds > 0 && used.GPUSeconds >= q.GPUSeconds:
		return GPU
	}
	return ""
}

// Exhausted returns the reason the jobs of an owner (kind api.KindUser
// or api.KindProject, and its name) wait or are refused, if one of the
// budgets of q is used up; resets is the end of the period.
func Exhausted(kind, name string, q, used api.Quota, resets time.Time) (api.Reason, bool) {
	res := Spent(q, used)
	if res == "" {
		return api.Reason{}, false
	}
	var budget, spent float64
	unit := "h"
	switch res {
	case CPU:
		budget, spent = q.CPUSeconds, used.CPUSeconds
	case Memory:
		budget, spent, unit = q.MemorySeconds/gib, used.MemorySeconds/gib, "G·h"
	case GPU:
		budget, spent = q.GPUSeconds, used.GPUSeconds
	}
	return api.Reason{Code: api.ReasonQuota, Message: fmt.Sprintf("%s %s has spent its %s quota of %s%s (%s%s used); it resets at %s",
		kind, name, res, Hours(budget), unit, Hours(spent), unit, resets.UTC().Format("2006-01-02 15:04 MST"))}, true
}

const gib = 1 << 30

// Hours renders seconds as hours with at most two decimals (360000 →
// "100", 45 → "0.01"), or two significant digits below 0.01 hour (18 →
// "0.005"), so that a small budget does not read as none.
func Hours(seconds float64) string {
	if h := seconds / 3600; h > 0 && h < 0.01 {
		return strconv.FormatFloat(h, 'g', 2, 64)
	}
	return strconv.FormatFloat(float64(int64(seconds/36+0.5))/100, 'f', -1, 64)
}
