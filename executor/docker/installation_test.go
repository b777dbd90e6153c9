package docker_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/executor/docker"
	"github.com/godocker/godocker/executor/executortest"
)

// These tests run two installations of GoDocker on the local engine, as
// two godockerd on different stores do (two test servers, the end-to-end
// tests beside a benchmark): each has a docker executor of its own, with
// its own installation id.

// newInstallation returns a fresh installation id, as a store makes one.
func newInstallation() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// openInstallation returns an executor of the local engine for the
// installation inst, closed when the test ends.
func openInstallation(t *testing.T, inst string) *docker.Executor {
	t.Helper()
	engine(t) // the test image, or skip without an engine
	ex, err := docker.New(ctx(t), "docker", executor.Config{Type: "docker", Installation: inst})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ex.Close() })
	return ex
}

// asUser makes j run as uid:uid, user name.
func asUser(j *api.Job, uid int, name string) *api.Job {
	j.User, j.UID, j.GID, j.Groups = name, uid, uid, nil
	j.Run.User, j.Run.UID, j.Run.GID, j.Run.Groups, j.Run.Group = name, uid, uid, nil, name
	return j
}

// quiet fails the test if j's attempt had an event in ev since the last
// one read: a marker job of ex that exits at once must be the next one
// (events of one stream come in order).
func quiet(t *testing.T, ex *docker.Executor, ev *executortest.Stream, j *api.Job) {
	t.Helper()
	marker := newJob("true")
	start(t, ex, marker)
	ev.Expect(t, marker, executor.Started)
	if q := ev.Pending(j); len(q) > 0 {
		t.Errorf("job %d attempt %d: events %+v of another installation's container", j.ID, j.Attempt, q)
	}
}

// TestInstallations: two installations on one engine both start their
// job N attempt 1 (the same N: a random one, so that no other test on
// the engine has it). Each gets a container of its own, running as its
// own job's user; neither stream reports the other's container, and the
// end of one installation's container is not the end of the other's job.
func TestInstallations(t *testing.T) {
	t.Parallel()
	instA, instB := newInstallation(), newInstallation()
	a, b := openInstallation(t, instA), openInstallation(t, instB)
	evA, evB := executortest.Watch(t, a), executortest.Watch(t, b)

	id := executortest.NewID()
	ja := asUser(newJob("sleep", "300"), uid, "alice")
	jb := asUser(newJob("sleep", "300"), uid+1, "bob")
	ja.ID, jb.ID = id, id
	start(t, a, ja)
	evA.Expect(t, ja, executor.Started)
	start(t, b, jb)
	evB.Expect(t, jb, executor.Started)

	stA, errA := a.Inspect(ctx(t), ja)
	stB, errB := b.Inspect(ctx(t), jb)
	if errA != nil || errB != nil {
		t.Fatalf("Inspect: %v, %v", errA, errB)
	}
	if stA.Container == stB.Container {
		t.Fatalf("both installations' job %d attempt 1 run in container %.12s: B took over A's", id, stA.Container)
	}
	for _, c := range []struct {
		ex   *docker.Executor
		j    *api.Job
		inst string
		id   string
	}{{a, ja, instA, stA.Container}, {b, jb, instB, stB.Container}} {
		info, err := c.ex.Client().ContainerInspect(ctx(t), c.id)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("/godocker-%s-%d-1", c.inst, id); info.Name != want {
			t.Errorf("container of installation %s: name %s, want %s", c.inst, info.Name, want)
		}
		if got := info.Config.Labels[executor.LabelInstallation]; got != c.inst {
			t.Errorf("container of installation %s: label %s=%q", c.inst, executor.LabelInstallation, got)
		}
		want := fmt.Sprintf("%d\n", c.j.Run.UID)
		if out, _, code := execute(t, c.ex, c.j, executor.ExecRequest{Cmd: []string{"id", "-u"}}, ""); out != want || code != 0 {
			t.Errorf("id -u in installation %s's job: %q, exit %d; want %q (its own job's user)", c.inst, out, code, want)
		}
	}

	// A's stream says nothing of B's container, which started after A's.
	quiet(t, a, evA, ja)

	// The end of A's container is A's job's, not B's.
	if err := a.Kill(ctx(t), ja); err != nil {
		t.Fatal(err)
	}
	evA.Expect(t, ja, executor.Exited)
	quiet(t, b, evB, jb)
	if st, err := b.Inspect(ctx(t), jb); err != nil || st.State != executor.StateRunning {
		t.Errorf("B's job after A's was killed: %+v, %v; want running", st, err)
	}
}

// TestRefuseAnotherInstallation: a job whose container name leads to
// another installation's container (a record naming it, as a job of an
// installation that found the name taken would have) does not take it
// over: Start refuses, naming both installations, and leaves it alone.
func TestRefuseAnotherInstallation(t *testing.T) {
	t.Parallel()
	instA, instB := newInstallation(), newInstallation()
	a, b := openInstallation(t, instA), openInstallation(t, instB)
	ja := newJob("sleep", "300")
	start(t, a, ja)

	jb := asUser(newJob("sleep", "300"), uid+1, "bob")
	jb.ID, jb.Container = ja.ID, executor.ContainerName(instA, ja)
	err := b.Start(ctx(t), jb, executor.Placement{})
	if err == nil || !strings.Contains(err.Error(), instA) || !strings.Contains(err.Error(), instB) {
		t.Errorf("B's Start over A's container: %v; want a refusal naming both installations (%s, %s)", err, instA, instB)
	}
	info, ierr := a.Client().ContainerInspect(ctx(t), jb.Container)
	if ierr != nil || info.State == nil || !info.State.Running || info.Config.User != fmt.Sprintf("%d:%d", uid, gid) {
		t.Errorf("A's container after B's Start: %v; want running as A's job's user", ierr)
	}
}

// TestStartBeforeInstallations: the container of a job started before
// installations existed (named godocker-ID-ATTEMPT, as the job records,
// without an installation label) is still the job's once the executor
// has an installation: Start starts it if it was only created. The
// same container under the installation's own name is not.
func TestStartBeforeInstallations(t *testing.T) {
	t.Parallel()
	inst := newInstallation()
	ex := openInstallation(t, inst)
	create := func(j *api.Job, name string) {
		t.Helper()
		_, err := ex.Client().ContainerCreate(ctx(t), &container.Config{
			Image: image, Cmd: j.Run.Argv,
			Labels: map[string]string{executor.LabelJob: fmt.Sprint(j.ID), executor.LabelAttempt: fmt.Sprint(j.Attempt)},
		}, nil, nil, nil, name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ex.Client().ContainerRemove(context.Background(), name, container.RemoveOptions{Force: true})
		})
	}

	old := newJob("sleep", "300")
	old.Container = executor.ContainerName("", old)
	create(old, old.Container)
	if err := ex.Start(ctx(t), old, executor.Placement{}); err != nil {
		t.Fatalf("Start of a job whose container was made before installations: %v", err)
	}
	if st, _ := ex.Inspect(ctx(t), old); st.State != executor.StateRunning {
		t.Errorf("after Start: %s, want running", st.State)
	}

	unlabelled := newJob("sleep", "300")
	create(unlabelled, executor.ContainerName(inst, unlabelled))
	if err := ex.Start(ctx(t), unlabelled, executor.Placement{}); err == nil {
		t.Error("Start over a container with no installation under the installation's name: no error")
	}
}
