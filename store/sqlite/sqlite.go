// Package sqlite is GoDocker's embedded store: one SQLite file in the
// server's state directory, through the pure-Go driver modernc.org/sqlite
// (no cgo). Importing it registers the driver "sqlite" with store.Open;
// its dsn is the file path.
//
// Each job is one row: the columns that queries filter on (id, user,
// state, submitted, array_id, task_id), the whole job in api's JSON
// wire format, the one encoding of a job everywhere, and the JSON of its
// Brief, in a table of its own, which listings send without decoding it
// (BriefJSON). Projects and accounts are rows of their
// name and their JSON (projects.go), SSH keys of their user, fingerprint
// and JSON (keys.go).
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"

	_ "modernc.org/sqlite" // registers the database/sql driver "sqlite"
)

func init() {
	store.Register("sqlite", func(ctx context.Context, dsn string, o store.Options) (store.Store, error) {
		s, err := Open(ctx, dsn, o)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return s, nil
	})
}

var (
	_ store.Store       = (*Store)(nil)
	_ store.BriefLister = (*Store)(nil)
)

// Store is a store.Store in one SQLite file. Its methods are safe for
// concurrent use; several Stores, in one process or several, may share a
// file.
//
// Writes go through one connection and reads through a pool of others.
// With database/sql every statement and transaction may land on any pooled
// connection, and SQLite allows one writer at a time: with several writing
// connections, a read-modify-write transaction begun DEFERRED takes its
// write lock only at the first write and fails with SQLITE_BUSY if another
// connection committed in between (WAL cannot upgrade a stale snapshot),
// and BEGIN IMMEDIATE on several connections queues writers in SQLite's
// busy handler, which polls with sleeps, ignores the context and gives up
// after the busy timeout. A single writing connection makes database/sql's
// pool the queue instead: writers wait for it in order, and stop waiting
// when their context ends. Its transactions still begin IMMEDIATE
// (_txlock=immediate), so that another process on the same file (a second
// server, the sqlite3 shell, a backup) cannot slip a write between
// UpdateJob's read and its write; against those the busy timeout applies.
// Readers never block the writer nor each other in WAL mode, so they get
// a pool of their own, opened query_only.
type Store struct {
	path string
	sync store.Sync // SyncNormal or SyncFull
	w    *sql.DB    // one connection: every write
	r    *sql.DB    // query_only connections: every read

	// Writes of jobs and ids are committed in batches (commit.go).
	writes       chan *write
	quit         chan struct{} // closed by Close
	stopped      chan struct{} // closed when commitLoop returned
	flushStopped chan struct{} // closed when flushLoop returned (at SyncNormal)
	closing      sync.Once

	stmtMu sync.Mutex
	stmts  map[stmtKey]*sql.Stmt // see prepared

	idMu          sync.Mutex
	idNext, idEnd int64 // ids reserved and not handed out yet: [idNext, idEnd)
}

