package kube

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
)

func init() {
	executor.Register("kube", func(ctx context.Context, name string, cfg executor.Config) (executor.Executor, error) {
		return New(ctx, name, cfg)
	})
}

// DefaultNamespace is where jobs' pods go when the configuration names no
// namespace.
const DefaultNamespace = "default"

// Client-side rate limits of the API client, where the kubeconfig sets
// none (client-go's own defaults, 5 and 10, are too low for a batch
// system that starts and inspects many pods).
const (
	defaultQPS   = 50
	defaultBurst = 100
)

// Executor runs jobs as pods of one namespace of a Kubernetes cluster. It
// is safe for concurrent use. Close stops its watch.
type Executor struct {
	name         string
	installation string // the store's (Config.Installation), "" for none
	namespace    string
	client       kubernetes.Interface
	rest         *rest.Config // nil: no Exec
	execClient   rest.Interface
	nodeSelector map[string]string
	claims       map[string]string // cleaned directory -> claim name
	claimDirs    []string          // the claims' directories, longest first
	cpus         int               // per-node capacity cap, 0: none
	memory       int64             // per-node capacity cap, 0: none

	pods      cache.SharedIndexInformer // GoDocker's pods of the namespace
	startOnce sync.Once
	runCtx    context.Context // ends at Close
	cancel    context.CancelFunc
	wg        sync.WaitGroup // the informer and the Events goroutines

	mu       sync.Mutex
	closed   bool
	deleted  map[string]types.UID // pods deleted that the cache may still hold
	watchErr error                // the watch's last error
}

var _ executor.Executor = (*Executor)(nil)

// New connects to the Kubernetes API server and checks that it answers
// and lets godockerd list pods in the namespace. The server's address and
// credentials come from the kubeconfig file cfg.Kubeconfig (with its
// context cfg.Context, else its current one), else from the in-cluster
// configuration (godockerd running in a pod, with a service account),
// else from $KUBECONFIG or ~/.kube/config; cfg.Host, if set, overrides
// the server's address. Pods go to cfg.Namespace (default "default").
// cfg.NodeSelector restricts the nodes, cfg.Claims maps directories to
// PersistentVolumeClaims (see the package documentation), and cfg.CPUs
// and cfg.Memory, if set, cap what Nodes reports of each node.
func New(ctx context.Context, name string, cfg executor.Config) (*Executor, error) {
	rc, where, err := restConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("executor %s: %w", name, err)
	}
	if cfg.Host != "" {
		rc.Host = cfg.Host
	}
	if rc.QPS == 0 {
		rc.QPS = defaultQPS
	}
	if rc.Burst == 0 {
		rc.Burst = defaultBurst
	}
	rc.UserAgent = "godockerd (" + rest.DefaultKubernetesUserAgent() + ")"
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("executor %s: Kubernetes client from %s: %w", name, where, err)
	}
	e, err := NewForClient(ctx, name, cfg, client, rc)
	if err != nil {
		return nil, fmt.Errorf("%w (configuration from %s)", err, where)
	}
	return e, nil
}

// NewForClient is New with a client made by the caller, e.g. the fake
// clientset of k8s.io/client-go/kubernetes/fake in tests. rc is the
// configuration the client was made from, for Exec's streaming
// connections: nil, Exec fails. cfg.Kubeconfig, cfg.Context and cfg.Host
// are not used.
func NewForClient(ctx context.Context, name string, cfg executor.Config, client kubernetes.Interface, rc *rest.Config) (*Executor, error) {
	e := &Executor{
		name:         name,
		installation: cfg.Installation,
		namespace:    cfg.Namespace,
		client:       client,
		rest:         rc,
		nodeSelector: cfg.NodeSelector,
		cpus:         cfg.CPUs,
		deleted:      map[string]types.UID{},
	}
	if e.namespace == "" {
		e.namespace = DefaultNamespace
	}
	if cfg.CPUs < 0 {
		return nil, fmt.Errorf("executor %s: cpus %d: want 0 (what the nodes report) or more", name, cfg.CPUs)
	}
	if cfg.Memory != "" {
		m, err := api.ParseMemory(cfg.Memory)
		if err != nil {
			return nil, fmt.Errorf("executor %s: %w", name, err)
		}
		e.memory = m
	}
	if cfg.Network != "" {
		return nil, fmt.Errorf("executor %s: network %q: the kube executor's pods use the cluster's pod network; leave network empty", name, cfg.Network)
	}
	var err error
	if e.claims, e.claimDirs, err = claimDirs(cfg.Claims); err != nil {
		return nil, fmt.Errorf("executor %s: %w", name, err)
	}
	if rc != nil {
		cs, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return nil, fmt.Errorf("executor %s: Kubernetes client for exec: %w", name, err)
		}
		e.execClient = cs.CoreV1().RESTClient()
	}
	if err := e.ping(ctx, rc); err != nil {
		return nil, fmt.Errorf("executor %s: %w", name, err)
	}
	e.runCtx, e.cancel = context.WithCancel(context.Background())
	e.pods = e.newInformer()
	return e, nil
}

