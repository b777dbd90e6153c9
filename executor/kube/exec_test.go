package kube_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"

	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/executor/kube"
)

// execServer plays the API server's pods/exec subresource as the kubelet
// serves it: the channel protocol v5 over a WebSocket (unless noWS, when
// it refuses WebSockets as API servers before 1.30 do), and v4 over
// SPDY. The process it runs is program.
type execServer struct {
	noWS bool

	mu   sync.Mutex
	reqs []execCall
}

// execCall is an exec request the server received.
type execCall struct {
	method, path, container string
	command                 []string
	stdin, stdout, stderr   bool
	tty                     bool
	websocket               bool
}

// size is a terminal size as the protocol sends it.
type size struct{ Width, Height uint16 }

func (s *execServer) calls() []execCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

func (s *execServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c := execCall{
		method: r.Method, path: r.URL.Path, container: q.Get("container"), command: q["command"],
		stdin: q.Get("stdin") == "true", stdout: q.Get("stdout") == "true", stderr: q.Get("stderr") == "true",
		tty: q.Get("tty") == "true", websocket: websocket.IsWebSocketUpgrade(r),
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, c)
	s.mu.Unlock()
	if r.URL.Path != "/api/v1/namespaces/"+ns+"/pods/godocker-1-1/exec" {
		http.NotFound(w, r)
		return
	}
	if c.websocket {
		if s.noWS {
			http.Error(w, "WebSockets are not supported here", http.StatusBadRequest)
			return
		}
		serveWebSocket(w, r, c)
		return
	}
	serveSPDY(w, r, c)
}

// program is the process the test server runs for an exec: it writes
// each line of its input to stdout as "out: LINE", each terminal size as
// "size ROWSxCOLS", and "bye" to stderr when its input ends, then exits
// with the code command[1].
func program(c execCall, stdin io.Reader, stdout, stderr io.Writer, sizes <-chan size) int {
	var mu sync.Mutex
	say := func(w io.Writer, s string) {
		mu.Lock()
		defer mu.Unlock()
		io.WriteString(w, s)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case sz, ok := <-sizes:
				if !ok {
					return
				}
				say(stdout, fmt.Sprintf("size %dx%d\n", sz.Height, sz.Width))
			case <-done:
				return
			}
		}
	})
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		say(stdout, "out: "+sc.Text()+"\n")
	}
	close(done)
	wg.Wait()
	if c.tty {
		stderr = stdout // one terminal
	}
	say(stderr, "bye\n")
	code, _ := strconv.Atoi(c.command[len(c.command)-1])
	return code
}

// exitStatus is the status the kubelet sends on the error channel.
func exitStatus(code int) []byte {
	st := metav1.Status{Status: metav1.StatusSuccess}
	if code != 0 {
		st = metav1.Status{
			Status: metav1.StatusFailure, Reason: "NonZeroExitCode",
			Message: fmt.Sprintf("command terminated with non-zero exit code: %d", code),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: "ExitCode", Message: strconv.Itoa(code)}}},
		}
	}
	b, _ := json.Marshal(st)
	return b
}

// serveWebSocket speaks the channel protocol v5: each message is a
// channel byte (0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize, 255
// close) and data.
func serveWebSocket(w http.ResponseWriter, r *http.Request, c execCall) {
	up := websocket.Upgrader{Subprotocols: []string{"v5.channel.k8s.io"}}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	var wmu sync.Mutex
	send := func(ch byte, p []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		return conn.WriteMessage(websocket.BinaryMessage, append([]byte{ch}, p...))
	}
	stdinR, stdinW := io.Pipe()
	defer stdinR.Close()
	sizes := make(chan size, 16)
	go func() {
		defer stdinW.Close()
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil || len(msg) == 0 {
				return
			}
			switch msg[0] {
			case 0:
				if _, err := stdinW.Write(msg[1:]); err != nil {
					return
				}
			case 4:
				var sz size
				if json.Unmarshal(msg[1:], &sz) == nil {
					sizes <- sz
				}
			case 255:
				if len(msg) > 1 && msg[1] == 0 {
					stdinW.Close()
				}
			}
		}
	}()
	code := program(c, stdinR, channel{1, send}, channel{2, send}, sizes)
	send(3, exitStatus(code))
	wmu.Lock()
	conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	wmu.Unlock()
}

// channel writes to one channel of a WebSocket connection.
type channel struct {
	id   byte
	send func(byte, []byte) error
}

