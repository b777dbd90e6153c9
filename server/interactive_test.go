package server

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
)

// TestInteractiveJob: gsub -I stores a job that runs nothing but waits
// (a long-lived process as the user), with no script in its directory.
func TestInteractiveJob(t *testing.T) {
	h := newHarness(t, nil)
	j := h.launched(h.submit(h.alice, api.Spec{Interactive: true, CPUs: 1, Memory: gib}).ID)
	if j.Name != InteractiveName {
		t.Errorf("name %q, want %q", j.Name, InteractiveName)
	}
	if !slices.Equal(j.Run.Argv[len(j.Run.Argv)-3:], []string{"exec", "sleep", "infinity"}) {
		t.Errorf("argv %q: want the wrapper, then exec sleep infinity", j.Run.Argv)
	}
	if j.Run.UID != h.alice.UID || j.Run.GID != h.alice.GID {
		t.Errorf("runs as %d:%d, want alice's %d:%d", j.Run.UID, j.Run.GID, h.alice.UID, h.alice.GID)
	}
	if _, err := os.Stat(filepath.Join(j.Dir, ScriptName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("job.sh in an interactive job's directory: %v", err)
	}
	h.waitState(j.ID, api.Running)
}

func TestInteractiveJobRefusals(t *testing.T) {
	h := newHarness(t, nil)
	for name, spec := range map[string]api.Spec{
		"script":  {Interactive: true, Script: "echo hi\n"},
		"command": {Interactive: true, Command: []string{"true"}},
		"args":    {Interactive: true, Args: []string{"x"}},
		"array":   {Interactive: true, Array: &api.Array{First: 1, Last: 2, Step: 1}},
	} {
		_, err := h.srv.submit(context.Background(), h.alice, spec)
		if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "interactive") {
			t.Errorf("interactive job with a %s: %v, want an invalid request naming interactive jobs", name, err)
		}
	}
	if n, _ := h.st.Count(context.Background(), store.Query{}); n != 0 {
		t.Errorf("%d jobs stored after refusals", n)
	}
}