// ping checks that the API server answers and lets godockerd list pods
// in the namespace.
func (e *Executor) ping(ctx context.Context, rc *rest.Config) error {
	at := "the Kubernetes API server"
	if rc != nil {
		at += " at " + rc.Host
	}
	v, err := discovery.ToServerVersionInterfaceWithContext(e.client.Discovery()).ServerVersionWithContext(ctx)
	if err != nil {
		return fmt.Errorf("cannot reach %s: is it up, and are the kubeconfig's server address and credentials right? (%w)", at, err)
	}
	_, err = e.client.CoreV1().Pods(e.namespace).List(ctx, metav1.ListOptions{LabelSelector: e.selector(), Limit: 1})
	switch {
	case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
		return fmt.Errorf("%s (%s) does not let godockerd list pods in namespace %s: %w (its account needs get, list, watch, create and delete on pods, create on pods/exec, and list on nodes)", at, v.GitVersion, e.namespace, err)
	case err != nil:
		return fmt.Errorf("%s (%s): list pods in namespace %s: %w", at, v.GitVersion, e.namespace, err)
	}
	return nil
}

// Close stops the executor's watch and ends the streams of Events. Pods
// keep running.
func (e *Executor) Close() error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	e.wg.Wait()
	return nil
}

// Client is the Kubernetes client the executor uses, for tests and tools
// that need to look at pods directly.
func (e *Executor) Client() kubernetes.Interface { return e.client }

// Namespace is the namespace of the jobs' pods.
func (e *Executor) Namespace() string { return e.namespace }

// Name is the name the executor was configured under.
func (e *Executor) Name() string { return e.name }

// Nodes lists the nodes that can run jobs now: Ready, not cordoned, with
// no NoSchedule or NoExecute taint (jobs' pods tolerate none) and, if
// the executor has a NodeSelector, carrying its labels. A node's
// capacity is its allocatable cpus (whole cpus, rounded down), memory and
// nvidia.com/gpu, capped by the configured cpus and memory if set.
func (e *Executor) Nodes(ctx context.Context) ([]executor.Node, error) {
	opts := metav1.ListOptions{}
	if len(e.nodeSelector) > 0 {
		opts.LabelSelector = labels.SelectorFromSet(e.nodeSelector).String()
	}
	list, err := e.client.CoreV1().Nodes().List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("nodes: list nodes: %w", err)
	}
	var nodes []executor.Node
	for i := range list.Items {
		n := &list.Items[i]
		if !usable(n) {
			continue
		}
		a := n.Status.Allocatable
		node := executor.Node{
			Name:   n.Name,
			CPUs:   int(a.Cpu().MilliValue() / 1000),
			Memory: a.Memory().Value(),
			Labels: n.Labels,
		}
		if g, ok := a[ResourceGPU]; ok {
			node.GPUs = int(g.Value())
		}
		if e.cpus > 0 {
			node.CPUs = min(node.CPUs, e.cpus)
		}
		if e.memory > 0 {
			node.Memory = min(node.Memory, e.memory)
		}
		nodes = append(nodes, node)
	}
	slices.SortFunc(nodes, func(a, b executor.Node) int { return strings.Compare(a.Name, b.Name) })
	return nodes, nil
}

