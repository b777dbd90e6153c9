package sqlite

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
)

func sshKey(user, fingerprint string) *api.Key {
	return &api.Key{User: user, Fingerprint: fingerprint, Type: "ssh-ed25519", Key: "ssh-ed25519 AAAA", Added: time.Unix(1700000000, 0)}
}

// TestMigratesFromVersion4: a database made before SSH keys existed gains
// them when opened, and keeps its jobs, tasks, settings, projects and
// accounts.
func TestMigratesFromVersion4(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "godocker.db")
	s := openAtVersion(t, path, 4)
	array, _ := s.NextID(ctx)
	createOldJob(t, s, job(array, "alice", api.Running))
	taskID, _ := s.NextID(ctx)
	task := job(taskID, "alice", api.Running)
	task.ArrayID, task.TaskID = array, 3
	createOldJob(t, s, task)
	if err := s.SetSetting(ctx, "maintenance", "on"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateProject(ctx, &api.Project{Name: "bio", Priority: 7}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAccount(ctx, &api.Account{User: "alice", Priority: 60}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err := Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatalf("reopen a version 4 database: %v", err)
	}
	defer s.Close()
	if jobs, err := s.Jobs(ctx, store.Query{Arrays: []int64{array}, Tasks: []int64{3}}); err != nil || len(jobs) != 1 || jobs[0].ID != taskID {
		t.Errorf("task after migration = %v, %v; want job %d", jobs, err, taskID)
	}
	if v, err := s.Setting(ctx, "maintenance"); err != nil || v != "on" {
		t.Errorf("setting after migration = %q, %v; want \"on\"", v, err)
	}
	if p, err := s.Project(ctx, "bio"); err != nil || p.Priority != 7 {
		t.Errorf("project after migration = %+v, %v", p, err)
	}
	if a, err := s.Account(ctx, "alice"); err != nil || a.Priority != 60 {
		t.Errorf("account after migration = %+v, %v", a, err)
	}
	checkKeysWork(t, s)
}

// TestMigratesFromVersion1ToKeys: the oldest database gains every table
// up to the keys in one go.
func TestMigratesFromVersion1ToKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "godocker.db")
	openAtVersion(t, path, 1).Close()
	s := openStore(t, path)
	defer s.Close()
	checkKeysWork(t, s)
	checkProjectsAccounts(t, s)
}

// checkKeysWork checks that s stores SSH keys.
func checkKeysWork(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	if keys, err := s.Keys(ctx, ""); err != nil || len(keys) != 0 {
		t.Errorf("keys after migration = %v, %v; want none", keys, err)
	}
	if err := s.AddKey(ctx, sshKey("alice", "SHA256:one")); err != nil {
		t.Errorf("keys after migration: %v", err)
	} else if keys, err := s.Keys(ctx, "alice"); err != nil || len(keys) != 1 {
		t.Errorf("keys after migration = %v, %v; want alice's", keys, err)
	}
}

func TestKeyBadInput(t *testing.T) {
	s := tempStore(t)
	ctx := t.Context()
	for _, k := range []*api.Key{nil, {Fingerprint: "SHA256:one"}, {User: "alice"}} {
		if err := s.AddKey(ctx, k); err == nil || errors.Is(err, store.ErrExists) {
			t.Errorf("AddKey(%+v) = %v, want an error other than ErrExists", k, err)
		}
	}
	if keys, err := s.Keys(ctx, ""); err != nil || len(keys) != 0 {
		t.Errorf("Keys after the refused additions = %v, %v; want none", keys, err)
	}
}

// TestKeyErrors: errors say what was being done, to what.
func TestKeyErrors(t *testing.T) {
	s := tempStore(t)
	ctx := t.Context()
	if err := s.AddKey(ctx, sshKey("alice", "SHA256:one")); err != nil {
		t.Fatal(err)
	}
	// A row whose JSON is not the key it is filed under.
	if _, err := s.w.ExecContext(ctx, "INSERT INTO keys (user, fingerprint, added, key) VALUES ('bob', 'SHA256:two', 0, '{\"user\":\"eve\"}')"); err != nil {
		t.Fatal(err)
	}
	_, errList := s.Keys(ctx, "bob")
	_, errAll := s.Keys(ctx, "")
	for _, c := range []struct {
		err  error
		want string
	}{
		{s.AddKey(ctx, sshKey("alice", "SHA256:one")), "add key SHA256:one of alice: already exists"},
		{s.DeleteKey(ctx, "alice", "SHA256:two"), "delete key SHA256:two of alice: not found"},
		{errList, `list keys of bob: key SHA256:two of bob: decode: row ("bob", "SHA256:two") holds key "" of "eve"`},
		{errAll, `list keys: key SHA256:two of bob: decode: row ("bob", "SHA256:two") holds key "" of "eve"`},
	} {
		if c.err == nil || c.err.Error() != c.want {
			t.Errorf("error %v, want %q", c.err, c.want)
		}
	}
}

// TestKeyQueryPlans: the gateway looks a user's keys up at every login:
// through the primary key, not by scanning every user's.
func TestKeyQueryPlans(t *testing.T) {
	s := tempStore(t)
	query, args := keysQuery("alice")
	rows, err := s.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(plan, "; "); !strings.Contains(got, "USING INDEX sqlite_autoindex_keys_1 (user=?)") {
		t.Errorf("plan of one user's keys: %q, want the primary key's index on user", got)
	}
}
