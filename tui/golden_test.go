package tui

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"
)

// TestGolden runs gtop in Bubble Tea (teatest) on the fake cluster at
// fixed sizes, with the fixed clock and no colour, goes to a view with
// keys, and compares the final screen with testdata/TestGolden/*.golden
// (go test ./tui -run TestGolden -update rewrites them).
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		w, h int
		keys []string
		// want: texts of the screen that show that everything it draws
		// was read (the screen is drawn again as data comes).
		want []string
	}{
		{"queue_120x30", 120, 30, nil, []string{"live", "align-genome-hg38", "9/24", "share 62.0%", "quota left", "node2 cpu 2/8"}},
		{"queue_60x20", 60, 20, nil, []string{"live", "align-ge…", "cpus 9/24"}},
		{"queue_all_users_100x24", 100, 24, []string{"u", ">", ">", ">"}, []string{"all users", "blast", "needs 8 cpus"}},
		{"details_120x40", 120, 40, []string{"down", "enter"}, []string{"job_number:", "scheduling info:", "waiting for job 12 (afterok)"}},
		{"details_interactive_80x40", 80, 40, []string{"down", "down", "down", "enter"}, []string{"enter it with ssh -p 2222 job-16@gw.example.org"}},
		{"nodes_120x30", 120, 30, []string{"2"}, []string{"docker@node1", "disk=ssd,zone=a"}},
		{"nodes_60x20", 60, 20, []string{"2"}, []string{"docker@node1", "FREE MEM"}},
		{"users_120x30", 120, 30, []string{"3"}, []string{"Projects", "memory 19975.2G·h", "resets in 9d 12h"}},
		{"tail_100x24", 100, 24, []string{"l"}, []string{"following", "chunk 2", "partial line"}},
		{"tail_stderr_100x24", 100, 24, []string{"l", "tab"}, []string{"[stderr]", "warning: low memory"}},
		{"help_100x30", 100, 30, []string{"?"}, []string{"close help", "reverse sort"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			cfg := testConfig(f, 0, 0) // the size comes as Bubble Tea's first message
			m := newModel(t.Context(), f, cfg)
			tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(tc.w, tc.h))
			// Everything the header shows was read.
			loaded := []string{"live", "share 62.0%", "gpus 1/2"}
			if tc.w >= 110 {
				loaded = append(loaded, "quota left")
			}
			if len(tc.keys) == 0 {
				loaded = append(loaded, tc.want...)
			}
			waitScreen(t, tm, loaded...)
			for _, k := range tc.keys {
				tm.Send(keyMsg(k))
			}
			if len(tc.keys) > 0 {
				waitScreen(t, tm, tc.want...)
			}
			if err := tm.Quit(); err != nil {
				t.Fatal(err)
			}
			final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*model)
			teatest.RequireEqualOutput(t, []byte(final.View()+"\n"))
		})
	}
}

// waitScreen waits until every text of want has been drawn since the
// last wait. The renderer draws only the lines that changed.
func waitScreen(t *testing.T, tm *teatest.TestModel, want ...string) {
	t.Helper()
	var out []byte
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := io.ReadAll(tm.Output())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
		var missing []string
		for _, w := range want {
			if !bytes.Contains(out, []byte(w)) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the screen does not show %q; drawn:\n%s", missing, out)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestGoldenQuitKeys: q and ctrl+c end the program.
func TestGoldenQuitKeys(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		f := newFake()
		tm := teatest.NewTestModel(t, newModel(t.Context(), f, testConfig(f, 0, 0)), teatest.WithInitialTermSize(80, 24))
		waitScreen(t, tm, "live")
		tm.Send(keyMsg(k))
		tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	}
}
