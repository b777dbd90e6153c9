package kube

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/godocker/godocker/executor"
)

// restConfig finds the API server's address and credentials for cfg: the
// kubeconfig file cfg.Kubeconfig (with its context cfg.Context), else the
// in-cluster configuration (godockerd running in a pod; not with a
// Context), else the default kubeconfig ($KUBECONFIG, ~/.kube/config).
// It also returns where they came from, for messages.
func restConfig(cfg executor.Config) (*rest.Config, string, error) {
	overrides := &clientcmd.ConfigOverrides{CurrentContext: cfg.Context}
	inContext := ""
	if cfg.Context != "" {
		inContext = fmt.Sprintf(" (context %q)", cfg.Context)
	}
	if cfg.Kubeconfig != "" {
		if _, err := os.Stat(cfg.Kubeconfig); err != nil {
			const what = "set kubeconfig to a kubeconfig file that godockerd can read, or leave it empty to use the in-cluster configuration or $KUBECONFIG"
			if errors.Is(err, fs.ErrNotExist) {
				return nil, "", fmt.Errorf("kubeconfig %s does not exist: %s: %w", cfg.Kubeconfig, what, fs.ErrNotExist)
			}
			return nil, "", fmt.Errorf("kubeconfig: %w: %s", err, what)
		}
		rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: cfg.Kubeconfig}
		where := "kubeconfig " + cfg.Kubeconfig + inContext
		rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", where, err)
		}
		return rc, where, nil
	}

	var inCluster error
	if cfg.Context == "" {
		rc, err := rest.InClusterConfig()
		if err == nil {
			return rc, "the in-cluster configuration", nil
		}
		inCluster = err
	}

	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.MigrationRules = nil // never copy kubeconfig files around
	files := strings.Join(rules.GetLoadingPrecedence(), ":")
	where := "kubeconfig " + files + inContext
	if os.Getenv(clientcmd.RecommendedConfigPathEnvVar) != "" {
		where = "$KUBECONFIG (" + files + ")" + inContext
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	switch {
	case err == nil:
		return rc, where, nil
	case clientcmd.IsEmptyConfig(err) && inCluster != nil:
		why := "godockerd is not running in a pod"
		if !errors.Is(inCluster, rest.ErrNotInCluster) {
			why = "the in-cluster configuration failed (" + inCluster.Error() + ")"
		}
		return nil, "", fmt.Errorf("no Kubernetes configuration: %s and there is no kubeconfig at %s: set kubeconfig (and context) in the executor's section of godocker.yaml, or $KUBECONFIG", why, files)
	case clientcmd.IsEmptyConfig(err):
		return nil, "", fmt.Errorf("no kubeconfig at %s for context %q: set kubeconfig in the executor's section of godocker.yaml, or $KUBECONFIG", files, cfg.Context)
	}
	return nil, "", fmt.Errorf("%s: %w", where, err)
}
