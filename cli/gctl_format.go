package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/quota"
)

// How gctl prints budgets and use: resource·seconds as hours, memory in
// G·hours with G = 1024³ bytes (Grid Engine's G).
const (
	secondsPerHour = 3600
	gibHour        = float64(1<<30) * secondsPerHour // byte·seconds in a G·hour
)

// hours renders seconds as hours, as the server's sentences do (package
// quota): at most two decimals, or two significant digits under 0.01.
func hours(seconds float64) string { return quota.Hours(seconds) }

// gibHours renders byte·seconds as G·hours, as hours does.
func gibHours(byteSeconds float64) string { return hours(byteSeconds / (1 << 30)) }

// quotaResource is one budget of a Quota: its name, its value in q and
// how to print an amount of it ("12.4h", "24.8G·h").
type quotaResource struct {
	name   string
	get    func(api.Quota) float64
	format func(seconds float64) string
}

var quotaResources = []quotaResource{
	{"cpu", func(q api.Quota) float64 { return q.CPUSeconds }, func(s float64) string { return hours(s) + "h" }},
	{"memory", func(q api.Quota) float64 { return q.MemorySeconds }, func(s float64) string { return gibHours(s) + "G·h" }},
	{"gpu", func(q api.Quota) float64 { return q.GPUSeconds }, func(s float64) string { return hours(s) + "h" }},
}

// quotaString renders the set budgets of q, "cpu=100h,memory=2000G·h,gpu=10h",
// or NONE as Grid Engine says of an empty value.
func quotaString(q api.Quota) string {
	var parts []string
	for _, r := range quotaResources {
		if v := r.get(q); v != 0 {
			parts = append(parts, r.name+"="+r.format(v))
		}
	}
	if len(parts) == 0 {
		return "NONE"
	}
	return strings.Join(parts, ",")
}

// limitString renders the set parts of l, "cpus=32,memory=64G,gpus=2,jobs=10",
// or none.
func limitString(l api.Limit, none string) string {
	var parts []string
	if l.CPUs != 0 {
		parts = append(parts, "cpus="+strconv.Itoa(l.CPUs))
	}
	if l.Memory != 0 {
		parts = append(parts, "memory="+api.FormatMemory(l.Memory))
	}
	if l.GPUs != 0 {
		parts = append(parts, "gpus="+strconv.Itoa(l.GPUs))
	}
	if l.Jobs != 0 {
		parts = append(parts, "jobs="+strconv.Itoa(l.Jobs))
	}
	if len(parts) == 0 {
		return none
	}
	return strings.Join(parts, ",")
}

// listOr joins items with commas, or returns none when there are none.
func listOr(items []string, none string) string {
	if len(items) == 0 {
		return none
	}
	return strings.Join(items, ",")
}

// members renders who belongs to p: everybody for the default project.
func members(p *api.Project, none string) string {
	if p.Name == api.DefaultProject {
		return "(everybody)"
	}
	return listOr(p.Members, none)
}

// compactDuration renders d in days, hours, minutes and seconds, leaving
// out the units that are zero: 30d, 12h, 1d12h, 1h30m.
func compactDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		suffix string
		size   time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}} {
		if n := d / u.size; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.suffix)
			d -= n * u.size
		}
	}
	if b.Len() == 0 {
		return "0s"
	}
	return b.String()
}

// roughDuration renders d by its two largest units, rounded down to the
// minute: "7d 4h", "4h 12m", "12m", "<1m".
func roughDuration(d time.Duration) string {
	units := []struct {
		suffix string
		size   time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}}
	for i, u := range units {
		if d < u.size {
			continue
		}
		s := fmt.Sprintf("%d%s", d/u.size, u.suffix)
		if i+1 < len(units) {
			if n := d % u.size / units[i+1].size; n > 0 {
				s += fmt.Sprintf(" %d%s", n, units[i+1].suffix)
			}
		}
		return s
	}
	return "<1m"
}

// seconds converts a report's float seconds to a Duration.
func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// newTable returns a tabwriter for gctl's tables: left-aligned columns two
// blanks apart. Flush it when done.
func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 8, 2, ' ', 0) }

// row writes cells as one tab-separated line of t.
func row(t io.Writer, cells ...string) { fmt.Fprintln(t, strings.Join(cells, "\t")) }
