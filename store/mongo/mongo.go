package mongo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/godocker/godocker/store"
)

func init() {
	store.Register("mongo", func(ctx context.Context, dsn string, o store.Options) (store.Store, error) {
		if o.Sync != "" {
			return nil, fmt.Errorf("open mongo store: sync %q is sqlite's setting; mongo's writes are as durable as the write concern of its URL (w, journal) says", o.Sync)
		}
		s, err := Open(ctx, dsn)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return s, nil
	})
}

var _ store.Store = (*Store)(nil)

// DefaultDatabase is the database of a DSN whose path names none.
const DefaultDatabase = "godocker"

// Collections of the database.
const (
	jobsColl     = "jobs"
	countersColl = "counters"
	settingsColl = "settings"
	projectsColl = "projects"
	accountsColl = "accounts"
	keysColl     = "keys"
)

// defaultOpenTimeout bounds how long Open waits for a primary to answer
// when the DSN sets no serverSelectionTimeoutMS.
const defaultOpenTimeout = 10 * time.Second

// closeTimeout bounds how long Close waits for operations in flight.
const closeTimeout = 10 * time.Second

// Store is a store.Store in one MongoDB database. Its methods are safe for
// concurrent use; several Stores, in one process or in several godockerd,
// may share a database.
type Store struct {
	client   *mongo.Client
	hosts    string // for messages: the DSN's hosts, without credentials
	database string

	jobs, counters, settings, projects, accounts, keys *mongo.Collection

	log     *slog.Logger
	backoff backoff
}

// Open connects to the MongoDB deployment of dsn, a mongodb:// or
// mongodb+srv:// URI whose path names the database (DefaultDatabase if
// none): mongodb://db1,db2/godocker?replicaSet=rs0. It waits for the
// primary to answer (10s, or the DSN's serverSelectionTimeoutMS, and no
// longer than ctx allows), creates the indexes Indexes lists if missing,
// the installation id (store.SettingInstallation) if missing and the job
// id counter if missing.
//
// Unless the DSN says otherwise, writes are acknowledged by a majority of
// the replica set and journaled (w=majority&journal=true), reads are of
// majority-committed data (readConcernLevel=majority), and the driver
// retries reads and writes once (retryReads, retryWrites): what a store
// acknowledged then survives a failover, and the id counter never goes
// back.
func Open(ctx context.Context, dsn string) (*Store, error) {
	d, err := parseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("open mongo store: %w (check store.dsn / GODOCKER_STORE_DSN)", err)
	}
	s, err := open(ctx, dsn, d)
	if err != nil {
		return nil, fmt.Errorf("open mongo store %s at %s: %w", d.database, d.hosts, err)
	}
	return s, nil
}

func open(ctx context.Context, dsn string, d dsnParts) (*Store, error) {
	opts := clientOptions(dsn)
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("%w (check store.dsn / GODOCKER_STORE_DSN)", err)
	}
	s := newStore(client, d)

	timeout := defaultOpenTimeout
	if opts.ServerSelectionTimeout != nil && *opts.ServerSelectionTimeout > 0 {
		timeout = *opts.ServerSelectionTimeout
	}
	if err := s.init(ctx, timeout); err != nil {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
		defer cancel()
		_ = client.Disconnect(dctx) // the error to report is init's
		return nil, err
	}
	s.log.Debug("mongo store open", "hosts", d.hosts, "database", d.database)
	return s, nil
}

// clientOptions are the driver's options for dsn: the DSN's, with
// GoDocker's defaults where it sets none.
func clientOptions(dsn string) *options.ClientOptions {
	opts := options.Client().ApplyURI(dsn)
	if opts.AppName == nil {
		opts.SetAppName("godockerd")
	}
	if opts.RetryWrites == nil {
		opts.SetRetryWrites(true)
	}
	if opts.RetryReads == nil {
		opts.SetRetryReads(true)
	}
	if opts.WriteConcern == nil {
		journal := true
		opts.SetWriteConcern(&writeconcern.WriteConcern{W: writeconcern.Majority().W, Journal: &journal})
	}
	if opts.ReadConcern == nil {
		opts.SetReadConcern(readconcern.Majority())
	}
	return opts
}

