package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/godocker/godocker/executor"
)

// syncTimeout bounds how long Events waits for the first list of pods.
const syncTimeout = time.Minute

// newInformer builds the informer on GoDocker's pods of the namespace of
// the executor's installation (not started: see watch). It keeps no
// managed fields, and reports watch errors through slog.
func (e *Executor) newInformer() cache.SharedIndexInformer {
	inf := coreinformers.NewFilteredPodInformer(e.client, e.namespace, 0, cache.Indexers{}, func(o *metav1.ListOptions) {
		o.LabelSelector = e.selector()
	})
	_ = inf.SetTransform(func(obj any) (any, error) {
		if p, ok := obj.(*corev1.Pod); ok && len(p.ManagedFields) > 0 {
			// A shallow copy: the object may be shared (a fake clientset's).
			c := *p
			c.ManagedFields = nil
			return &c, nil
		}
		return obj, nil
	})
	_ = inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, r *cache.Reflector, err error) {
		e.mu.Lock()
		e.watchErr = err
		e.mu.Unlock()
		if ctx.Err() == nil {
			slog.Warn("kube: watch of pods broken; retrying", "executor", e.name, "namespace", e.namespace, "err", err)
		}
	})
	// Forget pods Kill and Remove deleted once the cache has seen them go.
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) { e.seen(obj, false) },
		AddFunc:    func(obj any) { e.seen(obj, false) },
		DeleteFunc: func(obj any) { e.seen(obj, true) },
	})
	return inf
}

// watch starts the informer, once, until Close. It reports false if the
// executor is closed.
func (e *Executor) watch() bool {
	e.startOnce.Do(func() {
		e.spawn(func() { e.pods.RunWithContext(e.runCtx) })
	})
	return e.runCtx.Err() == nil
}

// spawn runs f in a goroutine that Close waits for, unless the executor
// is closed.
func (e *Executor) spawn(f func()) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.wg.Go(f)
	return true
}

// markDeleted records that the pod named name was deleted, so that
// Inspect does not believe a cached copy of it.
func (e *Executor) markDeleted(name string) {
	// Under the lock, so that seen, which runs after the cache has
	// dropped the pod, cannot run between the look-up and the record.
	e.mu.Lock()
	defer e.mu.Unlock()
	obj, ok, err := e.pods.GetIndexer().GetByKey(e.namespace + "/" + name)
	if err != nil || !ok {
		return
	}
	e.deleted[name] = obj.(*corev1.Pod).UID
}

// stale reports whether the cached pod is one that Kill or Remove deleted.
func (e *Executor) stale(p *corev1.Pod) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	uid, ok := e.deleted[p.Name]
	return ok && uid == p.UID
}

// seen is the cache's own handler: a deleted pod (or a new pod of that
// name) is no longer stale.
func (e *Executor) seen(obj any, deleted bool) {
	p := podOf(obj)
	if p == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if uid, ok := e.deleted[p.Name]; ok && (deleted || uid != p.UID) {
		delete(e.deleted, p.Name)
	}
}

// podOf returns the pod an informer notification is about (a deleted pod
// may come wrapped), or nil.
func podOf(obj any) *corev1.Pod {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	p, _ := obj.(*corev1.Pod)
	return p
}

// Events streams the Started and Exited events of GoDocker's pods in the
// namespace, of the executor's installation if it has one (another
// installation's pods are none of its business, and the ends of the pods
// of before installations are found by the watcher's reconciliation),
// from the moment Events returns until ctx ends (or Close),
// when the channel is closed. They come from a watch (the executor's
// shared informer), not from polling. Each call gets its own stream, in
// which each pod attempt is Started, then Exited, each once: a pod first
// seen already terminated gives both; a pod that could not start
// (ErrImagePull, ...) gives both too, as Inspect reports it exited; a pod
// deleted after it was Started and before it was seen to end (Kill,
// Remove, a node lost) gives Exited, after which Inspect reports it
// missing. Pods that exist when Events is called are taken as they are:
// only what happens to them afterwards is reported. Exit codes are not in
// events: call Inspect.
//
// Events waits for the informer's first list of pods (at most a minute:
// an API server that does not answer is an error).
func (e *Executor) Events(ctx context.Context) (<-chan executor.Event, error) {
	if !e.watch() {
		return nil, fmt.Errorf("events: executor %s is closed", e.name)
	}
	s := &subscriber{ctx: ctx, stop: e.runCtx.Done(), installation: e.installation, out: make(chan executor.Event, 64), pods: map[string]progress{}}
	reg, err := e.pods.AddEventHandler(s)
	if err != nil {
		return nil, fmt.Errorf("events: watch pods: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	if !cache.WaitFor(wctx, "", reg.HasSyncedChecker()) {
		_ = e.pods.RemoveEventHandler(reg)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("events: list pods in namespace %s: %w", e.namespace, ctx.Err())
		}
		e.mu.Lock()
		last := e.watchErr
		e.mu.Unlock()
		if last == nil {
			last = errors.New("no answer")
		}
		return nil, fmt.Errorf("events: no list of the pods in namespace %s from the API server within %v: %w", e.namespace, syncTimeout, last)
	}
	ok := e.spawn(func() {
		select {
		case <-ctx.Done():
		case <-e.runCtx.Done():
		}
		// Wait for the handler to return before closing its channel.
		if err := cache.ShutDownEventHandler(e.pods, reg); err != nil {
			slog.Warn("kube: stop following pod events", "executor", e.name, "err", err)
		}
		close(s.out)
	})
	if !ok {
		_ = e.pods.RemoveEventHandler(reg)
		return nil, fmt.Errorf("events: executor %s is closed", e.name)
	}
	return s.out, nil
}

