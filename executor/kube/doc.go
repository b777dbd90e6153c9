// Package kube runs GoDocker jobs on Kubernetes, with client-go. It is
// registered as the executor type "kube".
//
// # Configuration
//
// The API server and credentials come from the executor's kubeconfig
// (a file, with its context, or its current one), else from the
// in-cluster configuration (godockerd running in a pod, with a service
// account), else from $KUBECONFIG or ~/.kube/config; New says which it
// tried and what to set. godockerd's account needs get, list, watch,
// create and delete on pods and create on pods/exec in the namespace, and
// list on nodes. Jobs' pods go to the executor's namespace ("default"
// unless configured). Several GoDocker installations may share a
// namespace: pods are named and labelled with the installation id of
// their server's store (see package executor), and each executor follows
// the pods of its own installation only.
//
// # Pods, not Jobs
//
// Each job attempt is one bare Pod named executor.ContainerOf(job)
// (godocker-INSTALLATION-ID-ATTEMPT), with restartPolicy Never, rather
// than a batch/v1 Job with backoffLimit 0: GoDocker is the batch system. It
// queues, places (nodeName), retries (never on its own: gctl requeue) and
// cleans up (the watcher records the exit, then calls Remove) itself, so a
// Job controller would only add a second object to keep in step, a pod
// with a generated name to find for Inspect and Exec, and its own
// behaviour when a pod disappears. A bare pod is not recreated if its
// node is lost: the job is then reported missing, as GoDocker's rules
// want. Node drains need kubectl drain --force for bare pods.
//
// # What a pod runs
//
// One container, "job", runs job.Run exactly as the server resolved it:
// the image (pulled by the kubelet if the node lacks it: imagePullPolicy
// IfNotPresent), command = Argv[0] and args = the rest (with every $
// doubled, so that Kubernetes' $(VAR) expansion leaves them as they are,
// as in the environment's values), the working directory, the
// environment, and requests equal to limits for cpu (Run.CPUs) and memory
// (Run.Memory), plus nvidia.com/gpu for the job's GPUs (Spec.GPUs), so the
// pod gets what GoDocker's scheduler counted. Kubernetes cannot limit the
// pids of one pod (the kubelet's podPidsLimit applies to all pods of a
// node): Run.Pids is not applied. The pod runs as runAsUser Run.UID,
// runAsGroup Run.GID and supplementalGroups Run.Groups, with runAsNonRoot
// unless the job runs as root (which the server allows only where
// configured), the RuntimeDefault seccomp profile, no service account
// token, no service links, and a shared process namespace (the pause
// container is pid 1 and reaps zombies, as docker-init does). The
// container has allowPrivilegeEscalation false and, for a non-root job,
// drops every capability.
//
// # Mounts
//
// Run.Mounts are host directories. A mount whose source lies in a
// directory of the executor's claims (the longest one wins) is that
// PersistentVolumeClaim with subPath = the source's place in the
// directory (the kubelet creates a missing subPath); every other mount is
// a hostPath volume of type Directory, which needs the same path on
// every node: a shared file system (NFS, CephFS, GPFS, ...) mounted
// alike everywhere, as the job directories, homes and volumes are for the
// server. A hostPath that does not exist on the node keeps the pod
// pending (FailedMount: kubectl describe pod). hostPath volumes are
// refused by the "baseline" and "restricted" Pod Security Standards: a
// namespace whose jobs mount host paths needs the "privileged" level;
// with claims only, non-root jobs meet "restricted".
//
// # Placement
//
// A job placed on a node (Placement.Node) gets spec.nodeName: GoDocker's
// scheduler has fitted it on that node's allocatable capacity already, so
// the kube-scheduler is not asked. Pods GoDocker does not know of also
// use that capacity (DaemonSets, other workloads): if they leave too
// little, the kubelet rejects the pod (OutOfcpu, OutOfmemory) and the job
// fails with that reason. Dedicate nodes to GoDocker (node_selector) or
// cap what it may use of each (the executor's cpus and memory). The
// pod's nodeSelector is the executor's NodeSelector plus the placement's
// Labels (node reservation), which the kubelet checks too. Nodes lists
// the nodes that are Ready, not cordoned and without NoSchedule or
// NoExecute taints (jobs tolerate none), that carry the NodeSelector's
// labels, with their allocatable cpus (rounded down), memory and
// nvidia.com/gpu.
//
// # Labels
//
// A pod carries app.kubernetes.io/managed-by=godocker and
// executor.LabelInstallation=INSTALLATION (the executor watches only the
// pods with both), executor.LabelJob, executor.LabelAttempt and
// executor.LabelUser (the user's name made a valid label value). Start
// refuses a pod of another installation found under a job attempt's
// name. Pods of jobs started before installations existed keep their
// names (godocker-ID-ATTEMPT) and have no installation label: they are
// not watched, and the watcher's reconciliation finds their ends. The
// exact user, the job's name and its project, which need not be valid
// label values, are annotations (godocker.user, godocker.name,
// godocker.project).
//
// # States and events
//
// A shared informer watches GoDocker's pods of the namespace (a watch,
// not polling); Events streams from it and Inspect reads its cache (or
// asks the API server for a pod the cache does not have, or that Kill or
// Remove deleted). A pod that is Pending is created, Running is running,
// and a terminated container is exited with its exit code and times; a
// container that waits for a reason that does not resolve by itself
// (ErrImagePull, ImagePullBackOff, InvalidImageName, ErrImageNeverPull,
// CreateContainerConfigError, CreateContainerError) and a pod that failed
// before its container ran (the kubelet rejected it) are exited with exit
// code 125 and the reason in Status.Error, so that the server fails the
// job instead of waiting for ever.
//
// Kubernetes has no API to send SIGKILL to a container: Kill deletes the
// pod with no grace period. The pod is then gone: Events reports Exited
// and Inspect reports the pod missing, which the server records as
// killed (there is no exit code). Suspend and Resume are not supported:
// Kubernetes cannot pause a pod's container. Usage is not supported: it
// would need the metrics API (metrics-server); the server ignores it.
//
// Exec goes through the pods/exec subresource, over a WebSocket (API
// servers from 1.30) or SPDY, with a TTY and resizes if asked; the
// process runs as the pod's user. Signal is not supported: the exec API
// cannot signal a process. There is no DialJob (port forwarding) yet.
//
// # What was tested, and how
//
// Nothing in this package was run against a real cluster: there is none
// on the machine it was written on. The tests use client-go's fake
// clientset (k8s.io/client-go/kubernetes/fake), which stores objects and
// serves list and watch but has no scheduler, kubelet or admission:
// they check the exact pod spec a job becomes, that pod status changes
// made through the fake (as a kubelet would make them) give the right
// events and Inspect results, Start's idempotence, two installations in
// one namespace (names, labels, the watch's selector, Start's refusal of
// the other's pod), Kill, Remove, Nodes' filtering and capacity, the
// configuration errors of New (including
// against an HTTP server that plays an API server answering /version and
// the pod list), and the streams from Events closing. Exec is tested
// against an HTTP server in the test that speaks the exec protocol as
// the kubelet does (channel protocol v5 over a WebSocket, and v4 over
// SPDY when the WebSocket is refused): stdin, stdout, stderr, TTY
// resizes and the exit code. Not tested: real API server validation and
// admission of the pod spec (Pod Security, quotas), the kubelet's
// behaviour (image pulls, hostPath and subPath mounts, runAsUser,
// capabilities, OOM kills, the exit code after Kill, rejections with
// nodeName), RBAC, watch reconnection after an API server outage, and
// exec through a real API server and container runtime.
package kube
