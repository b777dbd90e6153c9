package kube_test

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/executor/kube"
)

// getPod returns the pod of j from the fake clientset.
func getPod(t *testing.T, e *kube.Executor, j *api.Job) *corev1.Pod {
	t.Helper()
	p, err := e.Client().CoreV1().Pods(e.Namespace()).Get(ctx(t), executor.ContainerName("", j), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get pod of job %d: %v", j.ID, err)
	}
	return p
}

func TestPodSpec(t *testing.T) {
	e, _ := newExecutor(t, executor.Config{
		NodeSelector: map[string]string{"godocker": "yes", "zone": "a"},
		Claims:       map[string]string{"/home": "homes", "/data": "data", "/data/big/": "bigdata"},
	})
	j := &api.Job{
		ID: 42, Attempt: 2, User: "alice", Name: "my analysis #1", Project: "bio/x",
		Spec: api.Spec{GPUs: 1},
		Run: &api.Run{
			Image:   "godocker/base:latest",
			Argv:    []string{"/bin/sh", "-c", "echo $HOME $(date) $$", "godocker"},
			WorkDir: "/shared/alice/42",
			Env:     []string{"GODOCKER_JID=42", "X=$(GODOCKER_JID)", "EMPTY="},
			Mounts: []api.Mount{
				{Source: "/home/alice", Target: "/home/alice"},
				{Source: "/data/big/set1", Target: "/mnt/set1", ReadOnly: true},
				{Source: "/data/ref/", Target: "/ref", ReadOnly: true},
				{Source: "/data", Target: "/data", ReadOnly: true},
				{Source: "/shared/alice/42", Target: "/shared/alice/42"},
			},
			UID: 1001, GID: 1002, Groups: []int{1002, 2000},
			User: "alice", Group: "alice", Home: "/home/alice",
			CPUs: 2, Memory: 3 << 30, Pids: 512,
		},
	}
	p := executor.Placement{Node: "node-7", Labels: map[string]string{"reserved": "bio", "zone": "b"}}
	if err := e.Start(ctx(t), j, p); err != nil {
		t.Fatalf("Start: %v", err)
	}
	got := getPod(t, e, j)

	rl := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("2"),
		corev1.ResourceMemory: resource.MustParse("3Gi"),
		"nvidia.com/gpu":      resource.MustParse("1"),
	}
	want := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      "godocker-42-2",
			Namespace: ns,
			Labels: map[string]string{
				"app.kubernetes.io/managed-by": "godocker",
				"godocker.job":                 "42",
				"godocker.attempt":             "2",
				"godocker.user":                "alice",
			},
			Annotations: map[string]string{
				"godocker.user":    "alice",
				"godocker.name":    "my analysis #1",
				"godocker.project": "bio/x",
			},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr.To[int64](5),
			AutomountServiceAccountToken:  ptr.To(false),
			EnableServiceLinks:            ptr.To(false),
			ShareProcessNamespace:         ptr.To(true),
			NodeName:                      "node-7",
			NodeSelector:                  map[string]string{"godocker": "yes", "zone": "b", "reserved": "bio"},
			SecurityContext: &corev1.PodSecurityContext{
				RunAsUser:          ptr.To[int64](1001),
				RunAsGroup:         ptr.To[int64](1002),
				SupplementalGroups: []int64{1002, 2000},
				RunAsNonRoot:       ptr.To(true),
				SeccompProfile:     &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:            "job",
				Image:           "godocker/base:latest",
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         []string{"/bin/sh"},
				Args:            []string{"-c", "echo $$HOME $$(date) $$$$", "godocker"},
				WorkingDir:      "/shared/alice/42",
				Env: []corev1.EnvVar{
					{Name: "GODOCKER_JID", Value: "42"},
					{Name: "X", Value: "$$(GODOCKER_JID)"},
					{Name: "EMPTY", Value: ""},
				},
				Resources: corev1.ResourceRequirements{Requests: rl, Limits: rl},
				VolumeMounts: []corev1.VolumeMount{
					{Name: "claim-0", MountPath: "/home/alice", SubPath: "alice"},
					{Name: "claim-1", MountPath: "/mnt/set1", SubPath: "set1", ReadOnly: true},
					{Name: "claim-2", MountPath: "/ref", SubPath: "ref", ReadOnly: true},
					{Name: "claim-2", MountPath: "/data", ReadOnly: true},
					{Name: "host-4", MountPath: "/shared/alice/42"},
				},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
			Volumes: []corev1.Volume{
				{Name: "claim-0", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "homes"}}},
				{Name: "claim-1", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "bigdata"}}},
				{Name: "claim-2", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
				{Name: "host-4", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/shared/alice/42", Type: ptr.To(corev1.HostPathDirectory)}}},
			},
		},
	}
	gotMeta := metav1.ObjectMeta{Name: got.Name, Namespace: got.Namespace, Labels: got.Labels, Annotations: got.Annotations}
	if !equality.Semantic.DeepEqual(want.ObjectMeta, gotMeta) {
		t.Errorf("pod metadata (-want +got):\n%s", diff.Diff(want.ObjectMeta, gotMeta))
	}
	if !equality.Semantic.DeepEqual(want.Spec, got.Spec) {
		t.Errorf("pod spec (-want +got):\n%s", diff.Diff(want.Spec, got.Spec))
	}
	for _, v := range got.Spec.Volumes {
		if errs := validation.IsDNS1123Label(v.Name); len(errs) > 0 {
			t.Errorf("volume name %q: %v", v.Name, errs)
		}
	}
}

