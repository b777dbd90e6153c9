//go:build nokube

package main

import "log/slog"

// setLibraryLogger has nothing to do without the kube executor.
func setLibraryLogger(*slog.Logger) {}
