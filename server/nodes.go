package server

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
)

// getNodes lists every executor's nodes with what running and suspended
// jobs hold of them (gtop's nodes view). Everybody may read it.
func (s *Server) getNodes(w http.ResponseWriter, r *http.Request, _ *caller) error {
	jobs, err := s.store.Jobs(r.Context(), store.Query{States: []api.State{api.Running, api.Suspended}})
	if err != nil {
		return fmt.Errorf("list running jobs: %w", err)
	}
	names := make([]string, 0, len(s.execs))
	for name := range s.execs {
		names = append(names, name)
	}
	slices.Sort(names)
	out := []*api.NodeStatus{}
	for _, ex := range names {
		nodes, err := s.nodes(r.Context(), ex)
		if err != nil {
			return fmt.Errorf("nodes of executor %s: %w", ex, err)
		}
		for _, n := range nodes {
			ns := &api.NodeStatus{Executor: ex, Name: n.Name, CPUs: n.CPUs, Memory: n.Memory, GPUs: n.GPUs, Labels: n.Labels}
			for _, j := range jobs {
				if j.Executor != ex || j.Node != n.Name {
					continue
				}
				d := demandOf(j)
				ns.UsedCPUs += d.CPUs
				ns.UsedMemory += d.Memory
				ns.UsedGPUs += d.GPUs
				ns.Jobs++
			}
			out = append(out, ns)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