func TestPodSpecRoot(t *testing.T) {
	e, _ := newExecutor(t, executor.Config{})
	j := newJob(7, 1)
	j.Run.UID, j.Run.GID, j.Run.Groups = 0, 0, nil
	j.Run.Mounts = []api.Mount{{Source: "/home/alice", Target: "/home/alice", ReadOnly: true}}
	if err := e.Start(ctx(t), j, executor.Placement{}); err != nil {
		t.Fatalf("Start: %v", err)
	}
	p := getPod(t, e, j)
	wantSC := &corev1.PodSecurityContext{
		RunAsUser:      ptr.To[int64](0),
		RunAsGroup:     ptr.To[int64](0),
		RunAsNonRoot:   ptr.To(false),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	if !equality.Semantic.DeepEqual(wantSC, p.Spec.SecurityContext) {
		t.Errorf("pod security context (-want +got):\n%s", diff.Diff(wantSC, p.Spec.SecurityContext))
	}
	c := p.Spec.Containers[0]
	wantCSC := &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false)}
	if !equality.Semantic.DeepEqual(wantCSC, c.SecurityContext) {
		t.Errorf("container security context (-want +got):\n%s", diff.Diff(wantCSC, c.SecurityContext))
	}
	if p.Spec.NodeName != "" || p.Spec.NodeSelector != nil {
		t.Errorf("no placement: nodeName %q, nodeSelector %v; want none", p.Spec.NodeName, p.Spec.NodeSelector)
	}
	if len(c.Resources.Requests)+len(c.Resources.Limits) != 0 {
		t.Errorf("no cpus or memory: resources %v; want none", c.Resources)
	}
	wantVM := []corev1.VolumeMount{{Name: "host-0", MountPath: "/home/alice", ReadOnly: true}}
	if !equality.Semantic.DeepEqual(wantVM, c.VolumeMounts) {
		t.Errorf("volume mounts (-want +got):\n%s", diff.Diff(wantVM, c.VolumeMounts))
	}
}

