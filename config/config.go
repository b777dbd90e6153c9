// Package config is godockerd's configuration: a YAML file with defaults
// for every key, overridden key by key by GODOCKER_* environment variables,
// validated once at start-up.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
)

// DefaultPath is where godockerd looks for its configuration.
const DefaultPath = "/etc/godocker/godocker.yaml"

// Config is the whole configuration of godockerd.
type Config struct {
	// StateDir holds the embedded store and the server's own state.
	StateDir string `yaml:"state_dir"`
	// SharedDir holds the job directories: SharedDir/USER/ID.
	SharedDir string `yaml:"shared_dir"`
	// Socket is the API's unix socket (mode 0666; callers are identified
	// by the kernel).
	Socket string `yaml:"socket"`
	// LogLevel: debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// Admins may act on every job. root always may.
	Admins []string `yaml:"admins"`
	// RootUsers may ask for their jobs to run as root (gsub --root). Their
	// home is then mounted read-only.
	RootUsers []string `yaml:"root_users"`

	Store     Store             `yaml:"store"`
	Scheduler Scheduler         `yaml:"scheduler"`
	Executors []executor.Config `yaml:"executors"`
	Images    Images            `yaml:"images"`
	Volumes   []Volume          `yaml:"volumes"`
	Limits    Limits            `yaml:"limits"`
	// SSHGateway is the SSH endpoint into running jobs.
	SSHGateway SSHGateway `yaml:"ssh_gateway"`

	// Roles are what this process does (godockerd --roles): api,
	// scheduler, watcher, sshgw; all of them by default. In cluster mode
	// several processes share the work; one scheduler leads at a time.
	Roles []string `yaml:"roles"`
	// Redis, when its address is set, coordinates several godockerd
	// sharing one store: the scheduler's leader lease, the job event bus
	// and the list of live processes.
	Redis Redis `yaml:"redis"`
	// Mongo, when its URL is set, is the job store (store.driver mongo).
	Mongo Mongo `yaml:"mongo"`
	// MasterTimeout is how long the scheduler's leader lease lasts
	// without renewal (the seeds' master_timeout): a crashed leader is
	// replaced this long after its last renewal, at most. Processes
	// announce themselves as alive for the same time.
	MasterTimeout Duration `yaml:"master_timeout"`
	// HealthListen is a TCP address that serves /healthz and /readyz
	// (for load balancers and orchestrators); "" : only on the socket.
	HealthListen string `yaml:"health_listen"`
}

// Redis is the coordination service of cluster mode.
type Redis struct {
	// Addr is host:port; "" (the default): a single server, no Redis.
	Addr     string `yaml:"addr"`
	Password string `yaml:"password"`
	DB       int    `yaml:"db"`
	// Prefix of every key and channel, for several installations on one
	// Redis (default "godocker:").
	Prefix string `yaml:"prefix"`
}

// Mongo is the MongoDB job store of cluster mode.
type Mongo struct {
	// URL is a mongodb:// URI; setting it selects the mongo store.
	URL string `yaml:"url"`
	// DB is the database (default godocker).
	DB string `yaml:"db"`
}

// Roles of a godockerd process.
const (
	RoleAPI       = "api"
	RoleScheduler = "scheduler"
	RoleWatcher   = "watcher"
	RoleSSHGW     = "sshgw"
)

// AllRoles are the roles of a process that does everything (the default).
var AllRoles = []string{RoleAPI, RoleScheduler, RoleWatcher, RoleSSHGW}

// Has reports whether this process holds role.
func (c *Config) Has(role string) bool { return slices.Contains(c.Roles, role) }

// SSHGateway configures the SSH gateway (ssh job-123@HOST), a role of
// godockerd.
type SSHGateway struct {
	// Listen is the gateway's TCP address, ":2222" by default; "" turns
	// the gateway off.
	Listen string `yaml:"listen"`
	// Host is the name users ssh to, as gsub -I and gstat -j print it
	// (default: this machine's host name).
	Host string `yaml:"host"`
	// HostKey is the gateway's private host key, generated the first
	// time (default: state_dir/ssh_host_ed25519_key).
	HostKey string `yaml:"host_key"`
	// AuthorizedKeys is a file in each user's home whose keys open that
	// user's jobs, as well as the keys registered with gctl key add
	// (default .ssh/authorized_keys; "" : registered keys only). Entries
	// with options (command=, from=, restrict, ...) are skipped: the
	// gateway cannot honour them.
	AuthorizedKeys string `yaml:"authorized_keys"`
	// Admins lets admins' keys open every user's job (the shell is still
	// the job's user's, never root unless the job runs as root).
	Admins bool `yaml:"admins"`
	// BatchJobs lets users enter their running batch jobs too, not only
	// interactive ones (gsub -I).
	BatchJobs bool `yaml:"batch_jobs"`
}

