package kube_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/executor/kube"
)

// apiServer plays the little of an API server that New needs: /version
// and the first page of the namespace's pods.
type apiServer struct {
	mu     sync.Mutex
	agents []string
}

func (s *apiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.agents = append(s.agents, r.UserAgent())
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/version":
		json.NewEncoder(w).Encode(version.Info{Major: "1", Minor: "35", GitVersion: "v1.35.0"})
	case "/api/v1/namespaces/" + ns + "/pods":
		if r.URL.Query().Get("labelSelector") != kube.LabelManagedBy+"="+kube.ManagedBy {
			http.Error(w, "unexpected selector", http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
	}
}

// kubeconfig writes a kubeconfig with one context per server (name:
// URL), the current one first, and returns its path.
func kubeconfig(t *testing.T, current string, servers map[string]string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Config\ncurrent-context: %s\nclusters:\n", current)
	for name, url := range servers {
		fmt.Fprintf(&b, "- name: %s\n  cluster:\n    server: %s\n", name, url)
	}
	b.WriteString("users:\n- name: godocker\n  user:\n    token: secret\ncontexts:\n")
	for name := range servers {
		fmt.Fprintf(&b, "- name: %s\n  context:\n    cluster: %s\n    user: godocker\n", name, name)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// closedURL is the URL of a port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	return url
}

// noCluster makes the environment one with no in-cluster configuration
// and no default kubeconfig.
func noCluster(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", filepath.Join(home, "no-such-kubeconfig"))
}

func TestNewKubeconfig(t *testing.T) {
	noCluster(t)
	srv := &apiServer{}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	path := kubeconfig(t, "down", map[string]string{"down": closedURL(t), "up": hs.URL})

	// The kubeconfig's current context is down.
	_, err := executor.Open(ctx(t), "k8s", executor.Config{Type: "kube", Kubeconfig: path, Namespace: ns})
	if err == nil || !strings.Contains(err.Error(), "cannot reach the Kubernetes API server at http://127.0.0.1") ||
		!strings.Contains(err.Error(), "kubeconfig "+path) {
		t.Errorf("New with a server that is down: %v, want an error saying it cannot reach it, and where the configuration came from", err)
	}

	// Its context "up" answers.
	ex, err := executor.Open(ctx(t), "k8s", executor.Config{Type: "kube", Kubeconfig: path, Context: "up", Namespace: ns})
	if err != nil {
		t.Fatalf("New with context up: %v", err)
	}
	e := ex.(*kube.Executor)
	defer e.Close()
	if e.Name() != "k8s" || e.Namespace() != ns {
		t.Errorf("executor %q in namespace %q, want k8s in %s", e.Name(), e.Namespace(), ns)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.agents) == 0 || !strings.HasPrefix(srv.agents[0], "godockerd") {
		t.Errorf("user agents %q, want godockerd's", srv.agents)
	}

	// A context that is not there.
	_, err = kube.New(ctx(t), "k8s", executor.Config{Kubeconfig: path, Context: "nope"})
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("New with a missing context: %v, want an error naming it", err)
	}
}

func TestNewKubeconfigMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	_, err := kube.New(ctx(t), "k8s", executor.Config{Kubeconfig: path})
	if err == nil || !strings.Contains(err.Error(), "executor k8s: kubeconfig "+path) || !strings.Contains(err.Error(), "set kubeconfig") {
		t.Errorf("New with a missing kubeconfig: %v, want an error naming it and saying what to set", err)
	}
}

func TestNewNoConfiguration(t *testing.T) {
	noCluster(t)
	_, err := kube.New(ctx(t), "k8s", executor.Config{})
	if err == nil || !strings.Contains(err.Error(), "not running in a pod") || !strings.Contains(err.Error(), "no-such-kubeconfig") ||
		!strings.Contains(err.Error(), "set kubeconfig") {
		t.Errorf("New with no configuration: %v, want an error saying what was tried and what to set", err)
	}

	// In a pod (the variables set) with no service account token.
	t.Setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
	t.Setenv("KUBERNETES_SERVICE_PORT", "1")
	_, err = kube.New(ctx(t), "k8s", executor.Config{})
	if err == nil || !strings.Contains(err.Error(), "in-cluster configuration failed") {
		t.Errorf("New in a pod without a token: %v, want an error saying the in-cluster configuration failed", err)
	}
}

func TestNewDefaultKubeconfig(t *testing.T) {
	noCluster(t)
	hs := httptest.NewServer(&apiServer{})
	defer hs.Close()
	t.Setenv("KUBECONFIG", kubeconfig(t, "up", map[string]string{"up": hs.URL}))
	e, err := kube.New(ctx(t), "k8s", executor.Config{Namespace: ns})
	if err != nil {
		t.Fatalf("New from $KUBECONFIG: %v", err)
	}
	e.Close()
}

func TestNewForbidden(t *testing.T) {
	cs := fake.NewClientset()
	cs.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", fmt.Errorf("RBAC: access denied"))
	})
	_, err := kube.NewForClient(ctx(t), "k8s", executor.Config{Namespace: ns}, cs, nil)
	if err == nil || !strings.Contains(err.Error(), "list pods in namespace "+ns) || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("NewForClient without the right to list pods: %v, want an error saying so", err)
	}
}

func TestNewBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  executor.Config
		want string
	}{
		{"network", executor.Config{Network: "host"}, "network"},
		{"relative claim", executor.Config{Claims: map[string]string{"home": "homes"}}, "not absolute"},
		{"empty claim", executor.Config{Claims: map[string]string{"/home": ""}}, "no claim"},
		{"cpus", executor.Config{CPUs: -1}, "cpus"},
		{"memory", executor.Config{Memory: "lots"}, "executor k8s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := kube.NewForClient(ctx(t), "k8s", tc.cfg, fake.NewClientset(), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewForClient(%+v): %v, want an error about %s", tc.cfg, err, tc.want)
			}
		})
	}
}

func TestNewDefaultNamespace(t *testing.T) {
	e, err := kube.NewForClient(ctx(t), "k8s", executor.Config{}, fake.NewClientset(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Namespace() != "default" {
		t.Errorf("namespace %q, want default", e.Namespace())
	}
	j := newJob(1, 1)
	if err := e.Start(ctx(t), j, executor.Placement{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Client().CoreV1().Pods("default").Get(ctx(t), executor.ContainerName("", j), metav1.GetOptions{}); err != nil {
		t.Errorf("pod not in namespace default: %v", err)
	}
}