func TestPodLabelValues(t *testing.T) {
	e, _ := newExecutor(t, executor.Config{})
	for i, user := range []string{
		"alice", "Alice.Smith", `DOMAIN\bob`, "carol@example.org", "_svc-", "ünïcødé",
		strings.Repeat("x", 70) + "-y", "-", "",
	} {
		j := newJob(int64(100+i), 1)
		j.User = user
		if err := e.Start(ctx(t), j, executor.Placement{}); err != nil {
			t.Fatalf("Start (user %q): %v", user, err)
		}
		p := getPod(t, e, j)
		for k, v := range p.Labels {
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				t.Errorf("user %q: label %s=%q: %v", user, k, v, errs)
			}
		}
		if got := p.Annotations[executor.LabelUser]; got != user {
			t.Errorf("user %q: annotation %s = %q", user, executor.LabelUser, got)
		}
	}
	if got := getPod(t, e, newJob(100, 1)).Labels[executor.LabelUser]; got != "alice" {
		t.Errorf("user alice: label %q", got)
	}
	if got := getPod(t, e, newJob(102, 1)).Labels[executor.LabelUser]; got != "DOMAIN_bob" {
		t.Errorf(`user DOMAIN\bob: label %q, want DOMAIN_bob`, got)
	}
}

func TestStartNeedsRun(t *testing.T) {
	e, _ := newExecutor(t, executor.Config{})
	j := newJob(1, 1)
	j.Run.Argv = nil
	if err := e.Start(ctx(t), j, executor.Placement{}); err == nil {
		t.Fatal("Start of a job without argv: no error")
	}
}

func TestStartIdempotent(t *testing.T) {
	e, cs := newExecutor(t, executor.Config{})
	j := newJob(5, 1)
	name := start(t, e, j)
	setStatus(t, cs, name, running)
	start(t, e, j) // again: nil, and the pod is left as it is
	p := getPod(t, e, j)
	if p.Status.Phase != corev1.PodRunning {
		t.Errorf("pod after a second Start: phase %s, want Running (untouched)", p.Status.Phase)
	}
	pods, err := cs.CoreV1().Pods(ns).List(ctx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 {
		t.Errorf("%d pods after two Starts, want 1", len(pods.Items))
	}

	// The next attempt is another pod.
	j2 := newJob(5, 2)
	start(t, e, j2)
	if st := inspect(t, e, j2); st.State != executor.StateCreated || st.Container != "godocker-5-2" {
		t.Errorf("attempt 2: %+v, want created godocker-5-2", st)
	}
	if st := inspect(t, e, j); st.State != executor.StateRunning {
		t.Errorf("attempt 1 after attempt 2 started: %+v, want running", st)
	}
}

func TestStartNameTaken(t *testing.T) {
	other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "godocker-6-1", Namespace: ns, Labels: map[string]string{"app": "other"}}}
	e, _ := newExecutor(t, executor.Config{}, other)
	err := e.Start(ctx(t), newJob(6, 1), executor.Placement{})
	if err == nil || !strings.Contains(err.Error(), "taken") {
		t.Errorf("Start over a pod that is not the job's: %v, want an error saying the name is taken", err)
	}
}

func TestKill(t *testing.T) {
	e, cs := newExecutor(t, executor.Config{})
	ch := events(t, e)
	j := newJob(10, 1)
	name := start(t, e, j)
	setStatus(t, cs, name, running)
	expect(t, ch, j, executor.Started)
	if st := inspect(t, e, j); st.State != executor.StateRunning {
		t.Fatalf("before Kill: %+v, want running", st)
	}
	if err := e.Kill(ctx(t), j); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	// The pod is deleted at once, with no grace period.
	var del []metav1.DeleteOptions
	for _, a := range cs.Actions() {
		if a.GetVerb() == "delete" && a.GetResource().Resource == "pods" {
			del = append(del, a.(interface{ GetDeleteOptions() metav1.DeleteOptions }).GetDeleteOptions())
		}
	}
	if len(del) != 1 || del[0].GracePeriodSeconds == nil || *del[0].GracePeriodSeconds != 0 {
		t.Errorf("Kill: deletes %+v, want one with grace period 0", del)
	}
	expect(t, ch, j, executor.Exited)
	if st := inspect(t, e, j); st.State != executor.StateMissing {
		t.Errorf("after Kill: %+v, want missing", st)
	}
	if err := e.Kill(ctx(t), j); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Kill of a killed job: %v, want ErrNotFound", err)
	}
	if err := e.Kill(ctx(t), newJob(11, 1)); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Kill of a job never started: %v, want ErrNotFound", err)
	}
}

