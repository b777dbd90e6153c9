package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/cluster"
	"github.com/godocker/godocker/config"
)

// SetCoordination makes the server one of several that share its store:
// b carries every process's job events, e decides which one schedules,
// r lists the live ones (gctl status). Without it, the server runs alone:
// it always leads. Call it before Serve or Run.
func (s *Server) SetCoordination(b cluster.Bus, e cluster.Elector, r cluster.Registry) {
	s.bus, s.elector, s.registry = b, e, r
}

// newProcessID names one run of one process: host:pid:random, so that a
// restarted process is a new member and never mistaken for its past self.
func newProcessID() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
}

// ID is this process's id in the cluster.
func (s *Server) ID() string { return s.self.ID }

// lead campaigns for the scheduler's lead and schedules while it holds
// it, until ctx ends. A lead lost (Redis unreachable longer than the
// lease allows) stops the passes at once; the campaign starts again.
func (s *Server) lead(ctx context.Context) {
	for ctx.Err() == nil {
		leading, err := s.elector.Lead(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("campaign for the scheduler's lead", "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		s.log.Info("this process leads: it schedules", "process", s.self.ID)
		s.leading.Store(true)
		// Jobs that ended under another leader's watch count for fair
		// share and quotas: read them again.
		if err := s.ledger.load(leading, s.store, time.Now()); err != nil && leading.Err() == nil {
			s.log.Error("read past usage", "err", err)
		}
		// Jobs the last leader marked running and did not start: only a
		// leader starts them.
		for _, ex := range s.execs {
			s.reconcile(leading, ex)
		}
		s.schedule(leading)
		s.leading.Store(false)
		if ctx.Err() == nil {
			s.log.Warn("this process lost the scheduler's lead: it stops scheduling until it wins it again", "process", s.self.ID)
		}
	}
}

// heartbeat announces this process as alive every third of
// master_timeout, and withdraws it when ctx ends.
func (s *Server) heartbeat(ctx context.Context) {
	ttl := time.Duration(s.cfg.MasterTimeout)
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	for {
		if err := s.registry.Announce(ctx, s.self, ttl); err != nil && ctx.Err() == nil {
			s.log.Warn("announce this process", "err", err)
		}
		select {
		case <-ctx.Done():
			bg, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := s.registry.Withdraw(bg, s.self.ID); err != nil {
				s.log.Warn("withdraw this process", "err", err)
			}
			return
		case <-t.C:
		}
	}
}

// follow listens to the bus, where every process's job events arrive:
// the attempts that ended go into the usage ledger (fair share and
// quotas, which every process weighs) — a job's end, and the earlier
// attempts of a requeued job, which come as an update — and a scheduler
// wakes up for what may let a job start.
func (s *Server) follow(ctx context.Context, subscribed chan<- struct{}) {
	events := s.bus.Subscribe(ctx)
	close(subscribed)
	for ev := range events {
		if ev.Job == nil {
			continue
		}
		s.ledger.add(ev.Job, time.Now())
		if s.cfg.Has(config.RoleScheduler) {
			s.poke()
		}
	}
}

// status is GET /api/v1/status: the live processes and the leader.
func (s *Server) status(w http.ResponseWriter, r *http.Request, _ *caller) error {
	procs, err := s.registry.Processes(r.Context())
	if err != nil {
		return fmt.Errorf("list the live processes: %w", err)
	}
	leader, err := s.elector.Leader(r.Context())
	if err != nil {
		return fmt.Errorf("read who leads: %w", err)
	}
	if procs == nil {
		procs = []cluster.Process{}
	}
	writeJSON(w, http.StatusOK, api.Status{Leader: leader, Processes: procs})
	return nil
}

// readyz answers 200 when this process can do its work: its store
// answers, the coordination answers, and its watchers follow their
// executors; else 503 with what is wrong.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	problem := ""
	switch {
	case !s.ready.Load():
		problem = "starting"
	default:
		if _, err := s.store.Setting(ctx, settingMaintenance); err != nil {
			problem = "store: " + err.Error()
		} else if _, err := s.registry.Processes(ctx); err != nil {
			problem = "coordination: " + err.Error()
		}
	}
	if problem != "" {
		http.Error(w, "not ready: "+problem, http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ok\n"))
}

// healthHandler serves /healthz and /readyz alone (health_listen).
func (s *Server) healthHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	return mux
}

// healthz answers 200 while the process serves at all.
func healthz(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) }

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
