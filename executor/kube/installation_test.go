package kube_test

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/executor/kube"
)

// Two installations of GoDocker share the namespace ns of one cluster
// (one fake clientset): each has a kube executor with its own
// installation id, as two godockerd on different stores do.
const (
	instA = "0a0a0a0a0a0a"
	instB = "0b0b0b0b0b0b"
)

// installations returns executors of installations instA and instB over
// one fake clientset, closed when the test ends.
func installations(t *testing.T) (a, b *kube.Executor, cs *fake.Clientset) {
	t.Helper()
	cs = fake.NewClientset()
	for _, x := range []struct {
		e    **kube.Executor
		inst string
	}{{&a, instA}, {&b, instB}} {
		e, err := kube.NewForClient(ctx(t), "k8s", executor.Config{Namespace: ns, Installation: x.inst}, cs, nil)
		if err != nil {
			t.Fatalf("NewForClient: %v", err)
		}
		t.Cleanup(func() { e.Close() })
		*x.e = e
	}
	return a, b, cs
}

// startIn starts j with e, of installation inst, and returns its pod's
// name.
func startIn(t *testing.T, e *kube.Executor, inst string, j *api.Job) string {
	t.Helper()
	if err := e.Start(ctx(t), j, executor.Placement{Node: "node-1"}); err != nil {
		t.Fatalf("Start job %d: %v", j.ID, err)
	}
	return executor.ContainerName(inst, j)
}

// quietIn checks that nothing happened to e's pods since the last event
// read from ch: a sentinel job's Started must come next.
func quietIn(t *testing.T, e *kube.Executor, inst string, cs *fake.Clientset, ch <-chan executor.Event) {
	t.Helper()
	j := newJob(900000+rv.Add(1), 1)
	setStatus(t, cs, startIn(t, e, inst, j), running)
	expect(t, ch, j, executor.Started)
}

// TestInstallations: both installations start their job 1 attempt 1 in
// one namespace. Each gets a pod of its own, named and labelled with its
// installation; neither stream reports the other's pod, nor a pod of
// before installations; the end of A's pod is not the end of B's job.
// Each executor lists and watches its installation's pods only.
func TestInstallations(t *testing.T) {
	a, b, cs := installations(t)
	chA, chB := events(t, a), events(t, b)
	ja, jb := newJob(1, 1), newJob(1, 1)
	jb.User, jb.Run.UID, jb.Run.GID = "bob", 1001, 1001
	podA, podB := startIn(t, a, instA, ja), startIn(t, b, instB, jb)
	if podA != "godocker-"+instA+"-1-1" || podB != "godocker-"+instB+"-1-1" {
		t.Fatalf("pod names %s, %s", podA, podB)
	}
	for _, c := range []struct{ pod, inst string }{{podA, instA}, {podB, instB}} {
		p, err := cs.CoreV1().Pods(ns).Get(ctx(t), c.pod, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("pod of installation %s: %v", c.inst, err)
		}
		if got := p.Labels[executor.LabelInstallation]; got != c.inst {
			t.Errorf("pod %s: label %s=%q, want %q", c.pod, executor.LabelInstallation, got, c.inst)
		}
	}
	if p, _ := cs.CoreV1().Pods(ns).Get(ctx(t), podB, metav1.GetOptions{}); p.Spec.SecurityContext.RunAsUser == nil || *p.Spec.SecurityContext.RunAsUser != 1001 {
		t.Errorf("B's pod runs as %v, want B's job's uid 1001", p.Spec.SecurityContext.RunAsUser)
	}

	setStatus(t, cs, podA, running)
	expect(t, chA, ja, executor.Started)
	setStatus(t, cs, podB, running)
	expect(t, chB, jb, executor.Started)
	quietIn(t, a, instA, cs, chA) // nothing of B's pod

	// A pod of before installations, of the same job and attempt.
	old := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: executor.ContainerName("", ja), Namespace: ns, Labels: map[string]string{
		kube.LabelManagedBy: kube.ManagedBy, executor.LabelJob: "1", executor.LabelAttempt: "1",
	}}}
	running(&old.Status)
	if _, err := cs.CoreV1().Pods(ns).Create(ctx(t), old, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	setStatus(t, cs, podA, exited(137))
	expect(t, chA, ja, executor.Exited)
	quietIn(t, b, instB, cs, chB) // nothing of A's pod, nor of the old one
	if st := inspect(t, b, jb); st.State != executor.StateRunning {
		t.Errorf("B's job after A's ended: %+v, want running", st)
	}

	// Every list of pods (New's check, the informer's) selects the
	// executor's installation.
	lists := map[string]int{}
	for _, act := range cs.Actions() {
		if l, ok := act.(k8stesting.ListAction); ok && l.GetResource().Resource == "pods" {
			sel := l.GetListRestrictions().Labels.String()
			for _, inst := range []string{instA, instB} {
				if strings.Contains(sel, executor.LabelInstallation+"="+inst) {
					lists[inst]++
				}
			}
			if !strings.Contains(sel, executor.LabelInstallation+"=") {
				t.Errorf("a list of pods with selector %q: no installation", sel)
			}
		}
	}
	if lists[instA] == 0 || lists[instB] == 0 {
		t.Errorf("lists of pods by installation: %v; want both installations'", lists)
	}
}

