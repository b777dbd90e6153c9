package api

import (
	"regexp"
	"slices"
	"time"
)

// DefaultProject is the project of jobs submitted without -P. It always
// exists, every user belongs to it, and it has no quota; admins may change
// its priority and limits but not remove it.
const DefaultProject = "default"

// DefaultPriority is the priority of a user or project nobody set one
// for, on the 0..100 scale of fair share.
const DefaultPriority = 50

// ProjectNamePattern is what a project name looks like: it appears in
// paths, labels and command lines.
var ProjectNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`)

// Project groups users for scheduling and accounting (gsub -P, Grid
// Engine's projects, Slurm's accounts). Admins create and change them
// (gctl project).
type Project struct {
	Name string `json:"name"`
	// Owner is informative: who to ask about the project.
	Owner string `json:"owner,omitempty"`
	// Members may submit to the project: user names, and @group for every
	// member of a Unix group (as in Grid Engine's access lists).
	Members []string `json:"members,omitempty"`
	// Priority weighs the project's jobs in fair share, 0..100.
	Priority int `json:"priority"`
	// Volumes are configured volumes (NAME or NAME:ro) mounted in every
	// job of the project, whoever the volume's own users and groups are.
	Volumes []string `json:"volumes,omitempty"`
	// Limit caps what the project's jobs hold at once; the project "has a
	// limit" (the seeds' has_limit) when any of it is set.
	Limit Limit `json:"limit,omitzero"`
	// Quota is the project's budget per quota period.
	Quota Quota `json:"quota,omitzero"`
}

// HasMember reports whether user, whose group names are groups, belongs
// to p. Everybody belongs to the default project.
func (p *Project) HasMember(user string, groups []string) bool {
	if p.Name == DefaultProject {
		return true
	}
	for _, m := range p.Members {
		if m == user {
			return true
		}
		if g, ok := cutGroup(m); ok && slices.Contains(groups, g) {
			return true
		}
	}
	return false
}

func cutGroup(member string) (string, bool) {
	if len(member) > 1 && member[0] == '@' {
		return member[1:], true
	}
	return "", false
}

// Clone returns a deep copy of p.
func (p *Project) Clone() *Project {
	c := *p
	c.Members = slices.Clone(p.Members)
	c.Volumes = slices.Clone(p.Volumes)
	return &c
}

// Limit is a simultaneous-use limit; 0 = no limit on that resource.
type Limit struct {
	CPUs   int   `json:"cpus,omitempty"`
	Memory int64 `json:"memory,omitempty"` // bytes
	GPUs   int   `json:"gpus,omitempty"`
	Jobs   int   `json:"jobs,omitempty"` // running jobs
}

// Set reports whether any part of l is a limit.
func (l Limit) Set() bool { return l != Limit{} }

// Quota is a budget of resource·seconds per quota period (or, in a
// report, what was used of it); 0 = no budget for that resource. What a
// job uses is what it holds while it runs: cpus × seconds, bytes of
// memory × seconds, gpus × seconds.
type Quota struct {
	CPUSeconds    float64 `json:"cpu_seconds,omitempty"`
	MemorySeconds float64 `json:"memory_seconds,omitempty"` // byte·seconds
	GPUSeconds    float64 `json:"gpu_seconds,omitempty"`
}

// Set reports whether any budget of q is set.
func (q Quota) Set() bool { return q != Quota{} }

// Add returns q + o.
func (q Quota) Add(o Quota) Quota {
	return Quota{CPUSeconds: q.CPUSeconds + o.CPUSeconds, MemorySeconds: q.MemorySeconds + o.MemorySeconds, GPUSeconds: q.GPUSeconds + o.GPUSeconds}
}

// Account is what GoDocker keeps about a user beyond their Unix account:
// their fair-share priority and their quota (gctl user, gctl quota).
type Account struct {
	User     string `json:"user"`
	Priority int    `json:"priority"` // 0..100
	Quota    Quota  `json:"quota,omitzero"`
}

// QuotaReport is the answer of GET /api/v1/quotas: the current quota
// period and every budget set, with what was used of it.
type QuotaReport struct {
	Start  time.Time    `json:"start"`
	Resets time.Time    `json:"resets"`
	Quotas []QuotaEntry `json:"quotas"`
}

// Quota owner kinds.
const (
	KindUser    = "user"
	KindProject = "project"
)

// QuotaEntry is one owner's budget and use in the current period.
type QuotaEntry struct {
	Kind  string `json:"kind"` // KindUser or KindProject
	Name  string `json:"name"`
	Quota Quota  `json:"quota"`
	Used  Quota  `json:"used"`
}

// UsageReport is the answer of GET /api/v1/usage: what each user and
// project used recently, as fair share weighs it.
type UsageReport struct {
	// Window is scheduler.user_reset_usage_duration in seconds; HalfLife
	// scheduler.usage_half_life (0: no decay within the window).
	Window   float64      `json:"window"`
	HalfLife float64      `json:"half_life,omitempty"`
	Users    []UsageEntry `json:"users"`
	Projects []UsageEntry `json:"projects"`
}

// UsageEntry is one user's or project's recent use and what it holds now.
type UsageEntry struct {
	Name     string `json:"name"`
	Priority int    `json:"priority"`
	// Used over the window (decayed when a half-life is set).
	Used Quota `json:"used"`
	// Share is Used.CPUSeconds over everybody's, 0..1.
	Share float64 `json:"share"`
	// What its running jobs hold now.
	Running int   `json:"running"`
	CPUs    int   `json:"cpus"`
	Memory  int64 `json:"memory"`
	GPUs    int   `json:"gpus"`
}