func TestKillExited(t *testing.T) {
	e, cs := newExecutor(t, executor.Config{})
	j := newJob(12, 1)
	name := start(t, e, j)
	setStatus(t, cs, name, exited(4))
	if err := e.Kill(ctx(t), j); err != nil {
		t.Fatalf("Kill of an exited job: %v, want nil", err)
	}
	// Its exit status is kept for the watcher.
	if st := inspect(t, e, j); st.State != executor.StateExited || st.ExitCode != 4 {
		t.Errorf("after Kill of an exited job: %+v, want exited 4", st)
	}
}

func TestRemove(t *testing.T) {
	e, cs := newExecutor(t, executor.Config{})
	ch := events(t, e)
	j := newJob(20, 1)
	name := start(t, e, j)
	setStatus(t, cs, name, exited(0))
	expect(t, ch, j, executor.Started, executor.Exited)
	if st := inspect(t, e, j); st.State != executor.StateExited {
		t.Fatalf("before Remove: %+v, want exited (from the cache)", st)
	}
	if err := e.Remove(ctx(t), j); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	// Missing at once, whether the cache has seen the deletion or not.
	if st := inspect(t, e, j); st.State != executor.StateMissing {
		t.Errorf("after Remove: %+v, want missing", st)
	}
	if err := e.Remove(ctx(t), j); err != nil {
		t.Errorf("Remove of a removed pod: %v, want nil", err)
	}
	if err := e.Kill(ctx(t), j); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Kill of a removed pod: %v, want ErrNotFound", err)
	}
	// The same attempt started again (the server does that for a job it
	// marked running whose pod is missing) is a new pod.
	start(t, e, j)
	if st := inspect(t, e, j); st.State != executor.StateCreated {
		t.Errorf("started again after Remove: %+v, want created", st)
	}
	quiet(t, e, cs, ch)
}

func TestRemoveRunning(t *testing.T) {
	e, cs := newExecutor(t, executor.Config{})
	j := newJob(21, 1)
	name := start(t, e, j)
	setStatus(t, cs, name, running)
	if err := e.Remove(ctx(t), j); err != nil {
		t.Fatalf("Remove of a running pod: %v", err)
	}
	if st := inspect(t, e, j); st.State != executor.StateMissing {
		t.Errorf("after Remove: %+v, want missing", st)
	}
}

func TestUnsupported(t *testing.T) {
	e, _ := newExecutor(t, executor.Config{})
	j := newJob(30, 1)
	start(t, e, j)
	if err := e.Suspend(ctx(t), j); !errors.Is(err, executor.ErrUnsupported) {
		t.Errorf("Suspend: %v, want ErrUnsupported", err)
	}
	if err := e.Resume(ctx(t), j); !errors.Is(err, executor.ErrUnsupported) {
		t.Errorf("Resume: %v, want ErrUnsupported", err)
	}
	if _, err := e.Usage(ctx(t), j); !errors.Is(err, executor.ErrUnsupported) {
		t.Errorf("Usage: %v, want ErrUnsupported", err)
	}
	if _, err := e.Exec(ctx(t), j, executor.ExecRequest{Cmd: []string{"true"}}); !errors.Is(err, executor.ErrUnsupported) {
		t.Errorf("Exec without a REST configuration: %v, want ErrUnsupported", err)
	}
}

