//go:build !nokube

package main

import (
	"log/slog"

	"k8s.io/klog/v2"

	_ "github.com/godocker/godocker/executor/kube" // executor type "kube"
)

// setLibraryLogger sends the logs of client-go, the kube executor's
// library, to godockerd's log. Build with -tags nokube to leave the kube
// executor out: client-go adds about 60 MB to the binary and 20 MB to
// the resident memory of every godockerd.
func setLibraryLogger(log *slog.Logger) {
	klog.SetSlogLogger(log.With("component", "client-go"))
}
