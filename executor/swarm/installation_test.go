package swarm_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	dswarm "github.com/docker/docker/api/types/swarm"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/executor"
	"github.com/godocker/godocker/executor/executortest"
	"github.com/godocker/godocker/executor/swarm"
)

// These tests run two installations of GoDocker on one swarm, each with
// a swarm executor of its own and its own installation id, as two
// godockerd on different stores do.

// newInstallation returns a fresh installation id, as a store makes one.
func newInstallation() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// quiet fails the test if j's attempt had an event in ev since the last
// one read: a marker job of ex that exits at once must be the next one
// (events of one stream come in order).
func quiet(t *testing.T, ex *swarm.Executor, ev *executortest.Stream, j *api.Job) {
	t.Helper()
	marker := newJob("true")
	start(t, ex, marker, executor.Placement{})
	ev.Expect(t, marker, executor.Started)
	if q := ev.Pending(j); len(q) > 0 {
		t.Errorf("job %d attempt %d: events %+v of another installation's service", j.ID, j.Attempt, q)
	}
}

// TestInstallations: two installations both start their job N attempt 1
// (the same N). Each gets a service of its own, named and labelled with
// its installation; neither stream reports the other's task, and the end
// of one installation's task is not the end of the other's job. A job
// whose recorded name leads to the other installation's service does
// not take it over.
func TestInstallations(t *testing.T) {
	t.Parallel()
	instA, instB := newInstallation(), newInstallation()
	a, b := open(t, executor.Config{Installation: instA}), open(t, executor.Config{Installation: instB})
	evA, evB := executortest.Watch(t, a), executortest.Watch(t, b)

	ja, jb := newJob("sleep", "300"), newJob("sleep", "300")
	jb.ID = ja.ID
	start(t, a, ja, executor.Placement{})
	evA.Expect(t, ja, executor.Started)
	start(t, b, jb, executor.Placement{})
	evB.Expect(t, jb, executor.Started)

	var containers []string
	for _, c := range []struct {
		ex   *swarm.Executor
		j    *api.Job
		inst string
	}{{a, ja, instA}, {b, jb, instB}} {
		name := fmt.Sprintf("godocker-%s-%d-1", c.inst, c.j.ID)
		svc, _, err := c.ex.Client().ServiceInspectWithRaw(ctx(t), name, dswarm.ServiceInspectOptions{})
		if err != nil {
			t.Fatalf("service of installation %s's job: %v", c.inst, err)
		}
		cs := svc.Spec.TaskTemplate.ContainerSpec
		if svc.Spec.Labels[executor.LabelInstallation] != c.inst || cs == nil || cs.Labels[executor.LabelInstallation] != c.inst {
			t.Errorf("service %s: labels %v, container labels %v; want %s=%s on both", name, svc.Spec.Labels, cs.Labels, executor.LabelInstallation, c.inst)
		}
		st, err := c.ex.Inspect(ctx(t), c.j)
		if err != nil || st.State != executor.StateRunning {
			t.Fatalf("installation %s's job: %+v, %v; want running", c.inst, st, err)
		}
		containers = append(containers, st.Container)
	}
	if containers[0] == containers[1] {
		t.Fatalf("both installations' job %d attempt 1 run in container %.12s", ja.ID, containers[0])
	}

	// A's stream says nothing of B's task, which started after A's.
	quiet(t, a, evA, ja)

	// The end of A's task is A's job's, not B's.
	if err := a.Kill(ctx(t), ja); err != nil {
		t.Fatal(err)
	}
	evA.Expect(t, ja, executor.Exited)
	quiet(t, b, evB, jb)
	if st, err := b.Inspect(ctx(t), jb); err != nil || st.State != executor.StateRunning {
		t.Errorf("B's job after A's was killed: %+v, %v; want running", st, err)
	}

	// B's job recording A's service name (as a job of B would have, had
	// it found the name of A's taken) does not take it over.
	impostor := *jb
	impostor.Container = executor.ContainerName(instA, ja)
	err := b.Start(ctx(t), &impostor, executor.Placement{})
	if err == nil || !strings.Contains(err.Error(), instA) || !strings.Contains(err.Error(), instB) {
		t.Errorf("B's Start over A's service: %v; want a refusal naming both installations (%s, %s)", err, instA, instB)
	}
}
