package kube

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
)

// Labels and names of what the executor creates.
const (
	// LabelManagedBy marks GoDocker's pods: the executor watches the pods
	// of its namespace that carry LabelManagedBy=ManagedBy (the
	// Kubernetes recommended label) and, if it has an installation,
	// executor.LabelInstallation with its id, and only those.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedBy is the value of LabelManagedBy on GoDocker's pods.
	ManagedBy = "godocker"
	// ContainerName is the name of the job's container in its pod.
	ContainerName = "job"
	// ResourceGPU is the extended resource a job's GPUs are asked for as,
	// and that Nodes counts (the NVIDIA device plugin's).
	ResourceGPU corev1.ResourceName = "nvidia.com/gpu"
)

// gracePeriod is the pods' terminationGracePeriodSeconds: the time between
// SIGTERM and SIGKILL when something other than GoDocker deletes or evicts
// a pod (GoDocker itself deletes with no grace period, see Kill).
const gracePeriod = 5

// pod is the pod of the job's current attempt, placed by p: job.Run
// translated, plus the hardening every job gets. It decides nothing that
// job.Run does not say, apart from that hardening.
func (e *Executor) pod(j *api.Job, p executor.Placement) *corev1.Pod {
	r := j.Run
	user := labelValue(j.User)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      executor.ContainerOf(e.installation, j),
			Namespace: e.namespace,
			Labels: map[string]string{
				LabelManagedBy:        ManagedBy,
				executor.LabelJob:     strconv.FormatInt(j.ID, 10),
				executor.LabelAttempt: strconv.Itoa(j.Attempt),
				executor.LabelUser:    user,
			},
			// Values that need not be valid label values, exactly.
			Annotations: map[string]string{
				executor.LabelUser:    j.User,
				executor.LabelName:    j.Name,
				executor.LabelProject: j.Project,
			},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr.To[int64](gracePeriod),
			AutomountServiceAccountToken:  ptr.To(false),
			EnableServiceLinks:            ptr.To(false),
			// The pause container is pid 1 and reaps zombies, as
			// docker-init does for the docker executor.
			ShareProcessNamespace: ptr.To(true),
			NodeName:              p.Node,
			NodeSelector:          nodeSelector(e.nodeSelector, p.Labels),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsUser:          ptr.To(int64(r.UID)),
				RunAsGroup:         ptr.To(int64(r.GID)),
				SupplementalGroups: groups(r.Groups),
				RunAsNonRoot:       ptr.To(r.UID != 0),
				SeccompProfile:     &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:            ContainerName,
				Image:           r.Image,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         literal(r.Argv[:1]),
				Args:            literal(r.Argv[1:]),
				WorkingDir:      r.WorkDir,
				Env:             env(r.Env),
				Resources:       resources(r, j.Spec.GPUs),
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
				},
			}},
		},
	}
	if r.UID != 0 {
		pod.Spec.Containers[0].SecurityContext.Capabilities = &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}
	}
	if e.installation != "" {
		pod.Labels[executor.LabelInstallation] = e.installation
	}
	pod.Spec.Volumes, pod.Spec.Containers[0].VolumeMounts = e.volumes(r.Mounts)
	return pod
}

// nodeSelector is the configured selector plus the placement's labels
// (which win), or nil if both are empty.
func nodeSelector(configured, placed map[string]string) map[string]string {
	if len(configured)+len(placed) == 0 {
		return nil
	}
	sel := make(map[string]string, len(configured)+len(placed))
	maps.Copy(sel, configured)
	maps.Copy(sel, placed)
	return sel
}

func groups(gs []int) []int64 {
	if len(gs) == 0 {
		return nil
	}
	out := make([]int64, len(gs))
	for i, g := range gs {
		out[i] = int64(g)
	}
	return out
}

// literal escapes strings that Kubernetes expands: in a container's
// command, args and environment values, $(NAME) is replaced by the
// variable NAME and $$ by $. Doubling every $ makes the kubelet pass the
// strings on exactly as given, as the docker executor does.
func literal(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ReplaceAll(s, "$", "$$")
	}
	return out
}

// env turns "K=V" strings into the container's environment. A string
// without "=" is a variable with an empty value.
func env(kvs []string) []corev1.EnvVar {
	if len(kvs) == 0 {
		return nil
	}
	out := make([]corev1.EnvVar, 0, len(kvs))
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, corev1.EnvVar{Name: k, Value: strings.ReplaceAll(v, "$", "$$")})
	}
	return out
}

