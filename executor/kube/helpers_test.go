package kube_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/executor/kube"
)

// timeout bounds every wait of the tests.
const timeout = 10 * time.Second

// ns is the namespace of the tests' executors.
const ns = "jobs"

// newExecutor returns an executor of the namespace ns over a fake
// clientset holding objs, closed when the test ends.
func newExecutor(t *testing.T, cfg executor.Config, objs ...runtime.Object) (*kube.Executor, *fake.Clientset) {
	t.Helper()
	if cfg.Namespace == "" {
		cfg.Namespace = ns
	}
	cs := fake.NewClientset(objs...)
	e, err := kube.NewForClient(ctx(t), "k8s", cfg, cs, nil)
	if err != nil {
		t.Fatalf("NewForClient: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e, cs
}

// ctx is a context bounded by timeout, cancelled when the test ends.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	return c
}

// newJob returns a job with a resolved Run, as the server makes it.
func newJob(id int64, attempt int) *api.Job {
	return &api.Job{
		ID: id, Attempt: attempt, User: "alice", Name: "test", Project: "default",
		Run: &api.Run{
			Image: "godocker/base:latest",
			Argv:  []string{"sh", "-c", "exit 3"},
			UID:   1000, GID: 1000,
			WorkDir: "/tmp",
		},
	}
}

// start starts j, failing the test on error, and returns its pod's name.
func start(t *testing.T, e *kube.Executor, j *api.Job) string {
	t.Helper()
	if err := e.Start(ctx(t), j, executor.Placement{Node: "node-1"}); err != nil {
		t.Fatalf("Start job %d: %v", j.ID, err)
	}
	return executor.ContainerName("", j)
}

// rv makes the fake's updates look like the API server's: each with a
// new resourceVersion (the informer takes an update that keeps it for a
// resync, which handlers without a resync period never see).
var rv atomic.Int64

// setStatus changes the status of pod name through the fake clientset,
// as the kubelet would.
func setStatus(t *testing.T, cs *fake.Clientset, name string, f func(*corev1.PodStatus)) {
	t.Helper()
	p, err := cs.CoreV1().Pods(ns).Get(ctx(t), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get pod %s: %v", name, err)
	}
	f(&p.Status)
	p.ResourceVersion = strconv.FormatInt(1000+rv.Add(1), 10)
	if _, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx(t), p, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update status of pod %s: %v", name, err)
	}
}

// Times of the tests' containers, whole seconds as the API has them.
var (
	t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	t1 = t0.Add(90 * time.Second)
)

// pending is a pod scheduled on a node, pulling its image.
func pending(s *corev1.PodStatus) {
	s.Phase = corev1.PodPending
	s.ContainerStatuses = []corev1.ContainerStatus{{Name: kube.ContainerName, State: corev1.ContainerState{
		Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"},
	}}}
}

// running is a pod whose container started at t0.
func running(s *corev1.PodStatus) {
	s.Phase = corev1.PodRunning
	s.StartTime = &metav1.Time{Time: t0}
	s.ContainerStatuses = []corev1.ContainerStatus{{Name: kube.ContainerName, State: corev1.ContainerState{
		Running: &corev1.ContainerStateRunning{StartedAt: metav1.Time{Time: t0}},
	}}}
}

// exited returns a status change: the container ran from t0 to t1 and
// exited with code.
func exited(code int32) func(*corev1.PodStatus) {
	return func(s *corev1.PodStatus) {
		s.Phase = corev1.PodFailed
		if code == 0 {
			s.Phase = corev1.PodSucceeded
		}
		s.StartTime = &metav1.Time{Time: t0}
		s.ContainerStatuses = []corev1.ContainerStatus{{Name: kube.ContainerName, State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: "Error", StartedAt: metav1.Time{Time: t0}, FinishedAt: metav1.Time{Time: t1}},
		}}}
	}
}

// waiting returns a status change: the container waits for reason.
func waiting(reason, message string) func(*corev1.PodStatus) {
	return func(s *corev1.PodStatus) {
		s.Phase = corev1.PodPending
		s.ContainerStatuses = []corev1.ContainerStatus{{Name: kube.ContainerName, State: corev1.ContainerState{
			Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message},
		}}}
	}
}

// events subscribes to e's events until the test ends.
func events(t *testing.T, e *kube.Executor) <-chan executor.Event {
	t.Helper()
	c, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	ch, err := e.Events(c)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	return ch
}

// next returns the next event, failing the test if none comes in time.
func next(t *testing.T, ch <-chan executor.Event) executor.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("event stream closed")
		}
		return ev
	case <-time.After(timeout):
		t.Fatal("no event")
	}
	panic("unreachable")
}

// expect reads the next events and checks that they are kinds, for job j.
func expect(t *testing.T, ch <-chan executor.Event, j *api.Job, kinds ...executor.EventKind) []executor.Event {
	t.Helper()
	var got []executor.Event
	for _, k := range kinds {
		ev := next(t, ch)
		if ev.JobID != j.ID || ev.Attempt != j.Attempt || ev.Kind != k {
			t.Fatalf("event %+v, want %s of job %d attempt %d", ev, k, j.ID, j.Attempt)
		}
		got = append(got, ev)
	}
	return got
}

// quiet checks that nothing happened to any pod since the last event
// read: it starts a sentinel job and expects its Started event next
// (events of one stream come in the order the changes were made).
func quiet(t *testing.T, e *kube.Executor, cs *fake.Clientset, ch <-chan executor.Event) {
	t.Helper()
	j := newJob(900000+rv.Add(1), 1)
	name := start(t, e, j)
	setStatus(t, cs, name, running)
	expect(t, ch, j, executor.Started)
}

// inspect inspects j, failing the test on error.
func inspect(t *testing.T, e *kube.Executor, j *api.Job) executor.Status {
	t.Helper()
	st, err := e.Inspect(ctx(t), j)
	if err != nil {
		t.Fatalf("Inspect job %d: %v", j.ID, err)
	}
	return st
}
