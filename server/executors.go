package server

import (
	"fmt"
	"slices"
	"strings"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
)

// chooseExecutor decides where a job of project runs: the executor it
// asked for (gsub -q), which must be configured and take the project's
// jobs, or else the first configured executor that takes them (config
// order, as Slurm's default partition).
func (s *Server) chooseExecutor(asked, project string) (string, error) {
	if asked != "" {
		ec, ok := s.executorConfig(asked)
		if !ok {
			return "", api.Invalid(fmt.Sprintf("executor %q is not configured; executors: %s (gsub -q NAME)", asked, strings.Join(s.order, ", ")))
		}
		if !takes(ec, project) {
			return "", api.Denied(fmt.Sprintf("executor %s runs only jobs of the projects %s: submit to one of them (-P) or choose another executor (-q)", asked, strings.Join(ec.Projects, ", ")))
		}
		return asked, nil
	}
	for _, name := range s.order {
		if ec, _ := s.executorConfig(name); takes(ec, project) {
			return name, nil
		}
	}
	return "", api.Denied(fmt.Sprintf("no executor runs jobs of project %s: submit to another project (-P), or ask an admin to add it to an executor's projects", project))
}

// executorConfig is the configuration of the executor named name, if
// this server runs it.
func (s *Server) executorConfig(name string) (executor.Config, bool) {
	if _, ok := s.execs[name]; !ok {
		return executor.Config{}, false
	}
	for _, ec := range s.cfg.Executors {
		if ec.Name == name {
			return ec, true
		}
	}
	// Built by New from executors absent from the config (tests).
	return executor.Config{Name: name}, true
}

// takes reports whether an executor runs jobs of project: it has no
// project list, or the project is on it.
func takes(ec executor.Config, project string) bool {
	return len(ec.Projects) == 0 || slices.Contains(ec.Projects, project)
}