// schema lists the migrations: schema[i] takes the database from
// user_version i to i+1, in the same transaction that sets user_version.
// Append to it; never edit an entry that has shipped.
var schema = []string{
	// 1: jobs and the id counter.
	`CREATE TABLE jobs (
		id        INTEGER PRIMARY KEY,
		user      TEXT    NOT NULL,
		state     TEXT    NOT NULL,
		submitted INTEGER NOT NULL, -- Unix nanoseconds; 0 if unset
		job       TEXT    NOT NULL  -- the api.Job, JSON
	) STRICT;
	-- The scheduler's pending and running jobs, gstat -s: the rowid
	-- (id) is the last key of every index, so equality on state comes
	-- back in id order without a sort.
	CREATE INDEX jobs_by_state ON jobs (state);
	-- gstat -u USER [-s STATE], per-user limits.
	CREATE INDEX jobs_by_user_state ON jobs (user, state);
	-- The last id NextID handed out. Not max(jobs.id): ids reserved and
	-- never used must not come back.
	CREATE TABLE job_ids (
		only INTEGER PRIMARY KEY CHECK (only = 1),
		last INTEGER NOT NULL
	) STRICT;
	INSERT INTO job_ids (only, last) VALUES (1, 0);`,
	// 2: server-wide settings (maintenance mode, ...).
	`CREATE TABLE settings (
		key   TEXT PRIMARY KEY,
		value TEXT NOT NULL
	) STRICT;`,
	// 3: projects and users' accounts.
	`CREATE TABLE projects (
		name    TEXT PRIMARY KEY,
		project TEXT NOT NULL -- the api.Project, JSON
	) STRICT;
	CREATE TABLE accounts (
		user    TEXT PRIMARY KEY,
		account TEXT NOT NULL -- the api.Account, JSON
	) STRICT;`,
	// 4: job arrays. Jobs stored before had neither field: 0 is right.
	`ALTER TABLE jobs ADD COLUMN array_id INTEGER NOT NULL DEFAULT 0; -- api.Job.ArrayID; 0: not a task
	ALTER TABLE jobs ADD COLUMN task_id INTEGER NOT NULL DEFAULT 0; -- api.Job.TaskID
	-- The tasks of an array [with these numbers]. Partial, so that plain
	-- jobs cost it nothing; SQLite uses it only for a query that states
	-- array_id != 0 itself (whereClause does).
	CREATE INDEX jobs_by_array_task ON jobs (array_id, task_id) WHERE array_id != 0;`,
	// 5: users' SSH public keys (gctl key add). A user registers a
	// fingerprint once; two users may register the same key.
	`CREATE TABLE keys (
		user        TEXT    NOT NULL,
		fingerprint TEXT    NOT NULL, -- SHA256:..., compared as bytes
		added       INTEGER NOT NULL, -- Unix nanoseconds: the order of a user's keys
		key         TEXT    NOT NULL, -- the api.Key, JSON
		PRIMARY KEY (user, fingerprint)
	) STRICT;`,
	// 6: each job's api.Job.Brief, JSON, which listings send as it is
	// (BriefJSON). A table of its own, not a column of jobs: a job's row
	// is several kilobytes, mostly its resolved execution, and a listing
	// of thousands reads far fewer pages of briefs alone. backfill[6]
	// fills it for the jobs stored before.
	`CREATE TABLE briefs (
		id    INTEGER PRIMARY KEY, -- jobs.id
		brief TEXT    NOT NULL     -- the api.Job's Brief, JSON
	) STRICT;`,
	// 7: the installation id (store.SettingInstallation), made once. In
	// the migration's transaction, under the write lock: two godockerd
	// opening a fresh file, or upgrading one, agree on it.
	`INSERT INTO settings (key, value) VALUES ('installation', lower(hex(randomblob(6))))
		ON CONFLICT (key) DO NOTHING;`,
}

// The statements of the writes of jobs, prepared once (writeStatements).
const (
	reserveIDsQuery = "UPDATE job_ids SET last = last + ? RETURNING last"
	insertJobQuery  = `INSERT INTO jobs (id, user, state, submitted, array_id, task_id, job) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`
	insertBriefQuery = "INSERT INTO briefs (id, brief) VALUES (?, ?)"
	bumpIDsQuery     = "UPDATE job_ids SET last = ? WHERE last < ?"
	selectJobQuery   = "SELECT job FROM jobs WHERE id = ?"
	updateJobQuery   = "UPDATE jobs SET user = ?, state = ?, submitted = ?, array_id = ?, task_id = ?, job = ? WHERE id = ?"
	updateBriefQuery = "UPDATE briefs SET brief = ? WHERE id = ?"
)

// backfill[v] runs in the transaction of migration v, after its SQL: the
// part of a migration that needs Go.
var backfill = map[int]func(ctx context.Context, tx *sql.Tx) error{
	6: backfillBrief,
}

