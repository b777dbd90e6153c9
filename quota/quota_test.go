package quota

import (
	"testing"
	"time"

	"github.com/godocker/godocker/api"
)

func TestPeriod(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		t          string
		d          time.Duration
		start, end string
	}{
		{"2026-11-23T15:04:05Z", day, "2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z"},
		{"2026-11-23T00:00:00Z", day, "2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z"}, // a period holds its start
		{"2026-11-23T23:59:59Z", day, "2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z"},
		{"2026-11-23T15:04:05+09:00", day, "2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z"}, // periods are UTC
		{"2026-11-23T15:04:05Z", 7 * day, "2026-11-19T00:00:00Z", "2026-11-26T00:00:00Z"},  // Thursdays
		{"2026-11-23T15:04:05Z", time.Hour, "2026-11-23T15:00:00Z", "2026-11-23T16:00:00Z"},
		{"1969-12-31T12:00:00Z", day, "1969-12-31T00:00:00Z", "1970-01-01T00:00:00Z"}, // before the epoch
	} {
		at, _ := time.Parse(time.RFC3339, tc.t)
		start, end := Period(at, tc.d)
		if got := start.Format(time.RFC3339); got != tc.start {
			t.Errorf("Period(%s, %v) starts %s, want %s", tc.t, tc.d, got, tc.start)
		}
		if got := end.Format(time.RFC3339); got != tc.end {
			t.Errorf("Period(%s, %v) ends %s, want %s", tc.t, tc.d, got, tc.end)
		}
	}
}

func TestHeldCountsOnlyThePeriod(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 11, 23, h, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name                     string
		started, ended, from, to time.Time
		hours                    float64
	}{
		{"inside", at(2), at(5), at(0), at(24), 3},
		{"started before the period", at(0).Add(-2 * time.Hour), at(1), at(0), at(24), 1},
		{"still running at the end", at(22), at(26), at(0), at(24), 2},
		{"over before the period", at(0).Add(-5 * time.Hour), at(0).Add(-1 * time.Hour), at(0), at(24), 0},
		{"ends before it starts", at(5), at(4), at(0), at(24), 0},
	} {
		got := Held(4, 2<<30, 1, tc.started, tc.ended, tc.from, tc.to)
		want := api.Quota{CPUSeconds: 4 * tc.hours * 3600, MemorySeconds: 2 << 30 * tc.hours * 3600, GPUSeconds: tc.hours * 3600}
		if got != want {
			t.Errorf("%s: Held = %+v, want %+v", tc.name, got, want)
		}
	}
}

func TestExhausted(t *testing.T) {
	resets := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	budget := api.Quota{CPUSeconds: 100 * 3600, MemorySeconds: 2000 * 3600 * (1 << 30)}
	for _, tc := range []struct {
		name string
		used api.Quota
		want string // "" = not exhausted
	}{
		{"nothing used", api.Quota{}, ""},
		{"just under", api.Quota{CPUSeconds: 100*3600 - 1}, ""},
		{"cpu spent exactly", api.Quota{CPUSeconds: 100 * 3600},
			"user alice has spent its cpu quota of 100h (100h used); it resets at 2026-12-01 00:00 UTC"},
		{"memory over", api.Quota{CPUSeconds: 3600, MemorySeconds: 2500.5 * 3600 * (1 << 30)},
			"user alice has spent its memory quota of 2000G·h (2500.5G·h used); it resets at 2026-12-01 00:00 UTC"},
		{"no gpu budget: gpu use is free", api.Quota{GPUSeconds: 1e9}, ""},
	} {
		r, ok := Exhausted(api.KindUser, "alice", budget, tc.used, resets)
		if ok != (tc.want != "") || r.Message != tc.want {
			t.Errorf("%s: Exhausted = %q, %v; want %q", tc.name, r.Message, ok, tc.want)
		}
		if ok && r.Code != api.ReasonQuota {
			t.Errorf("%s: code %q, want %q", tc.name, r.Code, api.ReasonQuota)
		}
	}
	if _, ok := Exhausted(api.KindProject, "bio", api.Quota{}, api.Quota{CPUSeconds: 1e12}, resets); ok {
		t.Error("no budget at all (0 = none) is never exhausted")
	}
}

func TestHours(t *testing.T) {
	for s, want := range map[float64]string{0: "0", 3600: "1", 360000: "100", 5400: "1.5", 45: "0.01", 18: "0.005", 0.36: "0.0001", 1.3: "0.00036", 3600 * 12.345: "12.35"} {
		if got := Hours(s); got != want {
			t.Errorf("Hours(%v) = %q, want %q", s, got, want)
		}
	}
}
