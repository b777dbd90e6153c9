package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/godocker/godocker/api"
)

// TestOutput: the owner reads a job's output from an offset or its end;
// others may not; a file the job did not write is never served.
func TestOutput(t *testing.T) {
	h := newHarness(t, nil)
	j := h.launched(h.submit(h.alice, script("echo\n")).ID)
	write := func(path, content string, uid int) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(path, uid, uid); err != nil {
			t.Fatal(err)
		}
	}
	read := func(c *caller, query string, want int) api.Output {
		t.Helper()
		var o api.Output
		body := h.must(c, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d/output?%s", j.ID, query), "", want)
		if want == http.StatusOK {
			if err := json.Unmarshal([]byte(body), &o); err != nil {
				t.Fatal(err)
			}
		}
		return o
	}

	if o := read(h.alice, "stream=stdout", http.StatusOK); len(o.Data) != 0 || o.Size != 0 {
		t.Errorf("output not written yet: %+v, want empty", o)
	}
	write(j.Stdout, "line 1\nline 2\nline 3\n", h.alice.UID)
	if o := read(h.alice, "stream=stdout", http.StatusOK); string(o.Data) != "line 1\nline 2\nline 3\n" || o.Offset != 0 || o.Size != 21 {
		t.Errorf("whole stdout: %+v", o)
	}
	if o := read(h.alice, "stream=stdout&offset=-7", http.StatusOK); string(o.Data) != "line 3\n" || o.Offset != 14 {
		t.Errorf("last 7 bytes: %q at %d", o.Data, o.Offset)
	}
	if o := read(h.alice, "stream=stdout&offset=7&max=7", http.StatusOK); string(o.Data) != "line 2\n" {
		t.Errorf("7 bytes from 7: %q", o.Data)
	}
	if o := read(h.alice, "stream=stdout&offset=100", http.StatusOK); len(o.Data) != 0 || o.Offset != 21 {
		t.Errorf("past the end: %+v, want nothing at the end", o)
	}
	read(h.bob, "stream=stdout", http.StatusForbidden)
	read(h.alice, "stream=passwd", http.StatusBadRequest)
	read(h.alice, "stream=stdout&offset=x", http.StatusBadRequest)

	// Attacks: the job's file swapped for a link to a secret, or for a
	// file the job did not write.
	secret := filepath.Join(t.TempDir(), "secret")
	write(secret, "root's secret\n", 0)
	os.Remove(j.Stdout)
	if err := os.Symlink(secret, j.Stdout); err != nil {
		t.Fatal(err)
	}
	if code, body := h.do(h.alice, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d/output?stream=stdout", j.ID), ""); code == http.StatusOK || strings.Contains(body, "secret") {
		t.Errorf("stdout as a symbolic link to root's file: %d %s", code, body)
	}
	os.Remove(j.Stdout)
	write(j.Stdout, "not the job's\n", 0)
	if code, body := h.do(h.alice, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d/output?stream=stdout", j.ID), ""); code == http.StatusOK || strings.Contains(body, "not the job") {
		t.Errorf("stdout owned by root: %d %s", code, body)
	}
}

// TestNodes: capacity and what running jobs hold, per node.
func TestNodes(t *testing.T) {
	h := newHarness(t, nil)
	j := h.submit(h.alice, api.Spec{Name: "one", Script: "x\n", CPUs: 1, Memory: gib})
	h.waitState(j.ID, api.Running)
	var nodes []api.NodeStatus
	if err := json.Unmarshal([]byte(h.must(h.bob, http.MethodGet, "/api/v1/nodes", "", http.StatusOK)), &nodes); err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 1 || nodes[0].Executor != "sim" || nodes[0].CPUs != 2 || nodes[0].UsedCPUs != 1 || nodes[0].UsedMemory != gib || nodes[0].Jobs != 1 {
		t.Errorf("nodes: %+v; want the sim node, 2 cpus, 1 cpu and 1G used by one job", nodes)
	}
}
