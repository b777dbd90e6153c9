package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/godocker/godocker/api"
)

// settingMaintenance holds maintenance mode in the store: empty when off,
// else the admin's message. In the store, every server sees it and it
// survives restarts.
const settingMaintenance = "maintenance"

func (s *Server) maintenance(ctx context.Context) (api.Maintenance, error) {
	v, err := s.store.Setting(ctx, settingMaintenance)
	if err != nil {
		return api.Maintenance{}, err
	}
	return api.Maintenance{On: v != "", Message: v}, nil
}

// waitForMaintenance says why no pending job starts while maintenance
// mode is on (Grid Engine's disabled queues, Slurm's maintenance
// reservation): the scheduler starts nothing until it ends.
func (s *Server) waitForMaintenance(ctx context.Context, pending []*api.Job, m api.Maintenance) {
	r := api.Reason{Code: api.ReasonMaintenance, Message: fmt.Sprintf(
		"GoDocker is in maintenance (%s): no job starts until an admin ends it (gctl maintenance off)", m.Message)}
	writes := make(chan struct{}, reasonParallelism)
	var wg sync.WaitGroup
	for _, j := range pending {
		if j.Reason == r {
			continue
		}
		writes <- struct{}{}
		wg.Go(func() {
			defer func() { <-writes }()
			s.setReason(ctx, j, r, j.Priority)
		})
	}
	wg.Wait()
}

// refuseInMaintenance is the admission check of maintenance mode.
func (s *Server) refuseInMaintenance(ctx context.Context) error {
	m, err := s.kept.maintenance.get(struct{}{}, func() (api.Maintenance, error) { return s.maintenance(ctx) })
	if err != nil {
		return fmt.Errorf("read maintenance mode: %w", err)
	}
	if m.On {
		return &api.Error{Code: api.CodeUnavailable, Message: fmt.Sprintf("GoDocker is in maintenance (%s): no new jobs are taken now; running jobs go on. Submit again later", m.Message)}
	}
	return nil
}

func (s *Server) getMaintenance(w http.ResponseWriter, r *http.Request, _ *caller) error {
	m, err := s.maintenance(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) putMaintenance(w http.ResponseWriter, r *http.Request, c *caller) error {
	if !c.Admin {
		return api.Denied(fmt.Sprintf("%s may not change maintenance mode: only admins may", c.User))
	}
	var m api.Maintenance
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&m); err != nil {
		return api.Invalid("malformed request: " + err.Error())
	}
	value := ""
	if m.On {
		value = m.Message
		if value == "" {
			value = "no reason given"
		}
	}
	err := s.store.SetSetting(r.Context(), settingMaintenance, value)
	s.kept.maintenance.forget()
	if err != nil {
		return err
	}
	s.log.Info("maintenance mode", "on", m.On, "message", value, "by", c.User)
	// A pass now: pending jobs say why they wait, or start again.
	s.poke()
	writeJSON(w, http.StatusOK, api.Maintenance{On: m.On, Message: value})
	return nil
}
