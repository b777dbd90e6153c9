// Package server is godockerd: the HTTP API on the unix socket, the
// scheduler loop and the watcher, wired to a store, executors and a bus.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/cluster"
	"github.com/godocker/godocker/cluster/redis"
	"github.com/godocker/godocker/config"
	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/sched"
	"github.com/godocker/godocker/sshgw"
	"github.com/godocker/godocker/store"
)

// Server is one godockerd.
type Server struct {
	cfg   *config.Config
	store store.Store
	bus   cluster.Bus
	log   *slog.Logger

	execs map[string]executor.Executor
	order []string // executor names, in config order: the first is the default

	// installation is the store's installation id, which Open gives the
	// executors too (executor.Config.Installation): the server names the
	// container of an attempt it marks running as they do
	// (executor.ContainerName). "" for a server made by New.
	installation string

	wake    chan struct{} // a scheduling pass is wanted
	ledger  *ledger       // recent use, for fair share and quotas
	reasons reasonTimes   // when pending jobs' reasons were written

	nodesMu    sync.Mutex
	nodesCache map[string]nodesEntry

	dashboard sshgw.Dashboard // what ssh USER@HOST opens (gtop)

	userDirs sync.Map // userDirKey: SharedDir/USER set up (makeJobDir)

	kept kept // what requests read, kept a while

	// admitMu makes a submission's count of waiting jobs and its storing
	// one step while a cap on waiting jobs is set (see submit).
	admitMu sync.Mutex

	launchMu    sync.Mutex
	launching   map[attempt]bool // job attempts whose Start is under way
	launches    sync.WaitGroup   // launchLater's
	launchSlots chan struct{}    // launchLater's: startParallelism

	self     api.Process      // this process, as it announces itself
	elector  cluster.Elector  // who schedules
	registry cluster.Registry // who is alive
	ready    atomic.Bool      // serving, and its watchers follow their executors
	leading  atomic.Bool      // this process schedules now
}

// SetDashboard sets what the SSH gateway opens for ssh USER@HOST in a
// terminal (godockerd sets gtop); call it before Run.
func (s *Server) SetDashboard(d sshgw.Dashboard) { s.dashboard = d }

type nodesEntry struct {
	nodes []sched.Node
	at    time.Time
}

// nodesTTL is how long a node list is trusted before the executor is
// asked again.
const nodesTTL = 30 * time.Second

// New builds a server from its parts. execs must not be empty; the first
// is where jobs run unless they name another. The server has no
// installation id: the executors must have none either (Open gives both
// the store's).
func New(cfg *config.Config, st store.Store, execs []executor.Executor, bus cluster.Bus, log *slog.Logger) *Server {
	s := &Server{
		cfg:         cfg,
		store:       st,
		bus:         bus,
		log:         log,
		execs:       map[string]executor.Executor{},
		wake:        make(chan struct{}, 1),
		nodesCache:  map[string]nodesEntry{},
		launching:   map[attempt]bool{},
		launchSlots: make(chan struct{}, startParallelism),
		kept:        newKept(),
		ledger:      newLedger(time.Duration(cfg.Scheduler.UserResetUsageDuration), time.Duration(cfg.Scheduler.UsageHalfLife)),
	}
	for _, e := range execs {
		s.execs[e.Name()] = e
		s.order = append(s.order, e.Name())
	}
	host, _ := os.Hostname()
	s.self = api.Process{ID: newProcessID(), Host: host, PID: os.Getpid(), Roles: cfg.Roles, Started: time.Now().UTC()}
	single := cluster.NewSingle(s.self.ID)
	s.elector, s.registry = single, single
	return s
}