func newStore(client *mongo.Client, d dsnParts) *Store {
	db := client.Database(d.database)
	return &Store{
		client:   client,
		hosts:    d.hosts,
		database: d.database,
		jobs:     db.Collection(jobsColl),
		counters: db.Collection(countersColl),
		settings: db.Collection(settingsColl),
		projects: db.Collection(projectsColl),
		accounts: db.Collection(accountsColl),
		keys:     db.Collection(keysColl),
		log:      slog.Default().With("store", "mongo"),
		backoff:  retryBackoff,
	}
}

// init waits up to timeout for the primary, then prepares the database.
func (s *Store) init(ctx context.Context, timeout time.Duration) error {
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := s.client.Ping(pctx, readpref.Primary()); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("wait for the primary: %w", err)
		}
		return fmt.Errorf("no primary answered within %s: %w (check store.dsn / GODOCKER_STORE_DSN: is mongod running at %s and reachable from here, and for a replica set, does replicaSet= name it?)",
			timeout, err, s.hosts)
	}
	if err := s.ensureIndexes(ctx); err != nil {
		return err
	}
	if err := s.ensureInstallation(ctx); err != nil {
		return err
	}
	return s.ensureCounter(ctx)
}

// ensureInstallation creates the installation id (the setting
// store.SettingInstallation) if missing: an upsert that sets a random
// value only where it inserts, so that of several servers opening the
// database at once, one inserts and the others find its id. Setting
// reads it like any setting.
func (s *Store) ensureInstallation(ctx context.Context) error {
	b := make([]byte, 6)
	rand.Read(b) // never fails (crypto/rand)
	id := hex.EncodeToString(b)
	err := s.retry(ctx, "create the installation id", func(ctx context.Context, _ bool) error {
		_, err := s.settings.UpdateOne(ctx, bson.D{{Key: "_id", Value: store.SettingInstallation}},
			bson.D{{Key: "$setOnInsert", Value: bson.D{{Key: "value", Value: id}}}},
			options.UpdateOne().SetUpsert(true))
		if mongo.IsDuplicateKeyError(err) {
			// Two upserts raced to insert (servers before 4.2 do not
			// retry that themselves): the other one's id is there.
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create the installation id: %w", err)
	}
	return nil
}

// ensureIndexes creates the indexes of Indexes. Creating an index that
// exists with the same keys and options does nothing; one that exists
// under the same name with others is an error, which says so.
func (s *Store) ensureIndexes(ctx context.Context) error {
	db := s.client.Database(s.database)
	defs := Indexes()
	for _, coll := range slices.Sorted(maps.Keys(defs)) {
		err := s.retry(ctx, "create indexes", func(ctx context.Context, _ bool) error {
			_, err := db.Collection(coll).Indexes().CreateMany(ctx, defs[coll])
			return err
		})
		if err != nil {
			return fmt.Errorf("create the indexes of %s: %w", coll, err)
		}
	}
	return nil
}

// jobCounter is the _id of the counters document NextID increments.
const jobCounter = "jobs"

// counterDoc is a document of counters: {_id: "jobs", seq: N}, N the
// last job id NextID handed out.
type counterDoc struct {
	ID  string `bson:"_id"`
	Seq int64  `bson:"seq"`
}

// ensureCounter creates the job id counter if missing, and moves it past
// the highest stored job id: a counter removed by hand must not hand out
// the ids of stored jobs again.
func (s *Store) ensureCounter(ctx context.Context) error {
	err := s.retry(ctx, "prepare the job id counter", func(ctx context.Context, _ bool) error {
		var last struct {
			ID int64 `bson:"_id"`
		}
		err := s.jobs.FindOne(ctx, bson.D{},
			options.FindOne().SetSort(bson.D{{Key: "_id", Value: -1}}).SetProjection(bson.D{{Key: "_id", Value: 1}})).Decode(&last)
		if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
			return err
		}
		return s.raiseCounter(ctx, last.ID)
	})
	if err != nil {
		return fmt.Errorf("prepare the job id counter: %w", err)
	}
	return nil
}

// raiseCounter makes the job id counter at least id, creating it if
// missing.
func (s *Store) raiseCounter(ctx context.Context, id int64) error {
	_, err := s.counters.UpdateOne(ctx, bson.D{{Key: "_id", Value: jobCounter}},
		bson.D{{Key: "$max", Value: bson.D{{Key: "seq", Value: id}}}},
		options.UpdateOne().SetUpsert(true))
	return err
}

// retry runs op with the store's back-off (see retry).
func (s *Store) retry(ctx context.Context, what string, op func(ctx context.Context, retried bool) error) error {
	return retry(ctx, s.log, s.backoff, what, op)
}

// Close disconnects from the deployment, waiting up to 10s for the
// operations in flight.
func (s *Store) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if err := s.client.Disconnect(ctx); err != nil {
		return fmt.Errorf("close mongo store %s at %s: %w", s.database, s.hosts, err)
	}
	return nil
}

