package docker

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
)

// TestKillWhileStarting: a job deleted while Start is between creating
// and starting its container (the job is marked running already) is
// killed once the container starts, not left running.
func TestKillWhileStarting(t *testing.T) {
	e, err := New(context.Background(), "docker", executor.Config{})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	defer e.Close()
	ctx := t.Context()
	j := &api.Job{ID: 1<<41 + time.Now().UnixNano()%(1<<30), Attempt: 1, Run: &api.Run{
		Image: "godocker/base:latest", Argv: []string{"sleep", "300"}, WorkDir: "/", UID: 65534, GID: 65534, Memory: 64 << 20, Pids: 64,
	}}
	name := executor.ContainerName("", j)
	cfg, hc := e.containerConfig(j)
	if _, err := e.cli.ContainerCreate(ctx, cfg, hc, nil, nil, name); err != nil {
		t.Fatal(err)
	}
	defer e.cli.ContainerRemove(context.Background(), name, container.RemoveOptions{Force: true})

	killed := make(chan error, 1)
	go func() { killed <- e.Kill(ctx, j) }()
	time.Sleep(300 * time.Millisecond) // Start, slow between create and start
	if err := e.cli.ContainerStart(ctx, name, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-killed:
		if err != nil {
			t.Fatalf("Kill of a container being started: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Kill did not return")
	}
	wait, errc := e.cli.ContainerWait(ctx, name, container.WaitConditionNotRunning)
	select {
	case w := <-wait:
		if w.StatusCode != 137 {
			t.Errorf("the container ended with %d, want 137 (killed)", w.StatusCode)
		}
	case err := <-errc:
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("the container started after Kill is still running")
	}
}