// TestInspect covers how pod states map to the executor's.
func TestInspect(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status func(*corev1.PodStatus)
		want   executor.Status
	}{
		{"unscheduled", func(s *corev1.PodStatus) { s.Phase = corev1.PodPending }, executor.Status{State: executor.StateCreated}},
		{"pulling", pending, executor.Status{State: executor.StateCreated}},
		{"running", running, executor.Status{State: executor.StateRunning, StartedAt: t0}},
		{"running, no container status", func(s *corev1.PodStatus) {
			s.Phase, s.StartTime = corev1.PodRunning, &metav1.Time{Time: t0}
		}, executor.Status{State: executor.StateRunning, StartedAt: t0}},
		{"exit 0", exited(0), executor.Status{State: executor.StateExited, StartedAt: t0, FinishedAt: t1}},
		{"exit 3", exited(3), executor.Status{State: executor.StateExited, ExitCode: 3, StartedAt: t0, FinishedAt: t1}},
		{"OOM killed", func(s *corev1.PodStatus) {
			exited(137)(s)
			s.ContainerStatuses[0].State.Terminated.Reason = "OOMKilled"
		}, executor.Status{State: executor.StateExited, ExitCode: 137, OOMKilled: true, StartedAt: t0, FinishedAt: t1}},
		{"start error", func(s *corev1.PodStatus) {
			exited(128)(s)
			s.ContainerStatuses[0].State.Terminated.Reason = "StartError"
			s.ContainerStatuses[0].State.Terminated.Message = `exec: "nope": executable file not found in $PATH`
		}, executor.Status{State: executor.StateExited, ExitCode: 128, StartedAt: t0, FinishedAt: t1,
			Error: `StartError: exec: "nope": executable file not found in $PATH`}},
		{"rejected by the kubelet", func(s *corev1.PodStatus) {
			s.Phase, s.Reason, s.Message = corev1.PodFailed, "OutOfcpu", "Pod was rejected: Node didn't have enough resource: cpu"
		}, executor.Status{State: executor.StateExited, ExitCode: 125, Error: "OutOfcpu: Pod was rejected: Node didn't have enough resource: cpu"}},
		{"succeeded, no container status", func(s *corev1.PodStatus) { s.Phase = corev1.PodSucceeded },
			executor.Status{State: executor.StateExited}},
		{"ErrImagePull", waiting("ErrImagePull", "pull access denied for nope"),
			executor.Status{State: executor.StateExited, ExitCode: 125, Error: "ErrImagePull: pull access denied for nope"}},
		{"ImagePullBackOff", waiting("ImagePullBackOff", ""),
			executor.Status{State: executor.StateExited, ExitCode: 125, Error: "ImagePullBackOff"}},
		{"InvalidImageName", waiting("InvalidImageName", "bad"),
			executor.Status{State: executor.StateExited, ExitCode: 125, Error: "InvalidImageName: bad"}},
		{"CreateContainerConfigError", waiting("CreateContainerConfigError", "secret not found"),
			executor.Status{State: executor.StateExited, ExitCode: 125, Error: "CreateContainerConfigError: secret not found"}},
		{"CreateContainerError", waiting("CreateContainerError", "no such dir"),
			executor.Status{State: executor.StateExited, ExitCode: 125, Error: "CreateContainerError: no such dir"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, cs := newExecutor(t, executor.Config{})
			j := newJob(40, 1)
			name := start(t, e, j)
			setStatus(t, cs, name, tc.status)
			want := tc.want
			want.Node, want.Container = "node-1", name
			got := inspect(t, e, j)
			if !got.StartedAt.Equal(want.StartedAt) || !got.FinishedAt.Equal(want.FinishedAt) {
				t.Errorf("times %v..%v, want %v..%v", got.StartedAt, got.FinishedAt, want.StartedAt, want.FinishedAt)
			}
			got.StartedAt, got.FinishedAt, want.StartedAt, want.FinishedAt = t0, t0, t0, t0
			if got != want {
				t.Errorf("Inspect:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestInspectMissing(t *testing.T) {
	e, _ := newExecutor(t, executor.Config{})
	if st := inspect(t, e, newJob(50, 1)); st.State != executor.StateMissing {
		t.Errorf("never started: %+v, want missing", st)
	}
}

func node(name string, ready bool, mod func(*corev1.Node)) *corev1.Node {
	st := corev1.ConditionTrue
	if !ready {
		st = corev1.ConditionFalse
	}
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name, "pool": "batch"}},
		Status: corev1.NodeStatus{
			Conditions: []corev1.NodeCondition{
				{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse},
				{Type: corev1.NodeReady, Status: st},
			},
			Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("32Gi")},
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("7910m"),
				corev1.ResourceMemory: resource.MustParse("31Gi"),
				corev1.ResourcePods:   resource.MustParse("110"),
			},
		},
	}
	if mod != nil {
		mod(n)
	}
	return n
}