// resources are the container's requests and limits, equal so that the
// job gets what the scheduler counted (and the pod is Guaranteed when it
// has both cpus and memory). Kubernetes has no per-pod pid limit: the
// kubelet's podPidsLimit applies to every pod of a node, so Run.Pids is
// not applied.
func resources(r *api.Run, gpus int) corev1.ResourceRequirements {
	rl := corev1.ResourceList{}
	if r.CPUs > 0 {
		rl[corev1.ResourceCPU] = *resource.NewQuantity(int64(r.CPUs), resource.DecimalSI)
	}
	if r.Memory > 0 {
		rl[corev1.ResourceMemory] = *resource.NewQuantity(r.Memory, resource.BinarySI)
	}
	if gpus > 0 {
		rl[ResourceGPU] = *resource.NewQuantity(int64(gpus), resource.DecimalSI)
	}
	if len(rl) == 0 {
		return corev1.ResourceRequirements{}
	}
	return corev1.ResourceRequirements{Requests: rl, Limits: rl.DeepCopy()}
}

// volumes turns the job's bind mounts into pod volumes: a mount whose
// source lies in a directory of e.claims (the longest such directory)
// becomes a subPath of that PersistentVolumeClaim, one volume per claim;
// any other is a hostPath volume of type Directory, which must exist on
// the node the pod runs on.
func (e *Executor) volumes(mounts []api.Mount) ([]corev1.Volume, []corev1.VolumeMount) {
	var vols []corev1.Volume
	var vms []corev1.VolumeMount
	claimVolume := map[string]string{} // claim name -> volume name
	for i, m := range mounts {
		vm := corev1.VolumeMount{MountPath: m.Target, ReadOnly: m.ReadOnly}
		if claim, sub, ok := e.claimOf(m.Source); ok {
			name, seen := claimVolume[claim]
			if !seen {
				name = "claim-" + strconv.Itoa(len(claimVolume))
				claimVolume[claim] = name
				vols = append(vols, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
					PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
				}})
			}
			vm.Name, vm.SubPath = name, sub
		} else {
			vm.Name = "host-" + strconv.Itoa(i)
			vols = append(vols, corev1.Volume{Name: vm.Name, VolumeSource: corev1.VolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: m.Source, Type: ptr.To(corev1.HostPathDirectory)},
			}})
		}
		vms = append(vms, vm)
	}
	return vols, vms
}

// claimOf finds the configured claim whose directory holds path (the
// longest such directory) and path's place in it ("" for the directory
// itself).
func (e *Executor) claimOf(path string) (claim, sub string, ok bool) {
	path = filepath.Clean(path)
	best := ""
	for _, dir := range e.claimDirs { // longest first
		if path == dir || strings.HasPrefix(path, dir+"/") || dir == "/" {
			best = dir
			break
		}
	}
	if best == "" {
		return "", "", false
	}
	rel, err := filepath.Rel(best, path)
	if err != nil || rel == "." {
		rel = ""
	}
	return e.claims[best], rel, true
}

// claimDirs returns the directories of claims, cleaned, longest first.
func claimDirs(claims map[string]string) (map[string]string, []string, error) {
	clean := make(map[string]string, len(claims))
	for dir, claim := range claims {
		if !filepath.IsAbs(dir) {
			return nil, nil, fmt.Errorf("claims: directory %q is not absolute", dir)
		}
		if claim == "" {
			return nil, nil, fmt.Errorf("claims: directory %s has no claim name", dir)
		}
		clean[filepath.Clean(dir)] = claim
	}
	dirs := slices.Collect(maps.Keys(clean))
	slices.SortFunc(dirs, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return clean, dirs, nil
}

// labelValue makes s a valid label value: at most 63 characters from
// [A-Za-z0-9._-], beginning and ending with a letter or digit. Other
// characters become '_'. The exact value is kept in an annotation.
func labelValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !alnum(c) && c != '-' && c != '_' && c != '.' {
			b[i] = '_'
		}
	}
	v := strings.TrimFunc(string(b), func(r rune) bool { return !alnum(byte(r)) })
	if len(v) > 63 {
		v = strings.TrimRightFunc(v[:63], func(r rune) bool { return !alnum(byte(r)) })
	}
	return v
}

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