// progress is how far a subscriber has reported a pod.
type progress struct {
	uid     types.UID
	started bool
	exited  bool
}

// subscriber is one Events stream: an informer event handler, called by
// the informer from one goroutine of its own, with its own unbounded
// queue of notifications.
type subscriber struct {
	ctx          context.Context
	stop         <-chan struct{} // the executor is closed
	installation string          // the executor's: see managed
	out          chan executor.Event
	pods         map[string]progress // by pod name
}

// OnAdd records the pods that exist when the stream starts (the initial
// list) and reports the others.
func (s *subscriber) OnAdd(obj any, initial bool) {
	p := podOf(obj)
	if p == nil || !managed(p, s.installation) {
		return
	}
	if initial {
		st := status(p)
		s.pods[p.Name] = progress{uid: p.UID, started: st.State != executor.StateCreated, exited: st.State == executor.StateExited}
		return
	}
	s.report(p)
}

// OnUpdate reports the pod's new state.
func (s *subscriber) OnUpdate(_, obj any) {
	if p := podOf(obj); p != nil && managed(p, s.installation) {
		s.report(p)
	}
}

// OnDelete reports a started pod that was not seen to end as Exited.
func (s *subscriber) OnDelete(obj any) {
	p := podOf(obj)
	if p == nil {
		return
	}
	pr, ok := s.pods[p.Name]
	delete(s.pods, p.Name)
	if ok && pr.started && !pr.exited && pr.uid == p.UID {
		s.send(p, executor.Exited, time.Now())
	}
}

// report sends what happened to p since it was last seen.
func (s *subscriber) report(p *corev1.Pod) {
	pr := s.pods[p.Name]
	if pr.uid != p.UID { // the same name, a new pod (removed and started again)
		if pr.started && !pr.exited {
			s.send(p, executor.Exited, time.Now())
		}
		pr = progress{uid: p.UID}
	}
	st := status(p)
	if st.State != executor.StateCreated && !pr.started {
		if !s.send(p, executor.Started, eventTime(st.StartedAt, p)) {
			return
		}
		pr.started = true
	}
	if st.State == executor.StateExited && !pr.exited {
		if !s.send(p, executor.Exited, eventTime(st.FinishedAt, p)) {
			return
		}
		pr.exited = true
	}
	s.pods[p.Name] = pr
}

// eventTime is t, or when the pod started, or now.
func eventTime(t time.Time, p *corev1.Pod) time.Time {
	switch {
	case !t.IsZero():
		return t
	case p.Status.StartTime != nil:
		return p.Status.StartTime.Time
	}
	return time.Now()
}

// send delivers an event about p unless the stream has ended.
func (s *subscriber) send(p *corev1.Pod, kind executor.EventKind, t time.Time) bool {
	id, attempt, ok := jobOf(p)
	if !ok {
		return true // not a job attempt's pod: nothing to say
	}
	if s.ctx.Err() != nil {
		return false
	}
	select {
	case s.out <- executor.Event{JobID: id, Attempt: attempt, Kind: kind, Time: t}:
		return true
	case <-s.ctx.Done():
	case <-s.stop:
	}
	return false
}

// managed reports whether p is one of GoDocker's pods of the installation
// installation ("": any). The informer asks the API server for those
// only (see selector); this is for what comes all the same.
func managed(p *corev1.Pod, installation string) bool {
	return p.Labels[LabelManagedBy] == ManagedBy &&
		(installation == "" || p.Labels[executor.LabelInstallation] == installation)
}

// selector is the label selector of GoDocker's pods of the executor's
// installation (of any, if it has none).
func (e *Executor) selector() string {
	sel := LabelManagedBy + "=" + ManagedBy
	if e.installation != "" {
		sel += "," + executor.LabelInstallation + "=" + e.installation
	}
	return sel
}

// jobOf reads the job id and attempt from a pod's labels.
func jobOf(p *corev1.Pod) (id int64, attempt int, ok bool) {
	return executor.JobOfLabels(p.Labels)
}
