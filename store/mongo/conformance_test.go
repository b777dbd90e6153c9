package mongo

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"github.com/godocker/godocker/store"
	"github.com/godocker/godocker/store/storetest"
)

// TestConformance runs store/storetest against the MongoDB that
// GODOCKER_TEST_MONGO_URL names (mongodb://localhost:27017, say; its
// path, if any, is replaced), each test in a fresh database dropped when
// the test ends.
func TestConformance(t *testing.T) {
	url := os.Getenv("GODOCKER_TEST_MONGO_URL")
	if url == "" {
		t.Skip("GODOCKER_TEST_MONGO_URL is not set: the MongoDB conformance suite did not run")
	}
	admin, err := mongo.Connect(clientOptions(url))
	if err != nil {
		t.Fatalf("GODOCKER_TEST_MONGO_URL: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		if err := admin.Disconnect(ctx); err != nil {
			t.Error(err)
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	if err := admin.Ping(ctx, readpref.Primary()); err != nil {
		t.Fatalf("GODOCKER_TEST_MONGO_URL names no MongoDB that answers: %v", err)
	}

	run := "gdtest_" + strings.ToLower(rand.Text()[:10])
	var n atomic.Int64
	storetest.Run(t, func(t *testing.T) func() store.Store {
		db := fmt.Sprintf("%s_%d", run, n.Add(1))
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := admin.Database(db).Drop(ctx); err != nil {
				t.Errorf("drop test database %s: %v", db, err)
			}
		})
		dsn := withDatabase(t, url, db)
		return func() store.Store {
			s, err := Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			if s.database != db {
				t.Fatalf("opened database %s, want %s", s.database, db)
			}
			return s
		}
	})
}

// withDatabase is dsn with its path naming db.
func withDatabase(t *testing.T, dsn, db string) string {
	t.Helper()
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		t.Fatalf("GODOCKER_TEST_MONGO_URL is not a mongodb:// URI")
	}
	authority, query := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority = rest[:i]
		if j := strings.IndexByte(rest, '?'); j >= 0 {
			query = rest[j:]
		}
	}
	return scheme + "://" + authority + "/" + db + query
}

func TestWithDatabase(t *testing.T) {
	for dsn, want := range map[string]string{
		"mongodb://localhost":                     "mongodb://localhost/x",
		"mongodb://localhost:27017/":              "mongodb://localhost:27017/x",
		"mongodb://u:p@db1,db2/old?replicaSet=rs": "mongodb://u:p@db1,db2/x?replicaSet=rs",
		"mongodb://db1?directConnection=true":     "mongodb://db1/x?directConnection=true",
	} {
		if got := withDatabase(t, dsn, "x"); got != want {
			t.Errorf("withDatabase(%q) = %q, want %q", dsn, got, want)
		}
		if d, err := parseDSN(withDatabase(t, dsn, "x")); err != nil || d.database != "x" {
			t.Errorf("parseDSN(withDatabase(%q)) = %+v, %v", dsn, d, err)
		}
	}
}