// Open opens the store and the executors that cfg names and returns a
// server over them, and a function that closes them. The executors get
// the store's installation id (store.SettingInstallation), so that they
// name, label and follow only this installation's containers.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Server, func(), error) {
	// Search permission only: users pass through it to their job
	// directories (the embedded default keeps shared_dir inside), nobody
	// lists it, and the store's files are the server's alone.
	if err := os.MkdirAll(cfg.StateDir, 0o711); err != nil {
		return nil, nil, fmt.Errorf("create state_dir: %w", err)
	}
	st, err := store.Open(ctx, cfg.Store.Driver, cfg.Store.DSN, store.Options{Sync: store.Sync(cfg.Store.Sync)})
	if err != nil {
		return nil, nil, fmt.Errorf("open %s store: %w", cfg.Store.Driver, err)
	}
	installation, err := st.Setting(ctx, store.SettingInstallation)
	if err == nil && installation == "" {
		err = fmt.Errorf("the store has no installation id (setting %q)", store.SettingInstallation)
	}
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("read the installation id of the %s store: %w", cfg.Store.Driver, err)
	}
	var execs []executor.Executor
	var coord *redis.Coordinator
	closeAll := func() {
		for _, e := range execs {
			if c, ok := e.(io.Closer); ok {
				c.Close() // connections and watches; jobs keep running
			}
		}
		if coord != nil {
			coord.Close()
		}
		st.Close()
	}
	for _, ec := range cfg.Executors {
		ec.FilesDir = filepath.Join(cfg.StateDir, "executors", ec.Name)
		ec.Installation = installation
		e, err := executor.Open(ctx, ec.Name, ec)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("open executor %s: %w", ec.Name, err)
		}
		execs = append(execs, e)
	}
	srv := New(cfg, st, execs, cluster.NewLocal(), log)
	srv.installation = installation
	if r := cfg.Redis; r.Addr != "" {
		coord, err = redis.Open(ctx, redis.Options{Addr: r.Addr, Password: r.Password, DB: r.DB, Prefix: r.Prefix,
			ProcessID: srv.ID(), LeaseTTL: time.Duration(cfg.MasterTimeout), Log: log.With("component", "redis")})
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		srv.SetCoordination(coord, coord, coord)
	}
	return srv, closeAll, nil
}

// Run serves the API on the configured socket and the SSH gateway on its
// address, and runs the scheduler and the watcher until ctx ends, then
// shuts down in order.
func (s *Server) Run(ctx context.Context) error {
	if err := s.prepareSharedDir(); err != nil {
		return err
	}
	// Listen on everything first: a taken address is an error before
	// anything runs.
	var closers []io.Closer
	closeAll := func() {
		for _, c := range closers {
			c.Close()
		}
	}
	var gw *sshgw.Gateway
	var gwln net.Listener
	if addr := s.cfg.SSHGateway.Listen; addr != "" && s.cfg.Has(config.RoleSSHGW) {
		var err error
		if gw, err = s.Gateway(); err != nil {
			return err
		}
		if gwln, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("ssh gateway: listen on %s: %w (set ssh_gateway.listen, or \"\" to turn the gateway off)", addr, err)
		}
		closers = append(closers, gwln)
	}
	var hln net.Listener
	if addr := s.cfg.HealthListen; addr != "" {
		var err error
		if hln, err = net.Listen("tcp", addr); err != nil {
			closeAll()
			return fmt.Errorf("health_listen: listen on %s: %w", addr, err)
		}
		closers = append(closers, hln)
	}
	var ln net.Listener
	if s.cfg.Has(config.RoleAPI) {
		var err error
		if ln, err = listenSocket(s.cfg.Socket); err != nil {
			closeAll()
			return err
		}
	}
	s.log.Info("godockerd running", "process", s.self.ID, "roles", s.cfg.Roles, "socket", s.cfg.Socket,
		"executors", s.order, "store", s.cfg.Store.Driver, "installation", s.installation, "shared_dir", s.cfg.SharedDir)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var errs []error
	var mu sync.Mutex
	fail := func(what string, err error) {
		if err == nil || errors.Is(err, http.ErrServerClosed) {
			return
		}
		s.log.Error(what+" stopped; stopping godockerd", "err", err)
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
		cancel()
	}
	if gw != nil {
		wg.Go(func() { fail("ssh gateway", gw.Serve(ctx, gwln)) })
	}
	if hln != nil {
		hs := &http.Server{Handler: s.healthHandler(), ReadHeaderTimeout: 10 * time.Second}
		wg.Go(func() { fail("health listener", hs.Serve(hln)) })
		wg.Go(func() {
			<-ctx.Done()
			hs.Close()
		})
	}
	err := s.Serve(ctx, ln)
	cancel()
	wg.Wait()
	return errors.Join(append([]error{err}, errs...)...)
}

// Gateway builds the SSH gateway over the server's store and executors
// (Run serves it when ssh_gateway.listen is set).
func (s *Server) Gateway() (*sshgw.Gateway, error) {
	g := s.cfg.SSHGateway
	return sshgw.New(sshgw.Config{
		HostKey:        g.HostKey,
		Address:        s.cfg.SSHAddress(),
		AuthorizedKeys: g.AuthorizedKeys,
		Admins:         g.Admins,
		AdminUsers:     s.cfg.Admins,
		BatchJobs:      g.BatchJobs,
		Dashboard:      s.dashboard,
	}, s.store, s.execs, s.log.With("role", "sshgw"))
}

