package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// target is what a figure should reach: Op is ">=" or "<=".
type target struct {
	Op    string
	Value float64
}

func atLeast(v float64) *target { return &target{Op: ">=", Value: v} }
func atMost(v float64) *target  { return &target{Op: "<=", Value: v} }

func (t *target) met(v float64) bool {
	if t.Op == ">=" {
		return v >= t.Value
	}
	return v <= t.Value
}

// Figure is one row of the table: a measure, the samples it was taken
// from (one per run) and, if it has one, its target.
type Figure struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Unit    string    `json:"unit"`
	Median  float64   `json:"median"`
	Samples []float64 `json:"samples"`
	Target  string    `json:"target,omitempty"`
	OK      *bool     `json:"ok,omitempty"`
	// Text, when set, is shown instead of the median: "2,000 of 2,000".
	Text string `json:"text,omitempty"`

	target *target
	note   string // shown in the target column of a row without target
	sub    bool   // an indented row that qualifies the one above
}

// newFigure makes a figure of samples; t may be nil (no target).
func newFigure(id, name, unit string, samples []float64, t *target) *Figure {
	f := &Figure{ID: id, Name: name, Unit: unit, Samples: samples, Median: median(samples), target: t}
	if t != nil {
		ok := t.met(f.Median)
		f.OK = &ok
		f.Target = t.Op + " " + formatValue(t.Value, unit)
	}
	return f
}

// verdict is the last column: ok, MISSED, or nothing without a target.
func (f *Figure) verdict() string {
	switch {
	case f.OK == nil:
		return ""
	case *f.OK:
		return "ok"
	}
	return "MISSED"
}

func median(s []float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	c := slices.Clone(s)
	slices.Sort(c)
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

// formatValue prints a value with its unit, as many decimals as its size
// calls for and thousands separators: 181 jobs/s, 12.3 ms, 1.25 ×.
func formatValue(v float64, unit string) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	var s string
	switch a := math.Abs(v); {
	case a >= 100:
		s = group(strconv.FormatFloat(v, 'f', 0, 64))
	case a >= 10:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	default:
		s = strconv.FormatFloat(v, 'f', 2, 64)
	}
	if unit == "" {
		return s
	}
	return s + " " + unit
}

// signed is formatValue with a sign, for differences.
func signed(v float64, unit string) string {
	s := formatValue(v, unit)
	if v >= 0 {
		return "+" + s
	}
	return s
}

// group puts thousands separators in a decimal number.
func group(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	out := b.String()
	if hasFrac {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

// count prints an integer with thousands separators.
func count(n int) string { return group(strconv.Itoa(n)) }

// report is the figures of one benchmark run and what it ran on.
type report struct {
	Header  string    `json:"header"`
	Date    time.Time `json:"date"`
	Host    hostInfo  `json:"host"`
	Runs    int       `json:"runs"`
	Scale   float64   `json:"scale"`
	Figures []*Figure `json:"figures"`
}

func (r *report) add(f ...*Figure) { r.Figures = append(r.Figures, f...) }

// writeTable prints the header line and the table.
func (r *report) writeTable(w io.Writer) {
	fmt.Fprintln(w, r.Header)
	rows := [][4]string{{"figure", "median", "target", "verdict"}}
	for _, f := range r.Figures {
		name, value, tgt := f.Name, f.Text, f.Target
		if f.sub {
			name = "  " + name
		}
		if value == "" {
			value = formatValue(f.Median, f.Unit)
		}
		if tgt == "" {
			tgt = f.note
		}
		rows = append(rows, [4]string{name, value, tgt, f.verdict()})
	}
	var width [3]int
	for _, row := range rows {
		for i := range width {
			width[i] = max(width[i], len([]rune(row[i])))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		for i := range width {
			b.WriteString(row[i])
			b.WriteString(strings.Repeat(" ", width[i]-len([]rune(row[i]))+2))
		}
		b.WriteString(row[3])
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// writeJSON saves the report to path.
func (r *report) writeJSON(path string) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encode the figures: %w", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write the figures: %w", err)
	}
	return nil
}
