package tui

import (
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// screen is an Out for Run that tests may read while gtop writes.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor waits until the screen has shown text.
func (s *screen) waitFor(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(s.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("the screen never showed %q:\n%q", text, s.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sgr matches the escape sequences that set colours and attributes.
var sgr = regexp.MustCompile("\x1b\\[[0-9;]*m")

// TestRunAsTheGatewayDoes runs gtop on a pipe and a buffer, as the SSH
// gateway does with a session: the given size, a resize, a key to quit.
func TestRunAsTheGatewayDoes(t *testing.T) {
	f := newFake()
	in, keys := io.Pipe()
	defer keys.Close()
	out := &screen{}
	resize := make(chan Size)
	done := make(chan error, 1)
	go func() {
		done <- Run(t.Context(), f, Options{
			In: in, Out: out, Env: []string{"TERM=xterm-256color", "NO_COLOR=1"},
			Size: Size{Width: 100, Height: 30}, Resize: resize, Remote: true,
		})
	}()
	out.waitFor(t, "waiting for job")
	resize <- Size{Width: 60, Height: 20}
	out.waitFor(t, "align-ge…")
	close(resize) // the gateway closes it at the end; gtop goes on
	if _, err := keys.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("q did not end Run")
	}
	if m := sgr.FindString(out.String()); m != "" {
		t.Errorf("NO_COLOR: the output sets colours (%q)", m)
	}
}

// TestRunColoursFromEnv: the profile comes from Env, not from the test's
// standard output (no terminal).
func TestRunColoursFromEnv(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	out := &screen{}
	in, keys := io.Pipe()
	defer keys.Close()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, newFake(), Options{In: in, Out: out, Env: []string{"TERM=xterm-256color"}, Size: Size{Width: 100, Height: 30}})
	}()
	out.waitFor(t, "waiting for job")
	cancel() // the client went away
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run ended by its context: %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the end of ctx did not end Run")
	}
	if sgr.FindString(out.String()) == "" {
		t.Error("TERM=xterm-256color: no colour in the output")
	}
}

// TestRunWithoutServer: the client's error, before the screen is taken.
func TestRunWithoutServer(t *testing.T) {
	f := newFake()
	f.whoErr = errors.New("cannot reach godockerd at /run/godocker/godockerd.sock (is it running?)")
	out := &screen{}
	err := Run(t.Context(), f, Options{In: strings.NewReader(""), Out: out, Env: []string{"TERM=xterm"}})
	if err == nil || !strings.Contains(err.Error(), "cannot reach godockerd") {
		t.Fatalf("Run: %v", err)
	}
	if out.String() != "" {
		t.Errorf("the screen was written: %q", out.String())
	}
}