// backfillBrief stores the brief of every job stored before migration 6.
func backfillBrief(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "SELECT id, job FROM jobs")
	if err != nil {
		return err
	}
	briefs := map[int64]string{}
	for rows.Next() {
		var (
			id  int64
			doc []byte
		)
		if err := rows.Scan(&id, &doc); err != nil {
			rows.Close()
			return err
		}
		j, err := decode(id, doc)
		if err != nil {
			rows.Close()
			return err
		}
		if briefs[id], err = encodeBrief(j); err != nil {
			rows.Close()
			return err
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	for id, b := range briefs {
		if _, err := tx.ExecContext(ctx, "INSERT INTO briefs (id, brief) VALUES (?, ?)", id, b); err != nil {
			return err
		}
	}
	return nil
}

// Pragmas of every connection.
//
// busy_timeout: how long a statement waits, in milliseconds, for a lock
// that another process (or another Store on the same file) holds.
//
// synchronous: whether a commit is flushed to the disk (FULL) or only
// written to the WAL (NORMAL), which is the store's Sync:
//
//   - store.SyncNormal, the default: a commit is in the kernel's cache
//     when it returns, and survives a crash of godockerd (kill -9, the OOM
//     killer), which is what acknowledging a job promises. flushLoop puts
//     the WAL on the disk every second, so a power loss or a crash of the
//     kernel can roll back the commits of the last second, never more,
//     and leaves the file consistent. Ids handed out never come back: a
//     reservation of ids is flushed at its commit (see synced).
//   - store.SyncFull: every commit is flushed before it returns, and a
//     power loss loses no acknowledged write. The fsync is most of what a
//     commit costs; writes share them (group commit, commit.go), but on
//     this project's 2-core reference machine the API still accepts a
//     third fewer jobs a second (BENCHMARKS.md).
//
// Slurm saves its state every few seconds (and loses acknowledged jobs
// if slurmctld is killed between two saves); Grid Engine's classic
// spooling writes files without flushing them. BenchmarkCreateJob and
// BenchmarkCreateJobParallel measure both levels.
func pragmas(sync store.Sync) string {
	return "_pragma=busy_timeout(10000)&_pragma=synchronous(" + level(sync == store.SyncFull) + ")"
}

// Open opens the store in the SQLite file at path, creating the file
// (mode 0600) and its directory (mode 0700) if missing, and migrating the
// schema to this version. o.Sync "" is store.SyncNormal.
func Open(ctx context.Context, path string, o store.Options) (*Store, error) {
	switch o.Sync {
	case "":
		o.Sync = store.SyncNormal
	case store.SyncNormal, store.SyncFull:
	default:
		return nil, fmt.Errorf("open sqlite store %s: sync %q is not %s or %s", path, o.Sync, store.SyncNormal, store.SyncFull)
	}
	s, err := open(ctx, path, o.Sync)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	return s, nil
}

func open(ctx context.Context, path string, sync store.Sync) (*Store, error) {
	if path == "" {
		return nil, errors.New("no path given")
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	// SQLite would create the file 0644 (less the umask); jobs carry their
	// owners' environments. The WAL and shared-memory files take the
	// database file's mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}

	// A URI, so that any byte of the path is allowed: '?' would otherwise
	// start the driver's parameters.
	uri := "file:" + (&url.URL{Path: filepath.ToSlash(path)}).EscapedPath() + "?" + pragmas(sync)

	s := &Store{path: path, sync: sync}
	s.w, err = sql.Open("sqlite", uri+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxIdleTime(0)
	s.w.SetConnMaxLifetime(0)
	if err := s.init(ctx); err != nil {
		s.w.Close()
		return nil, err
	}
	// At SyncNormal too, a migration, the installation id in particular,
	// must not be taken back by a power loss once containers carry it.
	if sync == store.SyncNormal {
		if err := flushFile(path + "-wal"); err != nil {
			s.w.Close()
			return nil, fmt.Errorf("flush the schema to the disk: %w", err)
		}
	}

	s.r, err = sql.Open("sqlite", uri+"&_pragma=query_only(1)")
	if err != nil {
		s.w.Close()
		return nil, err
	}
	n := max(4, runtime.GOMAXPROCS(0))
	s.r.SetMaxOpenConns(n)
	s.r.SetMaxIdleConns(n)
	s.prepareWrites(ctx)
	s.writes, s.quit, s.stopped = make(chan *write), make(chan struct{}), make(chan struct{})
	go s.commitLoop()
	if sync == store.SyncNormal {
		s.flushStopped = make(chan struct{})
		go s.flushLoop()
	}
	return s, nil
}

// init turns WAL on and migrates the schema.
func (s *Store) init(ctx context.Context) error {
	// journal_mode is persistent: set once, every later connection is in
	// WAL. SQLite answers with the mode it is in, which stays the old one
	// where WAL is impossible (a file system without shared memory, such as
	// NFS): refuse that rather than run without it.
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return fmt.Errorf("set WAL journal mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("set WAL journal mode: the file stays in %q mode (is it on a network file system?)", mode)
	}
	return s.migrate(ctx)
}

func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate schema: %w", err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(schema) {
		return fmt.Errorf("schema version %d is newer than this godockerd knows (%d): run a newer godockerd", version, len(schema))
	}
	if version == len(schema) {
		return nil
	}
	for v := version; v < len(schema); v++ {
		if _, err := tx.ExecContext(ctx, schema[v]); err != nil {
			return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
		}
		if fill := backfill[v+1]; fill != nil {
			if err := fill(ctx, tx); err != nil {
				return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
			}
		}
	}
	// PRAGMA takes no parameters; len(schema) is ours.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(schema))); err != nil {
		return fmt.Errorf("set schema version %d: %w", len(schema), err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate schema to version %d: %w", len(schema), err)
	}
	return nil
}

// Path returns the absolute path of the store's file.
func (s *Store) Path() string { return s.path }

// idBlock is how many ids NextID reserves with one write. Ids reserved
// and not handed out when the process ends are never used: after a
// restart, ids go on from the end of the last block.
const idBlock = 64

// NextID hands out the next id of the block this Store reserved, and
// reserves the next block when that one is used up. Ids increase in the
// order one Store hands them out; two Stores on the same file hand out
// ids of different blocks. Whether a reservation is flushed to the disk
// at its commit depends on the store's Sync: see synced in commit.go.
func (s *Store) NextID(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("reserve job id: %w", err)
	}
	s.idMu.Lock()
	defer s.idMu.Unlock()
	if s.idNext == s.idEnd {
		var last int64
		err := s.do(ctx, true, func(ctx context.Context, tx *sql.Tx) error {
			return s.txQueryRow(ctx, tx, reserveIDsQuery, idBlock).Scan(&last)
		})
		if err != nil {
			return 0, fmt.Errorf("reserve job ids: %w", err)
		}
		s.idNext, s.idEnd = last-idBlock+1, last+1
	}
	id := s.idNext
	s.idNext++
	return id, nil
}