// usable reports whether jobs can go to node n now.
func usable(n *corev1.Node) bool {
	if n.Spec.Unschedulable {
		return false
	}
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			return false
		}
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Start creates the pod of the job's current attempt, placed on p.Node if
// set (the pod's nodeName: GoDocker's scheduler has fitted the job on
// that node's allocatable capacity already, so the kube-scheduler is not
// asked), on a node with the labels of the executor's NodeSelector and of
// p.Labels. If the pod exists already, Start leaves it as it is and
// returns nil; a pod of that name of another installation is refused,
// whatever its job and attempt (one without an installation label is
// taken only under the name of before installations existed,
// godocker-ID-ATTEMPT, recorded by a job started then). The kubelet then
// pulls the image if the node does not have it; a pull that fails makes
// Inspect report the job exited with the error.
func (e *Executor) Start(ctx context.Context, j *api.Job, p executor.Placement) error {
	if j.Run == nil || len(j.Run.Argv) == 0 {
		return fmt.Errorf("start job %d: no resolved execution (job.Run with an argv)", j.ID)
	}
	pod := e.pod(j, p)
	_, err := e.client.CoreV1().Pods(e.namespace).Create(ctx, pod, metav1.CreateOptions{})
	switch {
	case err == nil:
		return nil
	case apierrors.IsAlreadyExists(err):
		// This attempt was started before.
		cur, gerr := e.client.CoreV1().Pods(e.namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if gerr != nil {
			return fmt.Errorf("start job %d: pod %s exists, but: %w", j.ID, pod.Name, gerr)
		}
		if inst := cur.Labels[executor.LabelInstallation]; inst != e.installation && (inst != "" || pod.Name != executor.ContainerName("", j)) {
			return fmt.Errorf("start job %d: pod name %s in namespace %s is taken by a pod of installation %s, not of this one (%s): refusing to take it over",
				j.ID, pod.Name, e.namespace, installationName(inst), installationName(e.installation))
		}
		if id, attempt, ok := jobOf(cur); !ok || id != j.ID || attempt != j.Attempt {
			return fmt.Errorf("start job %d: pod name %s in namespace %s is taken by a pod that is not this job attempt's", j.ID, pod.Name, e.namespace)
		}
		return nil
	}
	return fmt.Errorf("start job %d: create pod %s in namespace %s: %w", j.ID, pod.Name, e.namespace, err)
}

// installationName is how errors name an installation id.
func installationName(id string) string {
	if id == "" {
		return "none"
	}
	return strconv.Quote(id)
}

// Kill deletes the pod of a job that runs (or has not started yet) at
// once, with no grace period: Kubernetes has no API that sends SIGKILL to
// a container. The kubelet then kills the container. The pod is gone:
// Events reports Exited (if it had reported Started) and Inspect reports
// the pod missing, with no exit code, which the server records as killed.
// A pod that has ended already is left as it is (with its exit status)
// and nil returned; a missing pod is executor.ErrNotFound.
func (e *Executor) Kill(ctx context.Context, j *api.Job) error {
	name := executor.ContainerOf(e.installation, j)
	pod, err := e.client.CoreV1().Pods(e.namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("kill job %d: pod %s: %w", j.ID, name, executor.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("kill job %d: get pod %s: %w", j.ID, name, err)
	}
	if status(pod).State == executor.StateExited {
		return nil
	}
	err = e.deletePod(ctx, name, pod.UID)
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("kill job %d: pod %s: %w", j.ID, name, executor.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("kill job %d: %w", j.ID, err)
	}
	return nil
}

// deletePod deletes a pod with no grace period (uid, if set, must be
// its uid).
func (e *Executor) deletePod(ctx context.Context, name string, uid types.UID) error {
	opts := metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}
	if uid != "" {
		opts.Preconditions = &metav1.Preconditions{UID: &uid}
	}
	err := e.client.CoreV1().Pods(e.namespace).Delete(ctx, name, opts)
	if err == nil {
		e.markDeleted(name)
		return nil
	}
	if apierrors.IsNotFound(err) {
		return err
	}
	return fmt.Errorf("delete pod %s in namespace %s: %w", name, e.namespace, err)
}

// Suspend is not supported: Kubernetes cannot pause a pod's container.
func (e *Executor) Suspend(ctx context.Context, j *api.Job) error {
	return fmt.Errorf("suspend job %d: Kubernetes cannot pause a pod's container: %w", j.ID, executor.ErrUnsupported)
}

// Resume is not supported: Kubernetes cannot pause a pod's container.
func (e *Executor) Resume(ctx context.Context, j *api.Job) error {
	return fmt.Errorf("resume job %d: Kubernetes cannot pause a pod's container: %w", j.ID, executor.ErrUnsupported)
}

// Remove deletes the job's pod, with no grace period if it still runs. A
// missing pod is not an error.
func (e *Executor) Remove(ctx context.Context, j *api.Job) error {
	err := e.deletePod(ctx, executor.ContainerOf(e.installation, j), "")
	if err == nil || apierrors.IsNotFound(err) {
		return nil
	}
	return fmt.Errorf("remove job %d: %w", j.ID, err)
}

// Inspect reports the pod of the job's current attempt, from the
// informer's cache when it has the pod, else from the API server. A
// missing pod is State executor.StateMissing and no error. See status
// for how a pod's state maps to the executor's.
func (e *Executor) Inspect(ctx context.Context, j *api.Job) (executor.Status, error) {
	pod, err := e.getPod(ctx, executor.ContainerOf(e.installation, j))
	if apierrors.IsNotFound(err) {
		return executor.Status{State: executor.StateMissing}, nil
	}
	if err != nil {
		return executor.Status{}, fmt.Errorf("inspect job %d: %w", j.ID, err)
	}
	return status(pod), nil
}

// getPod returns the pod named name from the informer's cache if it is
// there and was not deleted since, else from the API server (a pod
// created a moment ago may not be in the cache yet).
func (e *Executor) getPod(ctx context.Context, name string) (*corev1.Pod, error) {
	if e.watch() && e.pods.HasSynced() {
		obj, ok, err := e.pods.GetIndexer().GetByKey(e.namespace + "/" + name)
		if err == nil && ok {
			if p := obj.(*corev1.Pod); !e.stale(p) {
				return p, nil
			}
		}
	}
	p, err := e.client.CoreV1().Pods(e.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("get pod %s in namespace %s: %w", name, e.namespace, err)
	}
	return p, err
}

// Usage is not supported: the live use of a pod is in the metrics API
// (metrics-server) or the kubelet's, which the executor does not depend
// on.
func (e *Executor) Usage(ctx context.Context, j *api.Job) (api.Usage, error) {
	return api.Usage{}, fmt.Errorf("usage of job %d: the kube executor does not read pod metrics: %w", j.ID, executor.ErrUnsupported)
}

// exitStartFailed is the exit code reported for a job whose container
// could not be started, as docker run reports its own failures.
const exitStartFailed = 125

// fatalWaiting are the reasons a container waits for that do not resolve
// by themselves: the job is reported exited (exitStartFailed, with the
// reason) so that the server fails it instead of waiting forever.
var fatalWaiting = map[string]bool{
	"ErrImagePull":               true,
	"ImagePullBackOff":           true,
	"InvalidImageName":           true,
	"ErrImageNeverPull":          true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
}

// startFailures are the reasons of a terminated container whose process
// never ran.
var startFailures = map[string]bool{
	"StartError":         true,
	"ContainerCannotRun": true,
}

// status maps a pod to the executor's view of its container:
//
//   - the job's container terminated: StateExited with its exit code,
//     start and end times and OOMKilled; Error if its process could not be
//     started (StartError);
//   - the pod Succeeded or Failed without a terminated container (the
//     kubelet rejected it, e.g. OutOfcpu, or it was evicted before it
//     started): StateExited, exit code 0 or exitStartFailed, Error from
//     the pod's reason and message;
//   - the container waiting for a reason in fatalWaiting (ErrImagePull,
//     ...): StateExited, exitStartFailed, Error from the reason;
//   - the container running (or the pod Running): StateRunning;
//   - otherwise (Pending: not scheduled, pulling the image, mounting):
//     StateCreated.
//
// Node is the pod's node, Container the pod's name.
func status(pod *corev1.Pod) executor.Status {
	st := executor.Status{State: executor.StateCreated, Node: pod.Spec.NodeName, Container: pod.Name}
	var cs *corev1.ContainerStatus
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == ContainerName {
			cs = &pod.Status.ContainerStatuses[i]
		}
	}
	phase := pod.Status.Phase
	switch {
	case cs != nil && cs.State.Terminated != nil:
		t := cs.State.Terminated
		st.State = executor.StateExited
		st.ExitCode = int(t.ExitCode)
		st.StartedAt, st.FinishedAt = t.StartedAt.Time, t.FinishedAt.Time
		st.OOMKilled = t.Reason == "OOMKilled"
		if startFailures[t.Reason] {
			st.Error = describe(t.Reason, t.Message)
			if st.ExitCode == 0 {
				st.ExitCode = exitStartFailed
			}
		}
	case phase == corev1.PodSucceeded:
		st.State = executor.StateExited
	case phase == corev1.PodFailed:
		st.State = executor.StateExited
		st.ExitCode = exitStartFailed
		st.Error = describe(pod.Status.Reason, pod.Status.Message)
		if st.Error == "" {
			st.Error = "the pod failed before its container started"
		}
	case cs != nil && cs.State.Waiting != nil && fatalWaiting[cs.State.Waiting.Reason]:
		st.State = executor.StateExited
		st.ExitCode = exitStartFailed
		st.Error = describe(cs.State.Waiting.Reason, cs.State.Waiting.Message)
	case cs != nil && cs.State.Running != nil:
		st.State = executor.StateRunning
		st.StartedAt = cs.State.Running.StartedAt.Time
	case phase == corev1.PodRunning:
		st.State = executor.StateRunning
		if pod.Status.StartTime != nil {
			st.StartedAt = pod.Status.StartTime.Time
		}
	}
	return st
}

// describe joins a Kubernetes reason and message.
func describe(reason, message string) string {
	switch {
	case reason == "":
		return message
	case message == "":
		return reason
	}
	return reason + ": " + message
}
