package sqlite

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
)

// benchJob is a job as gsub submits it, with a small script and the
// resolved run: the size of a typical row.
func benchJob(id int64, user string, state api.State) *api.Job {
	j := job(id, user, state)
	j.UID, j.GID, j.Home = 1000+int(id%50), 100, "/home/"+user
	j.Spec = api.Spec{
		Name: "bench", Image: "godocker/base:latest", ScriptName: "job.sh",
		Script: "#!/bin/bash\n#$ -N bench\n#$ -pe smp 2\n#$ -l h_vmem=4G\nset -e\n./run --sample \"$SGE_TASK_ID\" > out.txt\n",
		CPUs:   2, Memory: 4 << 30, SubmitDir: "/home/" + user + "/work", SubmitHost: "login1",
		SubmitEnv: map[string]string{"HOME": "/home/" + user, "PATH": "/usr/local/bin:/usr/bin:/bin", "SHELL": "/bin/bash"},
	}
	j.Dir = fmt.Sprintf("/var/lib/godocker/jobs/%s/%d", user, id)
	j.Stdout, j.Stderr = j.Dir+"/stdout", j.Dir+"/stderr"
	return j
}

// syncs are the store's two levels, which the benchmarks of writes
// measure each.
var syncs = []store.Sync{store.SyncNormal, store.SyncFull}

// syncStore opens a store at sync in a fresh file, closed when b ends.
func syncStore(b *testing.B, sync store.Sync) *Store {
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "godocker.db"), store.Options{Sync: sync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkCreateJob: one submission, NextID then CreateJob: a commit,
// and an fsync at SyncFull.
func BenchmarkCreateJob(b *testing.B) {
	for _, sync := range syncs {
		b.Run(string(sync), func(b *testing.B) {
			s := syncStore(b, sync)
			ctx := b.Context()
			for b.Loop() {
				id, err := s.NextID(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if err := s.CreateJob(ctx, benchJob(id, "alice", api.Pending)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCreateJobParallel: submissions from 8 goroutines at once, as
// concurrent API clients make them: group commit shares the commits.
func BenchmarkCreateJobParallel(b *testing.B) {
	for _, sync := range syncs {
		b.Run(string(sync), func(b *testing.B) {
			s := syncStore(b, sync)
			ctx := b.Context()
			b.SetParallelism(8 / runtime.GOMAXPROCS(0))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id, err := s.NextID(ctx)
					if err != nil {
						b.Error(err)
						return
					}
					if err := s.CreateJob(ctx, benchJob(id, "alice", api.Pending)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkJobsByState: the scheduler's query with 100,000 jobs stored,
// of which 10,000 pending and 1,000 running, the rest finished.
func BenchmarkJobsByState(b *testing.B) {
	s := tempStore(b)
	const total = 100_000
	users := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace"}
	jobs := make([]*api.Job, total)
	for i := range jobs {
		state := api.Done
		switch {
		case i%10 == 0:
			state = api.Pending
		case i%100 == 1:
			state = api.Running
		case i%7 == 0:
			state = api.Failed
		}
		jobs[i] = benchJob(int64(i+1), users[i%len(users)], state)
	}
	if err := s.createJobs(b.Context(), jobs); err != nil {
		b.Fatal(err)
	}

	for _, c := range []struct {
		name string
		q    store.Query
		want int
	}{
		{"pending", store.Query{States: []api.State{api.Pending}}, 10_000},
		{"pending-limit-100", store.Query{States: []api.State{api.Pending}, Limit: 100}, 100},
		{"user-running", store.Query{Users: []string{"bob"}, States: []api.State{api.Running}}, 143},
	} {
		b.Run(c.name, func(b *testing.B) {
			ctx := b.Context()
			for b.Loop() {
				got, err := s.Jobs(ctx, c.q)
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != c.want {
					b.Fatalf("got %d jobs, want %d", len(got), c.want)
				}
			}
		})
	}
}

// BenchmarkUpdateJob: one state change, read-modify-write in one
// transaction.
func BenchmarkUpdateJob(b *testing.B) {
	for _, sync := range syncs {
		b.Run(string(sync), func(b *testing.B) {
			s := syncStore(b, sync)
			ctx := b.Context()
			if err := s.CreateJob(ctx, benchJob(1, "alice", api.Running)); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := s.UpdateJob(ctx, 1, func(j *api.Job) error {
					j.Usage.CPUSeconds++
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