// Setting returns the value stored under key, or "" if none is.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.queryRow(ctx, "SELECT value FROM settings WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read setting %s: %w", key, err)
	}
	return v, nil
}

// SetSetting stores value under key; "" removes it.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	var err error
	if value == "" {
		_, err = s.w.ExecContext(ctx, "DELETE FROM settings WHERE key = ?", key)
	} else {
		_, err = s.w.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value)
	}
	if err != nil {
		return fmt.Errorf("write setting %s: %w", key, err)
	}
	return nil
}

// CreateJob stores a new job. If its id is above the last one NextID
// handed out (a job imported from elsewhere), the counter moves past it.
func (s *Store) CreateJob(ctx context.Context, j *api.Job) error {
	if j == nil {
		return errors.New("create job: nil job")
	}
	if err := s.createJob(ctx, j); err != nil {
		return fmt.Errorf("create job %d: %w", j.ID, err)
	}
	return nil
}

func (s *Store) createJob(ctx context.Context, j *api.Job) error {
	if j.ID < 1 {
		return errors.New("job ids start at 1")
	}
	doc, err := json.Marshal(j)
	if err != nil {
		return err
	}
	brief, err := encodeBrief(j)
	if err != nil {
		return err
	}
	// An id that NextID handed out is under the stored counter already
	// (only an id from elsewhere moves it): one statement less.
	s.idMu.Lock()
	reserved := j.ID < s.idEnd
	s.idMu.Unlock()
	err = s.do(ctx, false, func(ctx context.Context, tx *sql.Tx) error {
		return s.insertJob(ctx, tx, j, doc, brief, reserved)
	})
	if err != nil {
		return err
	}
	// Past an id of the block, or beyond it: NextID goes on after it.
	s.idMu.Lock()
	defer s.idMu.Unlock()
	if j.ID >= s.idNext {
		s.idNext = j.ID + 1
		s.idEnd = max(s.idEnd, s.idNext)
	}
	return nil
}