// Store selects the persistence backend.
type Store struct {
	// Driver: sqlite (the embedded default).
	Driver string `yaml:"driver"`
	// DSN is the driver's address; for sqlite a file, by default
	// StateDir/godocker.db.
	DSN string `yaml:"dsn"`
	// Sync is when sqlite's writes reach the disk (store.SyncNormal, the
	// default, or store.SyncFull). Mongo's durability is the write
	// concern of its URL instead.
	Sync string `yaml:"sync"`
}

// Scheduler configures the scheduling loop and its policy.
type Scheduler struct {
	// Policy: fifo or fairshare (an executor may override it).
	Policy string `yaml:"policy"`
	// UserResetUsageDuration is the window of past use that fair share
	// counts (a job's use is forgotten this long after it ended), and the
	// length of a quota period (see package quota).
	UserResetUsageDuration Duration `yaml:"user_reset_usage_duration"`
	// UsageHalfLife, if set, makes past use decay within the window: a
	// job's use counts half as much this long after it ended (Slurm's
	// PriorityDecayHalfLife). 0: use counts fully until it leaves the
	// window.
	UsageHalfLife Duration `yaml:"usage_half_life"`
	// The fair-share weights (see sched's package documentation).
	FairshareWaitingTimeWeight float64 `yaml:"fairshare_waiting_time_weight"`
	FairshareUserTimeWeight    float64 `yaml:"fairshare_user_time_weight"`
	FairshareUserCPUWeight     float64 `yaml:"fairshare_user_cpu_weight"`
	FairshareUserRAMWeight     float64 `yaml:"fairshare_user_ram_weight"`
	FairshareGroupTimeWeight   float64 `yaml:"fairshare_group_time_weight"`
	FairshareGroupCPUWeight    float64 `yaml:"fairshare_group_cpu_weight"`
	FairshareGroupRAMWeight    float64 `yaml:"fairshare_group_ram_weight"`
	FairshareUserWeight        float64 `yaml:"fairshare_user_weight"`
	FairshareGroupWeight       float64 `yaml:"fairshare_group_weight"`
	// Interval is the longest time between two scheduling passes; a
	// submission or a job's end wakes the scheduler at once.
	Interval Duration `yaml:"interval"`
	// Reconcile is how often running jobs are checked against the
	// executor, in case an event was missed.
	Reconcile Duration `yaml:"reconcile"`
}

// Images is the image policy.
type Images struct {
	// Default is used when a job names no image.
	Default string `yaml:"default"`
	// Allowed lists the images jobs may use; entries may be shell
	// patterns ("debian:*", "lab/*").
	Allowed []string `yaml:"allowed"`
}

// Volume is a host directory jobs may mount with --volume NAME.
type Volume struct {
	Name string `yaml:"name"`
	// Path on the host.
	Path string `yaml:"path"`
	// Mount is where it appears in the container (default: Path).
	Mount string `yaml:"mount"`
	// ACL: ro or rw. A job may ask for ro on an rw volume, never the
	// reverse.
	ACL string `yaml:"acl"`
	// Users and Groups who may mount it; both empty: everybody.
	Users  []string `yaml:"users"`
	Groups []string `yaml:"groups"`
}

