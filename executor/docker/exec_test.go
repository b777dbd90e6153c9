package docker_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/executor/executortest"
)

// TestExecSignal signals an exec'd process without a TTY: right after
// Exec (the engine may not have started it yet), then after its end.
func TestExecSignal(t *testing.T) {
	t.Parallel()
	ex := engine(t)
	j := newJob("sleep", "300")
	ev := executortest.Watch(t, ex)
	start(t, ex, j)
	ev.Expect(t, j, executor.Started)

	s, err := ex.Exec(ctx(t), j, executor.ExecRequest{Cmd: []string{"sleep", "300"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { io.Copy(io.Discard, s.Stdout()) })
	wg.Go(func() { io.Copy(io.Discard, s.Stderr()) })
	if err := s.Signal(ctx(t), syscall.SIGTERM); err != nil {
		t.Fatalf("Signal(SIGTERM): %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx(t), 10*time.Second)
	defer cancel()
	code, err := s.Wait(wctx)
	// The engine reports a death by signal as 128 + the signal's number.
	if err != nil || code != 128+int(syscall.SIGTERM) {
		t.Errorf("Wait after SIGTERM: exit %d, %v; want %d", code, err, 128+syscall.SIGTERM)
	}
	if err := s.Signal(ctx(t), syscall.SIGTERM); err != nil {
		t.Errorf("Signal after the process ended: %v, want nil", err)
	}
}

// TestExecSignalTTY hangs up a shell on a terminal that traps SIGHUP.
func TestExecSignalTTY(t *testing.T) {
	t.Parallel()
	ex := engine(t)
	j := newJob("sleep", "300")
	ev := executortest.Watch(t, ex)
	start(t, ex, j)
	ev.Expect(t, j, executor.Started)

	script := `trap "echo got-hup; exit 7" HUP; echo ready; while :; do sleep 1; done`
	s, err := ex.Exec(ctx(t), j, executor.ExecRequest{Cmd: []string{"sh", "-c", script}, TTY: true, Rows: 24, Cols: 80})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := &lines{ready: make(chan struct{})}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		io.Copy(out, s.Stdout())
	}()
	select {
	case <-out.ready:
	case <-copied:
		t.Fatalf("output ended before \"ready\": %q", out.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("no \"ready\" in 10s: %q", out.String())
	}
	if err := s.Signal(ctx(t), syscall.SIGHUP); err != nil {
		t.Fatalf("Signal(SIGHUP): %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx(t), 10*time.Second)
	defer cancel()
	code, err := s.Wait(wctx)
	<-copied
	if err != nil || code != 7 || !strings.Contains(out.String(), "got-hup") {
		t.Errorf("after SIGHUP: output %q, exit %d, %v; want got-hup, exit 7", out.String(), code, err)
	}
}

// lines collects output and closes ready once a line "ready" came.
type lines struct {
	mu    sync.Mutex
	b     strings.Builder
	ready chan struct{}
	once  sync.Once
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	if strings.Contains(l.b.String(), "ready\r\n") {
		l.once.Do(func() { close(l.ready) })
	}
	return len(p), nil
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