// insertJob inserts j, and moves the id counter past its id unless
// reserved says the counter is past it already.
func (s *Store) insertJob(ctx context.Context, tx *sql.Tx, j *api.Job, doc []byte, brief string, reserved bool) error {
	res, err := s.txExec(ctx, tx,
		insertJobQuery,
		j.ID, j.User, string(j.State), unixNano(j), j.ArrayID, j.TaskID, string(doc))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return store.ErrExists
	}
	if _, err := s.txExec(ctx, tx, insertBriefQuery, j.ID, brief); err != nil {
		return err
	}
	if reserved {
		return nil
	}
	_, err = s.txExec(ctx, tx, bumpIDsQuery, j.ID, j.ID)
	return err
}

// Job returns the job with that id.
func (s *Store) Job(ctx context.Context, id int64) (*api.Job, error) {
	var doc []byte
	err := s.queryRow(ctx, "SELECT job FROM jobs WHERE id = ?", id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read job %d: %w", id, err)
	}
	j, err := decode(id, doc)
	if err != nil {
		return nil, fmt.Errorf("read job %d: %w", id, err)
	}
	return j, nil
}

// maxListParams is the longest list of values bound one parameter each;
// longer ones go as one JSON array, clear of SQLite's limit on parameters.
const maxListParams = 100

// Jobs returns the jobs that match q, in increasing id order.
func (s *Store) Jobs(ctx context.Context, q store.Query) ([]*api.Job, error) {
	query, args := jobsQuery(q)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	var jobs []*api.Job
	for rows.Next() {
		var (
			id  int64
			doc sql.RawBytes
		)
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		j, err := decode(id, doc)
		if err != nil {
			return nil, fmt.Errorf("list jobs: job %d: %w", id, err)
		}
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return jobs, nil
}

// UpdateJob applies fn to the job in one IMMEDIATE transaction on the
// writing connection. fn runs while that transaction is open, so it must
// be quick, and it must not call the Store's writing methods (they would
// wait for the connection fn's transaction holds); reading is fine.
func (s *Store) UpdateJob(ctx context.Context, id int64, fn func(*api.Job) error) (*api.Job, error) {
	j, err := s.updateJob(ctx, id, fn)
	var fnErr fnError
	if errors.As(err, &fnErr) {
		return nil, fnErr.err // unchanged, as store.Store promises
	}
	if err != nil {
		return nil, fmt.Errorf("update job %d: %w", id, err)
	}
	return j, nil
}

// fnError carries the error of UpdateJob's fn out of updateJob.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

func (s *Store) updateJob(ctx context.Context, id int64, fn func(*api.Job) error) (*api.Job, error) {
	var updated *api.Job
	err := s.do(ctx, false, func(ctx context.Context, tx *sql.Tx) error {
		j, err := s.updateRow(ctx, tx, id, fn)
		updated = j
		return err
	})
	if err != nil {
		return nil, err
	}
	// fn may have kept the job; what we hand back is the caller's own.
	return updated.Clone(), nil
}

// updateRow applies fn to job id's row in tx.
func (s *Store) updateRow(ctx context.Context, tx *sql.Tx, id int64, fn func(*api.Job) error) (*api.Job, error) {
	var doc []byte
	err := s.txQueryRow(ctx, tx, selectJobQuery, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	j, err := decode(id, doc)
	if err != nil {
		return nil, err
	}
	if err := fn(j); err != nil {
		return nil, fnError{err}
	}
	if j.ID != id {
		return nil, fmt.Errorf("the update changed the job's id to %d", j.ID)
	}
	if doc, err = json.Marshal(j); err != nil {
		return nil, err
	}
	brief, err := encodeBrief(j)
	if err != nil {
		return nil, err
	}
	if _, err := s.txExec(ctx, tx,
		updateJobQuery,
		j.User, string(j.State), unixNano(j), j.ArrayID, j.TaskID, string(doc), id); err != nil {
		return nil, err
	}
	if _, err := s.txExec(ctx, tx, updateBriefQuery, brief, id); err != nil {
		return nil, err
	}
	return j, nil
}

// Close stops committing and closes the store's connections. Writes
// under way are committed first; later ones fail.
func (s *Store) Close() error {
	var err error
	s.closing.Do(func() {
		close(s.quit)
		<-s.stopped
		if s.flushStopped != nil {
			<-s.flushStopped
		}
		s.stmtMu.Lock()
		for _, st := range s.stmts {
			err = errors.Join(err, st.Close())
		}
		s.stmtMu.Unlock()
		err = errors.Join(err, s.r.Close(), s.w.Close())
	})
	if err != nil {
		return fmt.Errorf("close sqlite store %s: %w", s.path, err)
	}
	return nil
}

// BriefJSON calls fn with the stored JSON of the Brief of each job that
// matches q, in increasing id order, without decoding it.
func (s *Store) BriefJSON(ctx context.Context, q store.Query, fn func(doc []byte) error) error {
	q.Brief = true
	query, args := jobsQuery(q)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id  int64
			doc sql.RawBytes
		)
		if err := rows.Scan(&id, &doc); err != nil {
			return fmt.Errorf("list jobs: %w", err)
		}
		if err := fn(doc); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	return nil
}

// encodeBrief is the JSON of j's Brief, as the brief column holds it.
func encodeBrief(j *api.Job) (string, error) {
	b, err := json.Marshal(j.Brief())
	return string(b), err
}

// jobsQuery returns the SELECT of the jobs that match q, and its
// arguments: their ids and whole JSON, or with q.Brief their briefs'.
func jobsQuery(q store.Query) (string, []any) {
	where, args := whereClause(q)
	query := "SELECT jobs.id, jobs.job FROM jobs" + where + " ORDER BY jobs.id"
	if q.Brief {
		// The ids come from the indexes of jobs, the briefs then in id
		// order: a join would sort the briefs themselves when the query
		// has several states or users.
		query = "SELECT id, brief FROM briefs ORDER BY id"
		if where != "" {
			query = "SELECT id, brief FROM briefs WHERE id IN (SELECT jobs.id FROM jobs" + where + ") ORDER BY id"
		}
	}
	if q.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, q.Limit)
	}
	return query, args
}