func TestNodes(t *testing.T) {
	objs := []*corev1.Node{
		node("b-ready", true, nil),
		node("a-gpu", true, func(n *corev1.Node) {
			n.Status.Allocatable[corev1.ResourceCPU] = resource.MustParse("64")
			n.Status.Allocatable[corev1.ResourceMemory] = resource.MustParse("500G")
			n.Status.Allocatable["nvidia.com/gpu"] = resource.MustParse("4")
		}),
		node("not-ready", false, nil),
		node("no-condition", true, func(n *corev1.Node) { n.Status.Conditions = nil }),
		node("cordoned", true, func(n *corev1.Node) { n.Spec.Unschedulable = true }),
		node("control-plane", true, func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}
		}),
		node("draining", true, func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "maintenance", Effect: corev1.TaintEffectNoExecute}}
		}),
		node("preferred", true, func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "spot", Effect: corev1.TaintEffectPreferNoSchedule}}
		}),
		node("other-pool", true, func(n *corev1.Node) { n.Labels["pool"] = "web" }),
	}
	var rt []runtime.Object
	for _, n := range objs {
		rt = append(rt, n)
	}
	labels := func(name string, pool string) map[string]string {
		return map[string]string{"kubernetes.io/hostname": name, "pool": pool}
	}

	e, _ := newExecutor(t, executor.Config{}, rt...)
	got, err := e.Nodes(ctx(t))
	if err != nil {
		t.Fatalf("Nodes: %v", err)
	}
	want := []executor.Node{
		{Name: "a-gpu", CPUs: 64, Memory: 500e9, GPUs: 4, Labels: labels("a-gpu", "batch")},
		{Name: "b-ready", CPUs: 7, Memory: 31 << 30, Labels: labels("b-ready", "batch")},
		{Name: "other-pool", CPUs: 7, Memory: 31 << 30, Labels: labels("other-pool", "web")},
		{Name: "preferred", CPUs: 7, Memory: 31 << 30, Labels: labels("preferred", "batch")},
	}
	if !equality.Semantic.DeepEqual(want, got) {
		t.Errorf("Nodes (-want +got):\n%s", diff.Diff(want, got))
	}

	// The node selector filters nodes; cpus and memory cap each.
	e, _ = newExecutor(t, executor.Config{NodeSelector: map[string]string{"pool": "batch"}, CPUs: 16, Memory: "64G"}, rt...)
	got, err = e.Nodes(ctx(t))
	if err != nil {
		t.Fatalf("Nodes: %v", err)
	}
	want = []executor.Node{
		{Name: "a-gpu", CPUs: 16, Memory: 64 << 30, GPUs: 4, Labels: labels("a-gpu", "batch")},
		{Name: "b-ready", CPUs: 7, Memory: 31 << 30, Labels: labels("b-ready", "batch")},
		{Name: "preferred", CPUs: 7, Memory: 31 << 30, Labels: labels("preferred", "batch")},
	}
	if !equality.Semantic.DeepEqual(want, got) {
		t.Errorf("Nodes with a selector and caps (-want +got):\n%s", diff.Diff(want, got))
	}
}