// settingDoc is a document of settings: {_id: key, value: value}.
type settingDoc struct {
	Key   string `bson:"_id"`
	Value string `bson:"value"`
}

// Setting returns the value stored under key, or "" if none is.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var d settingDoc
	err := s.retry(ctx, "read setting", func(ctx context.Context, _ bool) error {
		return s.settings.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&d)
	})
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read setting %s: %w", key, err)
	}
	return d.Value, nil
}

// SetSetting stores value under key; "" removes it.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	err := s.retry(ctx, "write setting", func(ctx context.Context, _ bool) error {
		filter := bson.D{{Key: "_id", Value: key}}
		if value == "" {
			_, err := s.settings.DeleteOne(ctx, filter)
			return err
		}
		_, err := s.settings.UpdateOne(ctx, filter,
			bson.D{{Key: "$set", Value: bson.D{{Key: "value", Value: value}}}},
			options.UpdateOne().SetUpsert(true))
		return err
	})
	if err != nil {
		return fmt.Errorf("write setting %s: %w", key, err)
	}
	return nil
}

// dsnParts is what Open reads from a DSN itself; the driver reads the
// rest.
type dsnParts struct {
	hosts    string // host[:port],... or the SRV name, without credentials
	database string
}

// parseDSN finds the hosts and the database of a mongodb:// or
// mongodb+srv:// URI (mongodb://[user:pass@]host1[:port1][,host2...][/[database][?options]]),
// without resolving anything. Its errors never quote the URI, which may
// hold a password.
func parseDSN(dsn string) (dsnParts, error) {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok || (scheme != "mongodb" && scheme != "mongodb+srv") {
		if !ok || strings.ContainsAny(scheme, "@/:") {
			scheme = ""
		}
		return dsnParts{}, fmt.Errorf("the DSN is not a mongodb:// or mongodb+srv:// URI (scheme %q); e.g. mongodb://db1,db2/godocker?replicaSet=rs0", scheme)
	}
	authority, path := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		authority = authority[i+1:]
	}
	if authority == "" {
		return dsnParts{}, errors.New("the DSN names no host; e.g. mongodb://db1,db2/godocker?replicaSet=rs0")
	}
	d := dsnParts{hosts: authority, database: DefaultDatabase}
	path, _, _ = strings.Cut(path, "?")
	path = strings.TrimPrefix(path, "/")
	if path == "" {
		return d, nil
	}
	name, err := url.PathUnescape(path)
	if err != nil {
		return dsnParts{}, fmt.Errorf("database name in the DSN: %w", err)
	}
	if err := checkDatabaseName(name); err != nil {
		return dsnParts{}, err
	}
	d.database = name
	return d, nil
}

// checkDatabaseName refuses what MongoDB refuses in a database name.
func checkDatabaseName(name string) error {
	if i := strings.IndexAny(name, "/\\. \"$*<>:|?\x00"); i >= 0 {
		return fmt.Errorf("database name %q in the DSN: MongoDB does not allow %q in database names", name, name[i:i+1])
	}
	if len(name) >= 64 {
		return fmt.Errorf("database name %q in the DSN: longer than MongoDB's 63 bytes", name)
	}
	return nil
}