// Limits bound what one job may ask for.
type Limits struct {
	// MaxCPUs per job (0: the largest node's).
	MaxCPUs int `yaml:"max_cpus"`
	// MaxMemory per job (empty: the largest node's).
	MaxMemory string `yaml:"max_memory"`
	// DefaultMemory for a job that asks for none.
	DefaultMemory string `yaml:"default_memory"`
	// Pids is the process limit of every container.
	Pids int64 `yaml:"pids"`
	// MaxWalltime per job (0: none).
	MaxWalltime Duration `yaml:"max_walltime"`
	// MaxPendingPerUser caps the jobs one user may have waiting (pending
	// or held); MaxPending caps them all (0: no cap). Past it, submissions
	// are refused until some start: gsub exits 25, try again later.
	MaxPendingPerUser int `yaml:"max_pending_per_user"`
	MaxPending        int `yaml:"max_pending"`
	// MaxLifespan is the longest any job may run, whatever its walltime
	// (0: none): the seeds' maxlifespan watcher. Time suspended does not
	// count.
	MaxLifespan Duration `yaml:"max_lifespan"`
	// KillOnLimit kills the running jobs of a user or project whose quota
	// is spent (state killed, reason Quota). Without it they run to their
	// end, and only new jobs are refused and pending ones wait.
	KillOnLimit bool `yaml:"kill_on_limit"`
}

// Duration is a time.Duration written as "10s", "5m" in YAML and in the
// environment.
type Duration time.Duration

// UnmarshalText parses "10s".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText renders it back.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Default returns the embedded default of DESIGN.md: sqlite in
// /var/lib/godocker, the local Docker engine, fifo.
func Default() *Config {
	return &Config{
		StateDir:  "/var/lib/godocker",
		SharedDir: "/var/lib/godocker/jobs",
		Socket:    "/run/godocker/godockerd.sock",
		LogLevel:  "info",
		Store:     Store{Driver: "sqlite"},
		Scheduler: Scheduler{
			Policy: "fifo", Interval: Duration(10 * time.Second), Reconcile: Duration(30 * time.Second),
			UserResetUsageDuration:     Duration(30 * 24 * time.Hour),
			FairshareWaitingTimeWeight: 0.1,
			FairshareUserTimeWeight:    0.1,
			FairshareUserCPUWeight:     0.1,
			FairshareUserRAMWeight:     0.1,
			FairshareGroupTimeWeight:   0.1,
			FairshareGroupCPUWeight:    0.1,
			FairshareGroupRAMWeight:    0.1,
			FairshareUserWeight:        0.1,
			FairshareGroupWeight:       0.1,
		},
		Executors:  []executor.Config{{Name: "docker", Type: "docker"}},
		Images:     Images{Default: "godocker/base:latest", Allowed: []string{"godocker/base:latest"}},
		Limits:     Limits{DefaultMemory: "1G", Pids: 4096},
		SSHGateway: SSHGateway{Listen: ":2222", AuthorizedKeys: ".ssh/authorized_keys"},
		Roles:      slices.Clone(AllRoles),
		Redis:      Redis{Prefix: "godocker:"},
		Mongo:      Mongo{DB: "godocker"},
		// The seeds' default.
		MasterTimeout: Duration(10 * time.Second),
	}
}

// Load reads the file at path (none: the defaults), applies the
// environment's GODOCKER_* overrides, fills derived defaults and validates.
// An empty path means DefaultPath if it exists.
func Load(file string, environ []string) (*Config, error) {
	c := Default()
	explicit := file != ""
	if !explicit {
		file = DefaultPath
	}
	b, err := os.ReadFile(file)
	switch {
	case err == nil:
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read config %s: %w", file, err)
		}
	case errors.Is(err, os.ErrNotExist) && !explicit:
		// No file at all: the embedded default.
	default:
		return nil, fmt.Errorf("read config: %w", err)
	}
	if err := applyEnv(c, environ); err != nil {
		return nil, err
	}
	c.fill()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) fill() {
	if c.Mongo.URL != "" && (c.Store.Driver == "" || c.Store.Driver == "sqlite" && c.Store.DSN == "") {
		c.Store.Driver, c.Store.DSN = "mongo", mongoDSN(c.Mongo)
	}
	if c.Store.Driver == "sqlite" && c.Store.DSN == "" {
		c.Store.DSN = filepath.Join(c.StateDir, "godocker.db")
	}
	if c.Store.Driver == "sqlite" && c.Store.Sync == "" {
		c.Store.Sync = "normal"
	}
	for i := range c.Volumes {
		if c.Volumes[i].Mount == "" {
			c.Volumes[i].Mount = c.Volumes[i].Path
		}
		if c.Volumes[i].ACL == "" {
			c.Volumes[i].ACL = "ro"
		}
	}
	if c.SSHGateway.HostKey == "" {
		c.SSHGateway.HostKey = filepath.Join(c.StateDir, "ssh_host_ed25519_key")
	}
	if c.SSHGateway.Host == "" {
		c.SSHGateway.Host, _ = os.Hostname()
	}
	for i := range c.Executors {
		if c.Executors[i].Name == "" {
			c.Executors[i].Name = c.Executors[i].Type
		}
	}
}