// whereClause is the WHERE part (with its leading blank) that selects q's
// jobs, shared by Jobs and Count.
func whereClause(q store.Query) (string, []any) {
	var (
		where []string
		args  []any
	)
	in := func(column string, n int, value func(int) any) {
		if n == 0 {
			return
		}
		if n == 1 {
			// = rather than IN (?): the index then yields id order.
			where = append(where, column+" = ?")
			args = append(args, value(0))
			return
		}
		if n > maxListParams {
			values := make([]any, n)
			for i := range n {
				values[i] = value(i)
			}
			array, _ := json.Marshal(values) // ints and strings
			where = append(where, column+" IN (SELECT value FROM json_each(?))")
			args = append(args, string(array))
			return
		}
		where = append(where, column+" IN (?"+strings.Repeat(", ?", n-1)+")")
		for i := range n {
			args = append(args, value(i))
		}
	}
	// Columns are named with their table: brief listings select from
	// briefs, which has an id too.
	in("jobs.id", len(q.IDs), func(i int) any { return q.IDs[i] })
	in("jobs.user", len(q.Users), func(i int) any { return q.Users[i] })
	in("jobs.state", len(q.States), func(i int) any { return string(q.States[i]) })
	in("jobs.array_id", len(q.Arrays), func(i int) any { return q.Arrays[i] })
	if len(q.Arrays) > 0 && !slices.Contains(q.Arrays, 0) {
		// Implied, but SQLite uses the partial index jobs_by_array_task
		// only when the query states its WHERE.
		where = append(where, "jobs.array_id != 0")
	}
	in("jobs.task_id", len(q.Tasks), func(i int) any { return q.Tasks[i] })
	if len(where) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(where, " AND "), args
}

// Count returns how many jobs match q, from the indexes alone.
func (s *Store) Count(ctx context.Context, q store.Query) (int, error) {
	where, args := whereClause(q)
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM jobs"+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count jobs: %w", err)
	}
	return n, nil
}

func decode(id int64, doc []byte) (*api.Job, error) {
	j := new(api.Job)
	// The JSON v2 decoder reads what encoding/json wrote (names as
	// tagged, valid UTF-8) two to three times faster: a scheduling pass
	// decodes every pending job.
	if err := jsonv2.Unmarshal(doc, j); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if j.ID != id {
		return nil, fmt.Errorf("decode: row %d holds job %d", id, j.ID)
	}
	return j, nil
}

func unixNano(j *api.Job) int64 {
	if j.Submitted.IsZero() {
		return 0
	}
	return j.Submitted.UnixNano()
}
