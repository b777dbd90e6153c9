package kube_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/executor/kube"
)

// TestEventsLifecycle drives a pod through pending, running and failed as
// a kubelet would, through the fake clientset.
func TestEventsLifecycle(t *testing.T) {
	e, cs := newExecutor(t, executor.Config{})
	ch := events(t, e)
	j := newJob(1, 1)
	name := start(t, e, j)
	if st := inspect(t, e, j); st.State != executor.StateCreated {
		t.Errorf("just started: %+v, want created", st)
	}
	setStatus(t, cs, name, pending)
	setStatus(t, cs, name, running)
	evs := expect(t, ch, j, executor.Started)
	if !evs[0].Time.Equal(t0) {
		t.Errorf("Started at %v, want %v (the container's start)", evs[0].Time, t0)
	}
	if st := inspect(t, e, j); st.State != executor.StateRunning || !st.StartedAt.Equal(t0) || st.Node != "node-1" {
		t.Errorf("running: %+v, want running since %v on node-1", st, t0)
	}
	setStatus(t, cs, name, exited(3))
	evs = expect(t, ch, j, executor.Exited)
	if !evs[0].Time.Equal(t1) {
		t.Errorf("Exited at %v, want %v (the container's end)", evs[0].Time, t1)
	}
	st := inspect(t, e, j)
	if st.State != executor.StateExited || st.ExitCode != 3 || !st.StartedAt.Equal(t0) || !st.FinishedAt.Equal(t1) || st.Error != "" {
		t.Errorf("exited: %+v, want exited 3, %v..%v, no error", st, t0, t1)
	}
	// Later updates of the pod (conditions, ...) are not events.
	setStatus(t, cs, name, func(s *corev1.PodStatus) {
		s.Conditions = append(s.Conditions, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse})
	})
	quiet(t, e, cs, ch)
}

// TestEventsTerminatedOnArrival: a pod first seen already terminated
// gives Started, then Exited.
func TestEventsTerminatedOnArrival(t *testing.T) {
	e, cs := newExecutor(t, executor.Config{})
	ch := events(t, e)
	j := newJob(2, 3)
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: executor.ContainerName("", j), Namespace: ns, Labels: map[string]string{
		kube.LabelManagedBy: kube.ManagedBy, executor.LabelJob: "2", executor.LabelAttempt: "3",
	}}}
	exited(0)(&p.Status)
	if _, err := cs.CoreV1().Pods(ns).Create(ctx(t), p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	evs := expect(t, ch, j, executor.Started, executor.Exited)
	if !evs[0].Time.Equal(t0) || !evs[1].Time.Equal(t1) {
		t.Errorf("events at %v and %v, want %v and %v", evs[0].Time, evs[1].Time, t0, t1)
	}
	if st := inspect(t, e, j); st.State != executor.StateExited || st.ExitCode != 0 {
		t.Errorf("Inspect: %+v, want exited 0", st)
	}
}

// TestEventsImagePull: a pod whose image cannot be pulled is reported
// exited, with the error, so that the server fails the job.
func TestEventsImagePull(t *testing.T) {
	e, cs := newExecutor(t, executor.Config{})
	ch := events(t, e)
	j := newJob(3, 1)
	j.Run.Image = "registry.example.org/nope:1"
	name := start(t, e, j)
	setStatus(t, cs, name, pending)
	setStatus(t, cs, name, waiting("ErrImagePull", `failed to pull image "registry.example.org/nope:1": not found`))
	expect(t, ch, j, executor.Started, executor.Exited)
	st := inspect(t, e, j)
	if st.State != executor.StateExited || st.ExitCode == 0 || !strings.Contains(st.Error, "ErrImagePull") || !strings.Contains(st.Error, "nope:1") {
		t.Errorf("Inspect: %+v, want exited non-zero with the pull error", st)
	}
	// The kubelet backs off: no more events.
	setStatus(t, cs, name, waiting("ImagePullBackOff", "Back-off pulling image"))
	quiet(t, e, cs, ch)
}

// TestEventsExistingPods: pods that exist when Events is called are taken
// as they are; only what happens to them afterwards is reported.
func TestEventsExistingPods(t *testing.T) {
	e, cs := newExecutor(t, executor.Config{})
	runningJob, doneJob := newJob(4, 1), newJob(5, 1)
	setStatus(t, cs, start(t, e, runningJob), running)
	setStatus(t, cs, start(t, e, doneJob), exited(1))
	createdJob := newJob(6, 1)
	created := start(t, e, createdJob)

	ch := events(t, e)
	quiet(t, e, cs, ch) // nothing about the pods that were there
	setStatus(t, cs, executor.ContainerName("", runningJob), exited(2))
	expect(t, ch, runningJob, executor.Exited)
	setStatus(t, cs, created, running)
	expect(t, ch, createdJob, executor.Started)
}

// TestEventsForeignPods: pods without GoDocker's labels are ignored.
func TestEventsForeignPods(t *testing.T) {
	e, cs := newExecutor(t, executor.Config{})
	ch := events(t, e)
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: ns, Labels: map[string]string{"app": "web", executor.LabelJob: "8", executor.LabelAttempt: "1"}}}
	running(&p.Status)
	if _, err := cs.CoreV1().Pods(ns).Create(ctx(t), p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	quiet(t, e, cs, ch)
}

// TestEventsStreams: each call of Events gets every event.
func TestEventsStreams(t *testing.T) {
	e, cs := newExecutor(t, executor.Config{})
	ch1, ch2 := events(t, e), events(t, e)
	j := newJob(9, 1)
	setStatus(t, cs, start(t, e, j), exited(0))
	expect(t, ch1, j, executor.Started, executor.Exited)
	expect(t, ch2, j, executor.Started, executor.Exited)
}

// TestEventsSlowReader: a stream nobody reads for a while holds nothing
// back and loses nothing.
func TestEventsSlowReader(t *testing.T) {
	e, cs := newExecutor(t, executor.Config{})
	slow, fast := events(t, e), events(t, e)
	const n = 150 // more than the streams' buffers
	for i := range n {
		j := newJob(int64(1000+i), 1)
		setStatus(t, cs, start(t, e, j), running)
		expect(t, fast, j, executor.Started)
	}
	for i := range n {
		expect(t, slow, newJob(int64(1000+i), 1), executor.Started)
	}
}

func TestEventsCloseOnCancel(t *testing.T) {
	e, _ := newExecutor(t, executor.Config{})
	c, cancel := context.WithCancel(t.Context())
	ch, err := e.Events(c)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	cancel()
	waitClosed(t, ch)
}

func TestEventsCloseOnClose(t *testing.T) {
	e, cs := newExecutor(t, executor.Config{})
	ch := events(t, e)
	j := newJob(1, 1)
	setStatus(t, cs, start(t, e, j), running) // an event nobody reads
	e.Close()
	waitClosed(t, ch)
	if _, err := e.Events(t.Context()); err == nil {
		t.Error("Events after Close: no error")
	}
}

// waitClosed reads ch until it is closed, failing the test if that takes
// too long.
func waitClosed(t *testing.T, ch <-chan executor.Event) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("event stream still open")
		}
	}
}