// plainName is what names of volumes and executors may be: they become
// parts of paths and of columns.
var plainName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// Validate says what is wrong with c, all problems at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	for key, p := range map[string]string{"state_dir": c.StateDir, "shared_dir": c.SharedDir, "socket": c.Socket} {
		if !filepath.IsAbs(p) {
			bad("%s: %q must be an absolute path", key, p)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level: %q is not one of debug, info, warn, error", c.LogLevel)
	}
	if c.Store.Driver == "" {
		bad("store.driver: empty (use sqlite)")
	}
	switch {
	case c.Store.Sync == "":
	case c.Store.Driver != "sqlite":
		bad("store.sync: %q is for sqlite; %s's writes are as durable as the write concern of its URL says (w, journal)", c.Store.Sync, c.Store.Driver)
	case c.Store.Sync != "normal" && c.Store.Sync != "full":
		bad("store.sync: %q is not normal (survive a crash of godockerd) or full (survive a power loss too)", c.Store.Sync)
	}
	if len(c.Roles) == 0 {
		bad("roles: none (give some of %s)", strings.Join(AllRoles, ", "))
	}
	for _, r := range c.Roles {
		if !slices.Contains(AllRoles, r) {
			bad("roles: %q is not a role (%s)", r, strings.Join(AllRoles, ", "))
		}
	}
	if c.MasterTimeout < Duration(time.Second) {
		bad("master_timeout: %v is too short: give 1s or more (the default is 10s)", time.Duration(c.MasterTimeout))
	}
	if c.Redis.Addr == "" && c.Store.Driver != "sqlite" && c.Has(RoleScheduler) {
		bad("store.driver %s is shared by several servers: set redis.addr, so that only one of them schedules", c.Store.Driver)
	}
	if !validPolicy(c.Scheduler.Policy) {
		bad("scheduler.policy: %q is not a known policy (fifo, fairshare)", c.Scheduler.Policy)
	}
	if c.Scheduler.UserResetUsageDuration <= 0 {
		bad("scheduler.user_reset_usage_duration must be positive")
	}
	if c.Scheduler.UsageHalfLife < 0 {
		bad("scheduler.usage_half_life must not be negative")
	}
	for name, w := range map[string]float64{
		"waiting_time": c.Scheduler.FairshareWaitingTimeWeight, "user_time": c.Scheduler.FairshareUserTimeWeight,
		"user_cpu": c.Scheduler.FairshareUserCPUWeight, "user_ram": c.Scheduler.FairshareUserRAMWeight,
		"group_time": c.Scheduler.FairshareGroupTimeWeight, "group_cpu": c.Scheduler.FairshareGroupCPUWeight,
		"group_ram": c.Scheduler.FairshareGroupRAMWeight, "user": c.Scheduler.FairshareUserWeight, "group": c.Scheduler.FairshareGroupWeight,
	} {
		if w < 0 {
			bad("scheduler.fairshare_%s_weight: %v must not be negative", name, w)
		}
	}
	if c.Scheduler.Interval <= 0 || c.Scheduler.Reconcile <= 0 {
		bad("scheduler.interval and scheduler.reconcile must be positive")
	}
	if len(c.Executors) == 0 {
		bad("executors: none configured (use - type: docker)")
	}
	names := map[string]bool{}
	for _, e := range c.Executors {
		if names[e.Name] {
			bad("executors: name %q used twice", e.Name)
		}
		names[e.Name] = true
		if !plainName.MatchString(e.Name) {
			bad("executors: name %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", e.Name)
		}
		if e.Memory != "" {
			if _, err := api.ParseMemory(e.Memory); err != nil {
				bad("executors[%s].memory: %v", e.Name, err)
			}
		}
		if e.CPUs < 0 {
			bad("executors[%s].cpus: must not be negative", e.Name)
		}
		if e.Policy != "" && !validPolicy(e.Policy) {
			bad("executors[%s].policy: %q is not a known policy (fifo, fairshare)", e.Name, e.Policy)
		}
	}
	if c.Images.Default == "" {
		bad("images.default: empty")
	} else if !c.ImageAllowed(c.Images.Default) {
		bad("images.default: %q is not in images.allowed", c.Images.Default)
	}
	for _, p := range c.Images.Allowed {
		if _, err := path.Match(p, ""); err != nil {
			bad("images.allowed: %q: %v", p, err)
		}
	}
	vols := map[string]bool{}
	for _, v := range c.Volumes {
		if !plainName.MatchString(v.Name) {
			bad("volumes: name %q: use letters, digits, _ . -", v.Name)
		}
		if vols[v.Name] {
			bad("volumes: name %q used twice", v.Name)
		}
		vols[v.Name] = true
		if !filepath.IsAbs(v.Path) || !filepath.IsAbs(v.Mount) {
			bad("volumes[%s]: path and mount must be absolute", v.Name)
		}
		if v.ACL != "ro" && v.ACL != "rw" {
			bad("volumes[%s].acl: %q is not ro or rw", v.Name, v.ACL)
		}
	}
	for key, s := range map[string]string{"limits.max_memory": c.Limits.MaxMemory, "limits.default_memory": c.Limits.DefaultMemory} {
		if s == "" {
			continue
		}
		if _, err := api.ParseMemory(s); err != nil {
			bad("%s: %v", key, err)
		}
	}
	if c.Limits.MaxCPUs < 0 || c.Limits.Pids < 0 || c.Limits.MaxWalltime < 0 || c.Limits.MaxLifespan < 0 || c.Limits.MaxPendingPerUser < 0 || c.Limits.MaxPending < 0 {
		bad("limits: values must not be negative")
	}
	if g := c.SSHGateway; g.Listen != "" {
		if _, port, err := net.SplitHostPort(g.Listen); err != nil || port == "" {
			bad("ssh_gateway.listen: %q is not HOST:PORT (e.g. :2222; \"\" turns the gateway off)", g.Listen)
		}
		if !filepath.IsAbs(g.HostKey) {
			bad("ssh_gateway.host_key: %q must be an absolute path", g.HostKey)
		}
		if g.AuthorizedKeys != "" && (filepath.IsAbs(g.AuthorizedKeys) || !filepath.IsLocal(g.AuthorizedKeys)) {
			bad("ssh_gateway.authorized_keys: %q must be a path inside the user's home, e.g. .ssh/authorized_keys", g.AuthorizedKeys)
		}
	}
	return errors.Join(errs...)
}

