package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultWithoutFile(t *testing.T) {
	// No file at the default path on a test machine is the embedded default;
	// point at a missing explicit file instead to check that is an error.
	c, err := Load("", nil)
	if err != nil {
		if _, statErr := os.Stat(DefaultPath); statErr == nil {
			t.Skipf("%s exists on this machine", DefaultPath)
		}
		t.Fatal(err)
	}
	if c.Store.DSN != "/var/lib/godocker/godocker.db" || c.Store.Sync != "normal" || c.Executors[0].Name != "docker" || c.Socket != "/run/godocker/godockerd.sock" {
		t.Errorf("default config = %+v", c)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), nil); err == nil {
		t.Error("an explicit missing config file loaded without error")
	}
}

func TestFileAndEnvironment(t *testing.T) {
	file := filepath.Join(t.TempDir(), "godocker.yaml")
	yaml := `
shared_dir: /srv/jobs
admins: [alice]
scheduler:
  interval: 3s
images:
  default: godocker/base:latest
  allowed: ["godocker/base:*", "debian:12"]
volumes:
  - name: data
    path: /srv/data
    acl: rw
executors:
  - type: docker
    cpus: 2
    memory: 4G
store:
  sync: full
`
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(file, []string{"GODOCKER_SCHEDULER_FAIRSHARE_USER_TIME_WEIGHT=0.7", "GODOCKER_SHARED_DIR=/tmp/jobs", "GODOCKER_ADMINS=bob, carol", "GODOCKER_SCHEDULER_INTERVAL=250ms", "HOME=/root"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Scheduler.FairshareUserTimeWeight != 0.7 || c.PolicyOf("docker") != "fifo" {
		t.Errorf("fair-share weight from the environment = %v, policy %q", c.Scheduler.FairshareUserTimeWeight, c.PolicyOf("docker"))
	}
	if c.SharedDir != "/tmp/jobs" {
		t.Errorf("shared_dir = %q; the environment should win over the file", c.SharedDir)
	}
	if strings.Join(c.Admins, ",") != "bob,carol" {
		t.Errorf("admins = %q", c.Admins)
	}
	if time.Duration(c.Scheduler.Interval) != 250*time.Millisecond {
		t.Errorf("interval = %v", c.Scheduler.Interval)
	}
	if c.Store.Sync != "full" {
		t.Errorf("store.sync = %q, want the file's full", c.Store.Sync)
	}
	if c.Volumes[0].Mount != "/srv/data" || c.Executors[0].Name != "docker" || c.Executors[0].CPUs != 2 {
		t.Errorf("derived defaults not filled: %+v %+v", c.Volumes[0], c.Executors[0])
	}
	if !c.ImageAllowed("godocker/base:1.2") || !c.ImageAllowed("debian:12") || c.ImageAllowed("debian:11") {
		t.Error("image allow-list patterns do not match as documented")
	}
}

func TestInvalid(t *testing.T) {
	for name, tc := range map[string]struct {
		yaml string
		env  []string
		want string
	}{
		"unknown key":                {yaml: "sharde_dir: /x\n", want: "sharde_dir"},
		"relative path":              {yaml: "state_dir: var/lib\n", want: "state_dir"},
		"bad policy":                 {yaml: "scheduler: {policy: lottery}\n", want: "lottery"},
		"bad exec policy":            {yaml: "executors: [{type: docker, policy: random}]\n", want: "random"},
		"bad exec name":              {yaml: "executors: [{type: docker, name: ../up}]\n", want: `name "../up"`},
		"exec name with @":           {yaml: "executors: [{type: docker, name: a@b}]\n", want: `name "a@b"`},
		"negative weight":            {yaml: "scheduler: {fairshare_user_weight: -1}\n", want: "fairshare_user_weight"},
		"bad acl":                    {yaml: "volumes: [{name: d, path: /d, acl: rwx}]\n", want: "rwx"},
		"default denied":             {yaml: "images: {default: evil:1, allowed: [good:1]}\n", want: "evil:1"},
		"bad memory":                 {yaml: "limits: {default_memory: lots}\n", want: "default_memory"},
		"bad env":                    {env: []string{"GODOCKER_SCHEDULER_INTERVAL=soon"}, want: "GODOCKER_SCHEDULER_INTERVAL"},
		"env on list":                {env: []string{"GODOCKER_EXECUTORS=docker"}, want: "in the file"},
		"unknown role":               {env: []string{"GODOCKER_ROLES=api,cook"}, want: `roles: "cook" is not a role`},
		"no role":                    {yaml: "roles: []\n", want: "roles: none"},
		"short timeout":              {env: []string{"GODOCKER_MASTER_TIMEOUT=100ms"}, want: "master_timeout"},
		"shared store without redis": {env: []string{"GODOCKER_MONGO_URL=mongodb://db1/"}, want: "set redis.addr"},
		"bad sync":                   {yaml: "store: {sync: always}\n", want: `store.sync: "always" is not normal`},
		"sync of mongo":              {env: []string{"GODOCKER_MONGO_URL=mongodb://db1/", "GODOCKER_REDIS_ADDR=r:6379", "GODOCKER_STORE_SYNC=full"}, want: "write concern"},
	} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(file, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(file, tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load: %v; want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestEmptyFileIsDefault(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(file, nil)
	if err != nil || c.Scheduler.Policy != "fifo" {
		t.Fatalf("empty file: %v, %+v", err, c)
	}
}

// Cluster mode from the environment alone, as the issue names the keys.
func TestClusterEnvironment(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Roles, ",") != "api,scheduler,watcher,sshgw" || c.Redis.Addr != "" || c.Store.Driver != "sqlite" || time.Duration(c.MasterTimeout) != 10*time.Second {
		t.Errorf("default: roles %v redis %q store %q master_timeout %v", c.Roles, c.Redis.Addr, c.Store.Driver, c.MasterTimeout)
	}
	c, err = Load(file, []string{"GODOCKER_MONGO_URL=mongodb://db1:27017,db2:27017/?replicaSet=rs0", "GODOCKER_MONGO_DB=lab",
		"GODOCKER_REDIS_ADDR=redis1:6379", "GODOCKER_MASTER_TIMEOUT=20s", "GODOCKER_ROLES=api,watcher", "GODOCKER_HEALTH_LISTEN=:8080"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Driver != "mongo" || c.Store.DSN != "mongodb://db1:27017,db2:27017/lab?replicaSet=rs0" || c.Store.Sync != "" {
		t.Errorf("mongo store: driver %q dsn %q", c.Store.Driver, c.Store.DSN)
	}
	if c.Redis.Addr != "redis1:6379" || time.Duration(c.MasterTimeout) != 20*time.Second || c.HealthListen != ":8080" {
		t.Errorf("redis %q master_timeout %v health %q", c.Redis.Addr, c.MasterTimeout, c.HealthListen)
	}
	if !c.Has(RoleAPI) || !c.Has(RoleWatcher) || c.Has(RoleScheduler) || c.Has(RoleSSHGW) {
		t.Errorf("roles = %v, want api and watcher", c.Roles)
	}
}
