package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dockerclient "github.com/docker/docker/client"
)

// image is what every job and every baseline container runs.
const image = "godocker/base:latest"

// benchLabel marks the containers the benchmark creates itself.
const benchLabel = "godocker.sysbench"

// connectDocker opens the engine's API and checks the image is there.
func connectDocker(ctx context.Context) (*dockerclient.Client, string, error) {
	dc, err := dockerclient.NewClientWithOpts(dockerclient.FromEnv, dockerclient.WithAPIVersionNegotiation())
	if err != nil {
		return nil, "", fmt.Errorf("docker client: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := dc.ServerVersion(ctx)
	if err != nil {
		dc.Close()
		return nil, "", fmt.Errorf("no Docker engine answers: %w", err)
	}
	if _, err := dc.ImageInspect(ctx, image); err != nil {
		dc.Close()
		return nil, "", fmt.Errorf("image %s is missing (make image): %w", image, err)
	}
	return dc, v.Version, nil
}

// removeContainers removes the jobs' containers (label godocker.job) that
// mount something under dir, and the benchmark's own when dir is its
// root: what a stopped server or an interrupted run leaves behind.
func (b *bench) removeContainers(ctx context.Context, dir string) error {
	if b.docker == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	var victims []string
	for _, label := range []string{"godocker.job", benchLabel} {
		if label == benchLabel && dir != b.tmp {
			continue
		}
		list, err := b.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", label))})
		if err != nil {
			return fmt.Errorf("list containers to remove: %w", err)
		}
		for _, c := range list {
			if label == benchLabel {
				victims = append(victims, c.ID)
				continue
			}
			for _, m := range c.Mounts {
				if strings.HasPrefix(m.Source, dir+"/") {
					victims = append(victims, c.ID)
					break
				}
			}
		}
	}
	for _, id := range victims {
		if err := b.docker.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("remove container %.12s: %w", id, err)
		}
	}
	return nil
}

// hostInfo is what the figures were measured on.
type hostInfo struct {
	Name   string `json:"name"`
	CPUs   int    `json:"cpus"`
	Model  string `json:"cpu_model"`
	Docker string `json:"docker"`
}

func readHost(dockerVersion string) hostInfo {
	h := hostInfo{CPUs: runtime.NumCPU(), Docker: dockerVersion, Model: "unknown cpu"}
	h.Name, _ = os.Hostname()
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				h.Model = strings.TrimSpace(v)
				break
			}
		}
	}
	return h
}
