package docker_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/executor/docker"
	"github.com/godocker/godocker/executor/executortest"
)

// server is a job that serves "hello" over HTTP on the container's
// loopback only.
func server() *api.Job {
	return newJob("sh", "-c", "mkdir -p /tmp/www && echo hello >/tmp/www/index.html && exec httpd -f -p 127.0.0.1:8888 -h /tmp/www")
}

// get fetches / from port in j's container through DialJob, retrying
// while the server is not listening yet.
func get(t *testing.T, ex *docker.Executor, j *api.Job, port int) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var conn net.Conn
	for {
		var err error
		conn, err = ex.DialJob(ctx(t), j, port)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.ECONNREFUSED) || time.Now().After(deadline) {
			t.Fatalf("DialJob(%d): %v", port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET / HTTP/1.0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDialJob(t *testing.T) {
	t.Parallel()
	ex := engine(t)
	none, err := docker.New(ctx(t), "none", executor.Config{Type: "docker", Network: "none"})
	if err != nil {
		t.Fatal(err)
	}
	defer none.Close()
	for _, ex := range []*docker.Executor{ex, none} {
		t.Run("network="+ex.Name(), func(t *testing.T) {
			j := server()
			ev := executortest.Watch(t, ex)
			start(t, ex, j)
			ev.Expect(t, j, executor.Started)
			c, err := ex.Client().ContainerInspect(ctx(t), executor.ContainerName("", j))
			if err != nil {
				t.Fatal(err)
			}
			if want := map[string]string{"docker": "default", "none": "none"}[ex.Name()]; string(c.HostConfig.NetworkMode) != want {
				t.Fatalf("network mode %q, want %q", c.HostConfig.NetworkMode, want)
			}
			if got := get(t, ex, j, 8888); !strings.HasPrefix(got, "HTTP/1.1 200 ") || !strings.HasSuffix(got, "\r\n\r\nhello\n") {
				t.Errorf("GET / from port 8888 in the container: %q, want 200 and hello", got)
			}
			if _, err := ex.DialJob(ctx(t), j, 8889); !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("DialJob to a port nobody listens on: %v, want connection refused", err)
			}
		})
	}

	for _, port := range []int{0, -1, 70000} {
		if conn, err := ex.DialJob(ctx(t), newJob("true"), port); err == nil || errors.Is(err, executor.ErrNotFound) {
			if conn != nil {
				conn.Close()
			}
			t.Errorf("DialJob to port %d: %v, want an invalid port", port, err)
		}
	}
	if _, err := ex.DialJob(ctx(t), newJob("true"), 8888); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("DialJob in a missing container: %v, want ErrNotFound", err)
	}
	exited := newJob("true")
	run(t, ex, exited)
	if _, err := ex.DialJob(ctx(t), exited, 8888); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("DialJob in an exited container: %v, want ErrNotFound", err)
	}

	// No thread of this process was left in a container's network.
	own, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	nss, _ := filepath.Glob("/proc/self/task/*/ns/net")
	for _, p := range nss {
		if ns, err := os.Readlink(p); err == nil && ns != own {
			t.Errorf("%s is %s, want the process's %s", p, ns, own)
		}
	}
}

// TestDialJobCanceled checks that DialJob respects its context.
func TestDialJobCanceled(t *testing.T) {
	t.Parallel()
	ex := engine(t)
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	if _, err := ex.DialJob(c, newJob("true"), 8888); !errors.Is(err, context.Canceled) {
		t.Errorf("DialJob with a canceled context: %v", err)
	}
}
