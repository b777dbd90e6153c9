package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"

	"github.com/godocker/godocker/executor"
)

// TestStaleEtcReadersRemoved: an executor that opens removes the
// containers that read images' users and were left over (a godockerd
// killed during a read): its installation's and those of no installation,
// once they are old enough not to be another process's read at work. It
// leaves another installation's alone, and every other container.
func TestStaleEtcReadersRemoved(t *testing.T) {
	ctx := t.Context()
	probe, err := New(ctx, "docker", executor.Config{})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	defer probe.Close()
	id := func() string {
		b := make([]byte, 6)
		rand.Read(b)
		return hex.EncodeToString(b)
	}
	ours, theirs := id(), id()
	create := func(labels map[string]string) string {
		t.Helper()
		c, err := probe.cli.ContainerCreate(ctx, &container.Config{Image: "godocker/base:latest", Entrypoint: []string{"/bin/true"}, Labels: labels},
			&container.HostConfig{NetworkMode: "none"}, nil, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = probe.cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
		})
		return c.ID
	}
	exists := func(id string) bool {
		t.Helper()
		_, err := probe.cli.ContainerInspect(ctx, id)
		if err != nil && !cerrdefs.IsNotFound(err) {
			t.Fatal(err)
		}
		return err == nil
	}
	open := func() {
		t.Helper()
		e, err := New(ctx, "docker", executor.Config{Installation: ours})
		if err != nil {
			t.Fatal(err)
		}
		e.Close()
	}
	oursID := create(map[string]string{labelEtcReader: "1", executor.LabelInstallation: ours})
	theirsID := create(map[string]string{labelEtcReader: "1", executor.LabelInstallation: theirs})
	oldID := create(map[string]string{labelEtcReader: "1"})
	otherID := create(map[string]string{executor.LabelInstallation: ours})

	open() // all are younger than staleEtcReader: reads that may be at work
	for name, id := range map[string]string{"ours": oursID, "another installation's": theirsID, "of no installation": oldID, "not a reader": otherID} {
		if !exists(id) {
			t.Errorf("container %s was removed while fresh", name)
		}
	}

	// Old enough now; a read at work elsewhere on the engine (other tests)
	// takes far less.
	d := staleEtcReader
	defer func() { staleEtcReader = d }()
	staleEtcReader = 1500 * time.Millisecond
	time.Sleep(2 * staleEtcReader)
	open()
	for name, c := range map[string]struct {
		id   string
		kept bool
	}{
		"ours":                   {oursID, false},
		"of no installation":     {oldID, false},
		"another installation's": {theirsID, true},
		"not a reader":           {otherID, true},
	} {
		if got := exists(c.id); got != c.kept {
			t.Errorf("stale reader container %s: kept %v, want %v", name, got, c.kept)
		}
	}
}

// TestStaleEtcReadersSwept: a reader container left over just before the
// executor opened (a godockerd killed and restarted at once) is removed
// once it is stale, while the executor runs.
func TestStaleEtcReadersSwept(t *testing.T) {
	d := staleEtcReader
	defer func() { staleEtcReader = d }()
	staleEtcReader = time.Second
	inst := hex.EncodeToString([]byte(t.Name())[:6])
	e, err := New(t.Context(), "docker", executor.Config{Installation: inst})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	defer e.Close()
	c, err := e.cli.ContainerCreate(t.Context(), &container.Config{Image: "godocker/base:latest", Entrypoint: []string{"/bin/true"},
		Labels: map[string]string{labelEtcReader: "1", executor.LabelInstallation: inst}}, &container.HostConfig{NetworkMode: "none"}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer e.cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
	deadline := time.Now().Add(10 * staleEtcReader)
	for time.Now().Before(deadline) {
		if _, err := e.cli.ContainerInspect(t.Context(), c.ID); cerrdefs.IsNotFound(err) {
			return
		}
		time.Sleep(staleEtcReader / 10)
	}
	t.Errorf("a stale reader container was still there %v after it was made", 10*staleEtcReader)
}
