package tui

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/quota"
)

// width is the number of cells s takes on a terminal; escape sequences
// take none.
func width(s string) int { return ansi.StringWidth(s) }

// fit cuts s (which may hold escape sequences) to at most w cells, ending
// with "…" when it was cut.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if width(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, ellipsis)
}

// pad fits s to exactly w cells, padding on the right.
func pad(s string, w int) string {
	s = fit(s, w)
	return s + strings.Repeat(" ", max(w-width(s), 0))
}

// padLeft fits s to exactly w cells, padding on the left.
func padLeft(s string, w int) string {
	s = fit(s, w)
	return strings.Repeat(" ", max(w-width(s), 0)) + s
}

// joinFit joins parts with sep in w cells: a part that does not fit is
// cut with "…" when a few cells are left for it, else left out with
// those after it.
func joinFit(parts []string, sep string, w int) string {
	const least = 8 // cells worth showing of a part cut short
	out := ""
	for _, p := range parts {
		if p == "" {
			continue
		}
		next := p
		if out != "" {
			next = out + sep + p
		}
		if width(next) > w {
			if out == "" || w-width(out+sep) >= least {
				out = next
			}
			break
		}
		out = next
	}
	return fit(out, w)
}

// isArray reports whether j is an array's own record (not one of its
// tasks).
func isArray(j *api.Job) bool { return j.Spec.Array != nil && j.ArrayID == 0 }

// stateLetters is the job's state as qstat prints it; an array that still
// has tasks to run waits (qw), whatever its record says.
func stateLetters(j *api.Job) string {
	if isArray(j) && !j.State.Finished() {
		return "qw"
	}
	return j.StateLetters()
}

// stateRank orders state letters for sorting: running first.
func stateRank(letters string) int {
	switch letters {
	case "r":
		return 0
	case "dr":
		return 1
	case "s":
		return 2
	case "ds":
		return 3
	case "qw":
		return 4
	case "hqw":
		return 5
	}
	return 6
}

// jobRef is how to name j to the server: ID, ID.TASK for a task, ID for
// a whole array.
func jobRef(j *api.Job) api.JobRef {
	if j.ArrayID != 0 {
		return api.JobRef{ID: j.ArrayID, Task: j.TaskID}
	}
	return api.JobRef{ID: j.ID}
}

// rowRef is the ID column of j's row: ID, ID.TASK, or for an array's
// tasks not started yet ID.RANGE (12.5-999:2), as gstat's job-ID and
// ja-task-ID together.
func rowRef(j *api.Job) string {
	if isArray(j) {
		if tasks := waitingTasks(j); tasks != "" {
			return strconv.FormatInt(j.ID, 10) + "." + tasks
		}
	}
	return j.Ref()
}

// waitingTasks is the tasks of array j not created yet as gstat shows
// them (5-999:2, 7, runs joined by commas); "" when all were.
func waitingTasks(j *api.Job) string {
	runs := j.Spec.Array.Remaining(j.Tasks)
	parts := make([]string, len(runs))
	for i, r := range runs {
		if r.First == r.Last {
			parts[i] = strconv.FormatInt(r.First, 10)
		} else {
			parts[i] = r.String()
		}
	}
	return strings.Join(parts, ",")
}

// priorityOf is gstat's normalised priority (0..1): what the scheduler
// last computed, else 0.5 for the default -p 0, higher for a higher -p.
func priorityOf(j *api.Job) float64 {
	if len(j.Priority.Parts) > 0 {
		return j.Priority.Value
	}
	return min(max(0.5+float64(j.Spec.Priority)/2048, 0), 1)
}

// elapsed is the TIME column: how long a waiting job has waited, how long
// a started one has run.
func elapsed(j *api.Job, now time.Time) time.Duration {
	if (j.State.Active() || j.State.Finished()) && !j.Started.IsZero() {
		end := now
		if !j.Ended.IsZero() {
			end = j.Ended
		}
		return end.Sub(j.Started)
	}
	return now.Sub(j.Submitted)
}

// shortDuration renders d in at most 6 cells: 42s, 12m05s, 3h04m, 2d03h.
func shortDuration(d time.Duration) string {
	s := max(int64(d/time.Second), 0)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s/60%60)
	case s < 100*86400:
		return fmt.Sprintf("%dd%02dh", s/86400, s/3600%24)
	}
	return fmt.Sprintf("%dd", s/86400)
}

// roughDuration renders d as gctl does for quota periods: 9d 12h, 3h 5m,
// 12m.
func roughDuration(d time.Duration) string {
	m := max(int64(d/time.Minute), 0)
	switch {
	case m >= 24*60 && m/60%24 == 0:
		return fmt.Sprintf("%dd", m/(24*60))
	case m >= 24*60:
		return fmt.Sprintf("%dd %dh", m/(24*60), m/60%24)
	case m >= 60 && m%60 == 0:
		return fmt.Sprintf("%dh", m/60)
	case m >= 60:
		return fmt.Sprintf("%dh %dm", m/60, m%60)
	}
	return fmt.Sprintf("%dm", m)
}

// humanBytes renders a size with a binary unit, one decimal below 10:
// 512M, 1.5G, 64G.
func humanBytes(b int64) string {
	switch {
	case b == 0:
		return "0"
	case b < 1024:
		return strconv.FormatInt(b, 10) + "B"
	}
	const units = "KMGTPE"
	v, i := float64(b)/1024, 0
	for v >= 1023.95 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if v < 9.95 && v != math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 1, 64) + units[i:i+1]
	}
	return strconv.FormatFloat(math.Round(v), 'f', 0, 64) + units[i:i+1]
}

// hours renders seconds as hours, as gctl quota does ("12.4h").
func hours(seconds float64) string { return quota.Hours(seconds) + "h" }

// gibHours renders byte·seconds as G·hours ("24.8G·h").
func gibHours(byteSeconds float64) string { return quota.Hours(byteSeconds/(1<<30)) + "G·h" }

// percent renders a 0..1 fraction as 42.0%.
func percent(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" }

// errorText is what the user reads of err: the server's own sentence when
// it gave one.
func errorText(err error) string {
	var e *api.Error
	if errors.As(err, &e) && e.Message != "" {
		return safe(e.Message)
	}
	switch {
	case errors.Is(err, api.ErrDenied):
		return "permission denied"
	case errors.Is(err, api.ErrNotFound):
		return "no such job"
	case errors.Is(err, api.ErrConflict):
		return "not possible in the job's current state"
	}
	return safe(err.Error())
}

// safe is s without what could drive the terminal: text from the server
// (job names, reasons, paths: what users chose) is drawn through it.
func safe(s string) string {
	for _, r := range s {
		if r < 0x20 || r >= 0x7f && r < 0xa0 || r == utf8.RuneError {
			return clean([]byte(s))
		}
	}
	return s
}

// clean makes a line of a job's output safe to draw: valid UTF-8, what
// follows the last carriage return (a progress bar's latest state), no
// escape sequences or control characters, tabs expanded.
func clean(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.TrimSuffix(s, "\r")
	if i := strings.LastIndexByte(s, '\r'); i >= 0 {
		s = s[i+1:]
	}
	s = ansi.Strip(s)
	var sb strings.Builder
	col := 0
	for _, r := range s {
		switch {
		case r == '\t':
			n := 8 - col%8
			sb.WriteString(strings.Repeat(" ", n))
			col += n
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
			// dropped: a control character could move the cursor
		default:
			sb.WriteRune(r)
			col += width(string(r))
		}
	}
	return sb.String()
}
