package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSmoke runs the whole benchmark in-process at 1% of its size, once,
// and checks that every figure was measured and no acknowledged job was
// lost to kill -9. It needs root and a Docker engine; under CI (CI=true)
// their absence is a failure, not a skip.
func TestSmoke(t *testing.T) {
	if why := unavailable(); why != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), "figures.json")
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"-scale", "0.01", "-runs", "1", "-json", path}, &stdout, &stderr)
	t.Logf("table:\n%s", stdout.String())
	if err != nil {
		t.Fatalf("sysbench: %v\nprogress:\n%s", err, stderr.String())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("the JSON figures: %v", err)
	}
	got := map[string]*Figure{}
	for _, f := range rep.Figures {
		got[f.ID] = f
	}
	want := []string{
		"submit.cli", "submit.cli_true", "submit.cli_ratio", "submit.api", "submit.api_threads", "submit.api_full", "submit.durable",
		"array.cli", "array.api",
		"gstat.all_10k", "gstat.own_10k", "gstat.all_100k", "gstat.own_100k",
		"memory.api_rss", "memory.api_hwm", "memory.full_rss", "memory.full_hwm",
		"drain.godocker", "drain.raw", "drain.ratio",
		"drain.raw_p1", "drain.raw_p2", "drain.raw_p4", "drain.raw_p8", "drain.raw_p16",
		"latency.godocker", "latency.docker", "latency.diff",
	}
	for _, id := range want {
		f := got[id]
		switch {
		case f == nil:
			t.Errorf("figure %s is missing", id)
		case id == "latency.diff":
			// A difference may be negative; it must be a number.
			if math.IsNaN(f.Median) || len(f.Samples) == 0 {
				t.Errorf("figure %s: median %v, samples %v", id, f.Median, f.Samples)
			}
		case !(f.Median > 0) || len(f.Samples) == 0:
			t.Errorf("figure %s (%s): median %v, samples %v; want a positive median", id, f.Name, f.Median, f.Samples)
		case !strings.Contains(stdout.String(), f.Name):
			t.Errorf("figure %s (%s) is not in the table", id, f.Name)
		}
	}
	if len(rep.Figures) != len(want) {
		t.Errorf("%d figures; want %d", len(rep.Figures), len(want))
	}
	if d := got["submit.durable"]; d != nil && (d.OK == nil || !*d.OK) {
		t.Errorf("durability: %s acknowledged jobs found after kill -9", d.Text)
	}
	if !strings.HasPrefix(stdout.String(), "GoDocker system benchmark — ") {
		t.Errorf("the table does not start with its header:\n%s", stdout.String())
	}
}

// unavailable says why the benchmark cannot run here, or "".
func unavailable() string {
	if os.Geteuid() != 0 {
		return "needs root: it runs godockerd and acts as test users"
	}
	if out, err := exec.Command("docker", "image", "inspect", image).CombinedOutput(); err != nil {
		return "needs a Docker engine with " + image + " (make deps image): " + strings.TrimSpace(string(out))
	}
	return ""
}