// TestRefuseAnotherInstallation: a job whose recorded pod name leads to
// another installation's pod does not take it over: Start refuses,
// naming both installations. A pod with no installation is the job's
// under the name of before installations only.
func TestRefuseAnotherInstallation(t *testing.T) {
	a, b, cs := installations(t)
	ja := newJob(1, 1)
	podA := startIn(t, a, instA, ja)

	impostor := newJob(1, 1)
	impostor.Container = podA
	err := b.Start(ctx(t), impostor, executor.Placement{Node: "node-1"})
	if err == nil || !strings.Contains(err.Error(), instA) || !strings.Contains(err.Error(), instB) {
		t.Errorf("B's Start over A's pod: %v; want a refusal naming both installations", err)
	}

	for _, c := range []struct {
		name string
		ok   bool
	}{{executor.ContainerName("", newJob(2, 1)), true}, {executor.ContainerName(instB, newJob(2, 1)), false}} {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: c.name, Namespace: ns, Labels: map[string]string{
			kube.LabelManagedBy: kube.ManagedBy, executor.LabelJob: "2", executor.LabelAttempt: "1",
		}}}
		if _, err := cs.CoreV1().Pods(ns).Create(ctx(t), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		j := newJob(2, 1)
		j.Container = c.name
		if err := b.Start(ctx(t), j, executor.Placement{Node: "node-1"}); (err == nil) != c.ok {
			t.Errorf("Start over a pod with no installation named %s: %v; want ok %v", c.name, err, c.ok)
		}
	}
}

// TestPodLabels: an executor without an installation labels nothing with
// one (the pods of before installations), one with labels every pod.
func TestPodLabels(t *testing.T) {
	e, cs := newExecutor(t, executor.Config{})
	j := newJob(1, 1)
	p, err := cs.CoreV1().Pods(ns).Get(ctx(t), start(t, e, j), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := p.Labels[executor.LabelInstallation]; ok {
		t.Errorf("pod of an executor with no installation: label %s=%q", executor.LabelInstallation, v)
	}
	e, cs = newExecutor(t, executor.Config{Installation: instA})
	if err := e.Start(ctx(t), j, executor.Placement{}); err != nil {
		t.Fatal(err)
	}
	p, err = cs.CoreV1().Pods(ns).Get(ctx(t), fmt.Sprintf("godocker-%s-1-1", instA), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Labels[executor.LabelInstallation] != instA {
		t.Errorf("pod of installation %s: labels %v", instA, p.Labels)
	}
}