// SSHAddress is where users ssh to, HOST:PORT, or "" when the gateway is
// off.
func (c *Config) SSHAddress() string {
	g := c.SSHGateway
	if g.Listen == "" {
		return ""
	}
	_, port, _ := net.SplitHostPort(g.Listen)
	return net.JoinHostPort(g.Host, port)
}

func validPolicy(p string) bool { return p == "fifo" || p == "fairshare" }

// PolicyOf is the scheduling policy of the executor named name.
func (c *Config) PolicyOf(name string) string {
	for _, e := range c.Executors {
		if e.Name == name && e.Policy != "" {
			return e.Policy
		}
	}
	return c.Scheduler.Policy
}

// ImageAllowed reports whether jobs may use image.
func (c *Config) ImageAllowed(image string) bool {
	for _, p := range c.Images.Allowed {
		if ok, _ := path.Match(p, image); ok {
			return true
		}
	}
	return false
}

// IsAdmin reports whether user may act on every job.
func (c *Config) IsAdmin(user string, uid int) bool {
	if uid == 0 {
		return true
	}
	for _, a := range c.Admins {
		if a == user {
			return true
		}
	}
	return false
}

// MayRunAsRoot reports whether user may ask for a root job.
func (c *Config) MayRunAsRoot(user string) bool {
	for _, u := range c.RootUsers {
		if u == user {
			return true
		}
	}
	return false
}

// YAML renders the effective configuration.
func (c *Config) YAML() ([]byte, error) { return yaml.Marshal(c) }

// mongoDSN is the store address of m: its URL with the database as path.
func mongoDSN(m Mongo) string {
	u, err := url.Parse(m.URL)
	if err != nil || m.DB == "" {
		return m.URL // Validate's store.Open says what is wrong
	}
	u.Path = "/" + m.DB
	return u.String()
}
