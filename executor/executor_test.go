package executor_test

import (
	"testing"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
)

func TestContainerName(t *testing.T) {
	j := &api.Job{ID: 42, Attempt: 3}
	if got := executor.ContainerName("", j); got != "godocker-42-3" {
		t.Errorf("ContainerName without installation = %q, want godocker-42-3 (the names of before)", got)
	}
	if got := executor.ContainerName("0a1b2c3d4e5f", j); got != "godocker-0a1b2c3d4e5f-42-3" {
		t.Errorf("ContainerName = %q, want godocker-0a1b2c3d4e5f-42-3", got)
	}
}

// TestContainerOf: the name the server recorded wins (a job started before
// installations existed keeps its container), else the installation's.
func TestContainerOf(t *testing.T) {
	j := &api.Job{ID: 42, Attempt: 3}
	if got := executor.ContainerOf("0a1b2c3d4e5f", j); got != "godocker-0a1b2c3d4e5f-42-3" {
		t.Errorf("ContainerOf a job with no recorded container = %q, want the installation's name", got)
	}
	if got := executor.ContainerOf("", j); got != "godocker-42-3" {
		t.Errorf("ContainerOf without installation = %q, want godocker-42-3", got)
	}
	j.Container = "godocker-42-3"
	if got := executor.ContainerOf("0a1b2c3d4e5f", j); got != "godocker-42-3" {
		t.Errorf("ContainerOf a job whose container was recorded = %q, want the recorded godocker-42-3", got)
	}
}