// Serve runs the roles of cfg.Roles, the API on ln (the caller's
// listener: tests use a socket in a temporary directory; nil for a
// process without the api role), until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if ln != nil {
		defer ln.Close()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	if err := s.ledger.load(ctx, s.store, time.Now()); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return fmt.Errorf("read past usage: %w", err)
	}
	var wg sync.WaitGroup
	defer s.launches.Wait() // after the scheduler: no more launches then
	defer wg.Wait()
	defer cancel() // before the Waits: stop everything started below
	// The ledger and the scheduler follow the bus from now on.
	subscribed := make(chan struct{})
	wg.Go(func() { s.follow(ctx, subscribed) })
	<-subscribed
	if s.cfg.Has(config.RoleWatcher) {
		// The watcher subscribes to executor events before it
		// reconciles, so that no exit falls between the two.
		ready := make(chan error, len(s.execs))
		for _, e := range s.execs {
			wg.Go(func() { s.watch(ctx, e, ready) })
		}
		for range s.execs {
			if err := <-ready; err != nil {
				if errors.Is(err, context.Canceled) {
					return nil // stopped while starting
				}
				return err
			}
		}
	}
	if s.cfg.Has(config.RoleScheduler) {
		wg.Go(func() { s.lead(ctx) })
	}
	wg.Go(func() { s.heartbeat(ctx) })
	s.ready.Store(true)
	if ln == nil {
		<-ctx.Done()
		return nil
	}

	hs := &http.Server{
		Handler:           s.Handler(),
		ConnContext:       connContext,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		cancel()
	}
	shut, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	_ = hs.Shutdown(shut)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// prepareSharedDir creates shared_dir and makes sure users can reach
// their job directories through it: the state_dir of the embedded default
// (ours) is given search permission for others; any other directory on
// the way that refuses it is the admin's to fix, and said so.
func (s *Server) prepareSharedDir() error {
	if err := os.MkdirAll(s.cfg.SharedDir, 0o755); err != nil {
		return fmt.Errorf("create shared_dir: %w", err)
	}
	for dir := s.cfg.SharedDir; ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("shared_dir: %w", err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if dir == filepath.Clean(s.cfg.StateDir) {
				if err := os.Chmod(dir, fi.Mode().Perm()|0o011); err != nil {
					return fmt.Errorf("let users reach shared_dir through state_dir: %w", err)
				}
			} else {
				s.log.Warn("users cannot reach their job directories: a directory above shared_dir has no search permission for others (chmod o+x it)", "dir", dir, "shared_dir", s.cfg.SharedDir)
			}
		}
		if dir == "/" || dir == "." {
			return nil
		}
	}
}

// listenSocket listens on the unix socket at path (mode 0666: every local
// user may call; the kernel says who they are). A stale socket file left by
// a crash is replaced; a live server there is an error.
func listenSocket(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create socket directory: %w", err)
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("another godockerd already listens on %s", path)
	}
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod %s: %w", path, err)
	}
	return ln, nil
}

// poke asks for a scheduling pass soon.
func (s *Server) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Server) publish(kind string, j *api.Job) {
	s.bus.Publish(api.Event{Kind: kind, Time: time.Now().UTC(), Job: j})
}

// nodes returns an executor's nodes, cached for nodesTTL.
func (s *Server) nodes(ctx context.Context, execName string) ([]sched.Node, error) {
	s.nodesMu.Lock()
	e, ok := s.nodesCache[execName]
	s.nodesMu.Unlock()
	if ok && time.Since(e.at) < nodesTTL {
		return e.nodes, nil
	}
	ex, ok := s.execs[execName]
	if !ok {
		return nil, fmt.Errorf("no executor %q", execName)
	}
	ns, err := ex.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]sched.Node, len(ns))
	for i, n := range ns {
		out[i] = sched.Node{Name: n.Name, CPUs: n.CPUs, Memory: n.Memory, GPUs: n.GPUs, Labels: n.Labels}
	}
	s.nodesMu.Lock()
	s.nodesCache[execName] = nodesEntry{nodes: out, at: time.Now()}
	s.nodesMu.Unlock()
	return out, nil
}