func (c channel) Write(p []byte) (int, error) {
	if err := c.send(c.id, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// serveSPDY speaks the channel protocol v4 over SPDY: one stream per
// channel, named by its streamType header.
func serveSPDY(w http.ResponseWriter, r *http.Request, c execCall) {
	if _, err := httpstream.Handshake(r, w, []string{"v4.channel.k8s.io"}); err != nil {
		return
	}
	streams := make(chan httpstream.Stream, 8)
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(s httpstream.Stream, _ <-chan struct{}) error {
		streams <- s
		return nil
	})
	if conn == nil {
		return
	}
	defer conn.Close()
	want := 1 // error
	for _, b := range []bool{c.stdin, c.stdout, c.stderr && !c.tty, c.tty} {
		if b {
			want++
		}
	}
	byType := map[string]httpstream.Stream{}
	for len(byType) < want {
		select {
		case s := <-streams:
			byType[s.Headers().Get(corev1.StreamType)] = s
		case <-time.After(timeout):
			return
		}
	}
	sizes := make(chan size, 16)
	if rs := byType[corev1.StreamTypeResize]; rs != nil {
		go func() {
			dec := json.NewDecoder(rs)
			for {
				var sz size
				if dec.Decode(&sz) != nil {
					return
				}
				sizes <- sz
			}
		}()
	}
	var stderr io.Writer = io.Discard
	if s := byType[corev1.StreamTypeStderr]; s != nil {
		stderr = s
	}
	code := program(c, byType[corev1.StreamTypeStdin], byType[corev1.StreamTypeStdout], stderr, sizes)
	for _, t := range []string{corev1.StreamTypeStdout, corev1.StreamTypeStderr} {
		if s := byType[t]; s != nil {
			s.Close()
		}
	}
	errs := byType[corev1.StreamTypeError]
	errs.Write(exitStatus(code))
	errs.Close()
}

// execExecutor returns an executor whose pod of job 1 attempt 1 runs,
// with a REST configuration that points at an execServer.
func execExecutor(t *testing.T, srv *execServer) (*kube.Executor, *fake.Clientset) {
	t.Helper()
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	cs := fake.NewClientset()
	e, err := kube.NewForClient(ctx(t), "k8s", executor.Config{Namespace: ns}, cs, &rest.Config{Host: hs.URL})
	if err != nil {
		t.Fatalf("NewForClient: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	setStatus(t, cs, start(t, e, newJob(1, 1)), running)
	return e, cs
}

// lines reads r line by line until EOF, or an error that it sends.
func lines(r io.Reader) <-chan string {
	ch := make(chan string, 16)
	go func() {
		defer close(ch)
		br := bufio.NewReader(r)
		for {
			l, err := br.ReadString('\n')
			if l != "" {
				ch <- strings.TrimRight(l, "\r\n")
			}
			if err == io.EOF {
				return
			}
			if err != nil {
				ch <- "error: " + err.Error()
				return
			}
		}
	}()
	return ch
}

// wantLine fails the test unless the next line of ch is want.
func wantLine(t *testing.T, what string, ch <-chan string, want string) {
	t.Helper()
	select {
	case l, ok := <-ch:
		if !ok {
			t.Fatalf("%s: EOF, want %q", what, want)
		}
		if l != want {
			t.Fatalf("%s: %q, want %q", what, l, want)
		}
	case <-time.After(timeout):
		t.Fatalf("%s: nothing, want %q", what, want)
	}
}

// wantEOF fails the test unless ch ends.
func wantEOF(t *testing.T, what string, ch <-chan string) {
	t.Helper()
	select {
	case l, ok := <-ch:
		if ok {
			t.Fatalf("%s: %q, want EOF", what, l)
		}
	case <-time.After(timeout):
		t.Fatalf("%s: no EOF", what)
	}
}

func TestExecTTY(t *testing.T) {
	for _, tc := range []struct {
		name string
		srv  *execServer
	}{
		{"WebSocket", &execServer{}},
		{"SPDY", &execServer{noWS: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := execExecutor(t, tc.srv)
			s, err := e.Exec(ctx(t), newJob(1, 1), executor.ExecRequest{Cmd: []string{"program", "7"}, TTY: true, Rows: 24, Cols: 80})
			if err != nil {
				t.Fatalf("Exec: %v", err)
			}
			defer s.Close()
			out := lines(s.Stdout())
			wantEOF(t, "stderr with a TTY", lines(s.Stderr()))
			wantLine(t, "initial size", out, "size 24x80")
			if _, err := io.WriteString(s.Stdin(), "hello\n"); err != nil {
				t.Fatalf("write stdin: %v", err)
			}
			wantLine(t, "echo", out, "out: hello")
			if err := s.Resize(ctx(t), 50, 132); err != nil {
				t.Fatalf("Resize: %v", err)
			}
			wantLine(t, "after Resize", out, "size 50x132")
			if err := s.Signal(ctx(t), syscall.SIGINT); !errors.Is(err, executor.ErrUnsupported) {
				t.Errorf("Signal: %v, want ErrUnsupported", err)
			}
			s.Stdin().Close()
			wantLine(t, "end of input", out, "bye")
			wantEOF(t, "stdout", out)
			code, err := s.Wait(ctx(t))
			if err != nil || code != 7 {
				t.Errorf("Wait: %d, %v; want 7", code, err)
			}

			calls := tc.srv.calls()
			want := execCall{method: "GET", path: "/api/v1/namespaces/jobs/pods/godocker-1-1/exec", container: "job",
				command: []string{"program", "7"}, stdin: true, stdout: true, tty: true, websocket: true}
			if tc.srv.noWS {
				if len(calls) != 2 {
					t.Fatalf("requests %+v, want a WebSocket, then SPDY", calls)
				}
				if calls[0].method != "GET" || !calls[0].websocket {
					t.Errorf("first request %+v, want a WebSocket", calls[0])
				}
				calls = calls[1:]
				want.method, want.websocket = "POST", false
			}
			if len(calls) != 1 || !slices.Equal(calls[0].command, want.command) {
				t.Fatalf("requests %+v, want %+v", calls, want)
			}
			got := calls[0]
			got.command, want.command = nil, nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("request %+v, want %+v", got, want)
			}
		})
	}
}

func TestExecNoTTY(t *testing.T) {
	for _, tc := range []struct {
		name string
		srv  *execServer
	}{
		{"WebSocket", &execServer{}},
		{"SPDY", &execServer{noWS: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := execExecutor(t, tc.srv)
			s, err := e.Exec(ctx(t), newJob(1, 1), executor.ExecRequest{Cmd: []string{"program", "0"}, Env: []string{"A=1", "B=two words"}})
			if err != nil {
				t.Fatalf("Exec: %v", err)
			}
			defer s.Close()
			out, errs := lines(s.Stdout()), lines(s.Stderr())
			if _, err := io.WriteString(s.Stdin(), "one\ntwo\n"); err != nil {
				t.Fatalf("write stdin: %v", err)
			}
			s.Stdin().Close()
			wantLine(t, "stdout", out, "out: one")
			wantLine(t, "stdout", out, "out: two")
			wantEOF(t, "stdout", out)
			wantLine(t, "stderr", errs, "bye")
			wantEOF(t, "stderr", errs)
			code, err := s.Wait(ctx(t))
			if err != nil || code != 0 {
				t.Errorf("Wait: %d, %v; want 0", code, err)
			}
			if err := s.Resize(ctx(t), 1, 1); err == nil {
				t.Error("Resize without a TTY: no error")
			}
			calls := tc.srv.calls()
			c := calls[len(calls)-1]
			wantCmd := []string{"env", "--", "A=1", "B=two words", "program", "0"}
			if !slices.Equal(c.command, wantCmd) || !c.stdin || !c.stdout || !c.stderr || c.tty {
				t.Errorf("request %+v, want command %q with stdin, stdout, stderr and no TTY", c, wantCmd)
			}
		})
	}
}

func TestExecErrors(t *testing.T) {
	srv := &execServer{}
	e, cs := execExecutor(t, srv)
	if _, err := e.Exec(ctx(t), newJob(2, 1), executor.ExecRequest{Cmd: []string{"sh"}}); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Exec in a job without a pod: %v, want ErrNotFound", err)
	}
	j := newJob(3, 1)
	start(t, e, j)
	if _, err := e.Exec(ctx(t), j, executor.ExecRequest{Cmd: []string{"sh"}}); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("Exec in a pending pod: %v, want an error saying it is not running", err)
	}
	if _, err := e.Exec(ctx(t), newJob(1, 1), executor.ExecRequest{}); err == nil {
		t.Error("Exec of no command: no error")
	}
	setStatus(t, cs, executor.ContainerName("", j), running)
	// The API server refuses (here: the test server knows no such pod).
	s, err := e.Exec(ctx(t), j, executor.ExecRequest{Cmd: []string{"sh"}})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	defer s.Close()
	if code, err := s.Wait(ctx(t)); err == nil {
		t.Errorf("Wait of a refused exec: %d, nil; want an error", code)
	}
	if _, err := io.ReadAll(s.Stdout()); err == nil {
		t.Error("stdout of a refused exec: EOF, want the error")
	}
	if len(srv.calls()) == 0 {
		t.Error("no request reached the server")
	}
}

// TestExecClose: closing a session whose process runs ends it.
func TestExecClose(t *testing.T) {
	e, _ := execExecutor(t, &execServer{})
	s, err := e.Exec(ctx(t), newJob(1, 1), executor.ExecRequest{Cmd: []string{"program", "0"}, TTY: true})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	out := lines(s.Stdout())
	if _, err := io.WriteString(s.Stdin(), "x\n"); err != nil {
		t.Fatalf("write stdin: %v", err)
	}
	wantLine(t, "echo", out, "out: x")
	s.Close()
	if _, err := s.Wait(ctx(t)); err == nil {
		t.Error("Wait after Close: no error")
	}
	s.Close() // twice is fine
}
