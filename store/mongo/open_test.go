package mongo

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godocker/godocker/store"
)

func TestParseDSN(t *testing.T) {
	for _, tt := range []struct {
		dsn, hosts, database string
	}{
		{"mongodb://db1,db2/godocker?replicaSet=rs0", "db1,db2", "godocker"},
		{"mongodb://db1:27017,db2:27017/lab?replicaSet=rs0", "db1:27017,db2:27017", "lab"},
		{"mongodb://localhost", "localhost", DefaultDatabase},
		{"mongodb://localhost/", "localhost", DefaultDatabase},
		{"mongodb://localhost/?authSource=admin", "localhost", DefaultDatabase},
		{"mongodb://localhost?w=1", "localhost", DefaultDatabase},
		{"mongodb://alice:p%40ss@db1/lab", "db1", "lab"},
		{"mongodb://alice:p@ss@db1/lab", "db1", "lab"},
		{"mongodb+srv://cluster0.example.net/prod?retryWrites=true", "cluster0.example.net", "prod"},
		{"mongodb://%2Ftmp%2Fmongodb-27017.sock/lab", "%2Ftmp%2Fmongodb-27017.sock", "lab"},
		{"mongodb://[::1]:27017/la%62", "[::1]:27017", "lab"},
		{"mongodb://h/godocker_test-1", "h", "godocker_test-1"},
	} {
		d, err := parseDSN(tt.dsn)
		if err != nil || d.hosts != tt.hosts || d.database != tt.database {
			t.Errorf("parseDSN(%q) = %+v, %v; want hosts %q, database %q", tt.dsn, d, err, tt.hosts, tt.database)
		}
	}
	for _, tt := range []struct{ dsn, want string }{
		{"", "not a mongodb://"},
		{"/var/lib/godocker/godocker.db", "not a mongodb://"},
		{"postgres://alice:s3cret@db/x", `scheme "postgres"`},
		{"mongodb://", "names no host"},
		{"mongodb:///lab", "names no host"},
		{"mongodb://alice:s3cret@/lab", "names no host"},
		{"mongodb://h/a.b", `does not allow "."`},
		{"mongodb://h/a%20b", `does not allow " "`},
		{"mongodb://h/a$b", `does not allow "$"`},
		{"mongodb://h/a%2Fb", `does not allow "/"`},
		{"mongodb://h/" + strings.Repeat("x", 64), "63 bytes"},
		{"mongodb://h/%zz", "database name"},
	} {
		_, err := parseDSN(tt.dsn)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseDSN(%q) = %v, want an error with %q", tt.dsn, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("parseDSN(%q) = %v: the error shows the password", tt.dsn, err)
		}
	}
}

func TestClientOptions(t *testing.T) {
	o := clientOptions("mongodb://db1,db2/lab?replicaSet=rs0")
	switch {
	case o.RetryWrites == nil || !*o.RetryWrites:
		t.Error("retryable writes are off")
	case o.RetryReads == nil || !*o.RetryReads:
		t.Error("retryable reads are off")
	case o.WriteConcern == nil || o.WriteConcern.W != "majority" || o.WriteConcern.Journal == nil || !*o.WriteConcern.Journal:
		t.Errorf("write concern %+v, want majority, journaled", o.WriteConcern)
	case o.ReadConcern == nil || o.ReadConcern.Level != "majority":
		t.Errorf("read concern %+v, want majority", o.ReadConcern)
	case o.AppName == nil || *o.AppName != "godockerd":
		t.Errorf("app name %v", o.AppName)
	case o.ReplicaSet == nil || *o.ReplicaSet != "rs0":
		t.Errorf("replica set %v: the DSN's options were lost", o.ReplicaSet)
	}
	// What the DSN says wins.
	o = clientOptions("mongodb://db1/lab?w=1&readConcernLevel=local&retryWrites=false&retryReads=false&appName=gd2")
	switch {
	case *o.RetryWrites || *o.RetryReads:
		t.Error("the DSN turned retries off; they are on")
	case o.WriteConcern.W != 1:
		t.Errorf("write concern %+v, want the DSN's w=1", o.WriteConcern)
	case o.ReadConcern.Level != "local":
		t.Errorf("read concern %+v, want the DSN's local", o.ReadConcern)
	case *o.AppName != "gd2":
		t.Errorf("app name %q, want the DSN's", *o.AppName)
	}
	if err := o.Validate(); err != nil {
		t.Error(err)
	}
}

// TestOpenUnreachable: with nothing listening, Open fails after the DSN's
// serverSelectionTimeoutMS, saying where it looked and what to check,
// and without the password.
func TestOpenUnreachable(t *testing.T) {
	start := time.Now()
	s, err := Open(t.Context(), "mongodb://alice:s3cret@127.0.0.1:1/lab?serverSelectionTimeoutMS=300&connectTimeoutMS=200")
	elapsed := time.Since(start)
	if err == nil {
		s.Close()
		t.Fatal("Open of an unreachable server succeeded")
	}
	t.Logf("%v: %v", elapsed, err)
	if elapsed > 5*time.Second {
		t.Errorf("Open took %v with serverSelectionTimeoutMS=300", elapsed)
	}
	for _, want := range []string{"open mongo store lab at 127.0.0.1:1", "no primary answered within 300ms", "store.dsn", "GODOCKER_STORE_DSN", "reachable"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q", want)
		}
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Error("the error shows the password")
	}
}

// TestOpenBoundedByContext: without serverSelectionTimeoutMS Open waits
// 10s for the primary, or less if its context says so.
func TestOpenBoundedByContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	s, err := Open(ctx, "mongodb://127.0.0.1:1")
	if err == nil {
		s.Close()
		t.Fatal("Open of an unreachable server succeeded")
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Open took %v with a 300ms context", elapsed)
	}
	if !strings.Contains(err.Error(), "open mongo store godocker at 127.0.0.1:1") {
		t.Errorf("Open = %v", err)
	}
}

func TestRegistered(t *testing.T) {
	if !slices.Contains(store.Drivers(), "mongo") {
		t.Fatalf("store drivers %v lack mongo", store.Drivers())
	}
	_, err := store.Open(t.Context(), "mongo", "redis://localhost:6379", store.Options{})
	if err == nil || !strings.Contains(err.Error(), "not a mongodb:// or mongodb+srv:// URI") || !strings.Contains(err.Error(), "store.dsn") {
		t.Errorf("store.Open(mongo, redis://...) = %v", err)
	}
	// Its durability is its write concern's, set in its URL.
	_, err = store.Open(t.Context(), "mongo", "mongodb://localhost:1/godocker", store.Options{Sync: store.SyncFull})
	if err == nil || !strings.Contains(err.Error(), "write concern") {
		t.Errorf("store.Open(mongo, sync full) = %v, want an error saying the URL's write concern decides", err)
	}
}
