package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/godocker/godocker/store"
)

// Group commit. Jobs are created and updated one by one, by concurrent
// requests, and every commit has a fixed cost: its WAL frames, and at
// store.SyncFull one fsync of the WAL, which costs far more than the
// writes it covers (a quarter of a millisecond or more on a virtual disk,
// against tens of microseconds for inserting a job). So the writes of
// jobs go to one goroutine, which runs those that queued up meanwhile in
// one transaction, each in a savepoint of its own, and commits them at
// once. A write returns once the commit that holds it is as durable as
// the store's Sync promises; alone, it is committed alone.

// maxBatch bounds how many writes one commit holds: a bound on the time
// a transaction holds the write lock that other processes wait for.
const maxBatch = 128

// errClosed answers the writes that come after Close.
var errClosed = errors.New("the store is closed")

// write is one write of a batch.
type write struct {
	ctx context.Context
	// fn does the write in tx, with ctx for its statements.
	fn func(ctx context.Context, tx *sql.Tx) error
	// ids: the write reserves job ids (NextID's), which must never come
	// back, even after a power loss; see synced.
	ids  bool
	done chan error
}

// do runs fn in the next batch and returns its error, or the commit's.
// A write whose context ends before its batch runs is not done; once it
// has run, do waits for its commit whatever the context says, so that
// success is never reported for a write that was lost, nor failure for
// one that was kept.
func (s *Store) do(ctx context.Context, ids bool, fn func(ctx context.Context, tx *sql.Tx) error) error {
	w := &write{ctx: ctx, fn: fn, ids: ids, done: make(chan error, 1)}
	select {
	case s.writes <- w:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.quit:
		return errClosed
	}
	return <-w.done
}

// commitLoop runs batches until Close.
func (s *Store) commitLoop() {
	defer close(s.stopped)
	batch := make([]*write, 0, maxBatch)
	for {
		select {
		case w := <-s.writes:
			batch = append(batch[:0], w)
		case <-s.quit:
			return
		}
		if s.sync == store.SyncNormal {
			// A commit without an fsync takes less time than a request
			// takes to get to it: without a pause, batches would be of
			// one write, each paying a commit. Let the goroutines that
			// are about to write run first.
			runtime.Gosched()
		}
	gather:
		for len(batch) < maxBatch {
			select {
			case w := <-s.writes:
				batch = append(batch, w)
			default:
				break gather
			}
		}
		s.commit(batch)
		clear(batch)
	}
}

// commit runs batch in one transaction and tells each write how it went.
func (s *Store) commit(batch []*write) {
	errs := make([]error, len(batch))
	err := s.runBatch(batch, errs)
	for i, w := range batch {
		if errs[i] == nil {
			errs[i] = err
		}
		w.done <- errs[i]
	}
}

// runBatch runs the writes, recording the error of each in errs, and
// returns the error of the batch as a whole (beginning or committing it),
// which is also the error of every write that succeeded.
func (s *Store) runBatch(batch []*write, errs []error) (err error) {
	// The batch is everybody's: no one caller's context may cancel it.
	ctx := context.Background()
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if synced := s.synced(batch); synced != (s.sync == store.SyncFull) {
		// The connection's own level is the store's: back to it before
		// the connection serves another write.
		if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = "+level(synced)); err != nil {
			return err
		}
		defer func() {
			if _, serr := conn.ExecContext(ctx, "PRAGMA synchronous = "+level(!synced)); serr != nil {
				_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // never reuse it at the wrong level
				err = errors.Join(err, serr)
			}
		}()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	kept := 0
	for i, w := range batch {
		if err := w.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		var undone error
		if errs[i], undone = runSaved(w, tx, len(batch) > 1); undone != nil {
			// Its statements may be half in: commit nothing.
			return undone
		}
		if errs[i] == nil {
			kept++
		}
	}
	if kept == 0 {
		return nil // tx.Rollback, deferred
	}
	return tx.Commit()
}

// synced says whether batch is committed with an fsync (synchronous =
// FULL), before any of its writes is acknowledged.
//
// At SyncFull, every batch is, except one of id reservations only: a
// reservation is durable once anything written after it is (the WAL is
// flushed up to its end), in particular a job created with one of its
// ids, and one that no durable write followed can come back after a
// power loss only with ids under which no job was stored. Flushing every
// reservation would cost a submission an fsync more.
//
// At SyncNormal, only a batch that reserves ids is: no write is flushed
// at its commit, so nothing written after a reservation would make it
// durable, and a power loss could then take the counter back under ids
// whose jobs left directories, containers and accounting records. One
// reservation hands out idBlock ids: an fsync per idBlock submissions.
func (s *Store) synced(batch []*write) bool {
	for _, w := range batch {
		if w.ids != (s.sync == store.SyncFull) {
			return true
		}
	}
	return false
}

// level is the value of PRAGMA synchronous that commits with an fsync,
// or without.
func level(synced bool) string {
	if synced {
		return "FULL"
	}
	return "NORMAL"
}

// flushEvery is how often the WAL is flushed to the disk at SyncNormal:
// the most of acknowledged writes that a power loss can take.
const flushEvery = time.Second

// flushLoop flushes the WAL every flushEvery, at SyncNormal, until Close.
// SQLite flushes it only when it checkpoints (every thousand pages
// written), and the kernel writes dirty pages back only after half a
// minute: without it, jobs submitted to a quiet server would stay that
// long in memory only. An fsync with nothing to write costs next to
// nothing.
func (s *Store) flushLoop() {
	defer close(s.flushStopped)
	log := slog.Default().With("store", "sqlite", "path", s.path)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			if err := flushFile(s.path + "-wal"); err != nil {
				log.Error("cannot flush the write-ahead log to the disk: the writes of the last second would not survive a power loss; check the disk and the kernel's log", "err", err)
			}
		}
	}
}

// flushFile writes the file at path to the disk, if it exists. A
// variable, for tests.
var flushFile = func(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil // no WAL yet, or none left: nothing to flush
	}
	if err != nil {
		return err
	}
	err = f.Sync()
	return errors.Join(err, f.Close())
}

// runSaved runs one write of a batch, in a savepoint when it shares the
// transaction, so that its failure undoes only its own statements. undone
// is set when that undoing failed.
func runSaved(w *write, tx *sql.Tx, shared bool) (err, undone error) {
	ctx := context.WithoutCancel(w.ctx) // checked before; statements are not interrupted half-way
	if !shared {
		return w.fn(ctx, tx), nil
	}
	if _, err := tx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
		return err, nil
	}
	err = w.fn(ctx, tx)
	if err != nil {
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO w"); rerr != nil {
			return err, fmt.Errorf("undo a failed write: %w", rerr)
		}
	}
	if _, rerr := tx.ExecContext(ctx, "RELEASE w"); rerr != nil {
		return err, fmt.Errorf("release a write: %w", rerr)
	}
	return err, nil
}

// prepared returns db's prepared statement of query, preparing it the
// first time. The statements of the hot paths (a submission reads three
// rows and writes four) are parsed once, not at every call: parsing is a
// tenth of what a submission costs SQLite otherwise. database/sql
// prepares a statement again on each pooled connection it runs on.
func (s *Store) prepared(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	key := stmtKey{db, query}
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := s.stmts[key]; ok {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if s.stmts == nil {
		s.stmts = map[stmtKey]*sql.Stmt{}
	}
	s.stmts[key] = st
	return st, nil
}

type stmtKey struct {
	db    *sql.DB
	query string
}

// Statements that writes run in the transactions of batches. They are
// prepared once, before the first batch: the writing connection is the
// pool's only one, and a batch holds it.
var writeStatements = []string{
	reserveIDsQuery, insertJobQuery, insertBriefQuery, bumpIDsQuery,
	selectJobQuery, updateJobQuery, updateBriefQuery,
}

// prepareWrites prepares writeStatements on the writing connection. One
// that cannot be prepared (only a store held at an old schema version by
// the migration tests) runs unprepared, and fails then if it must.
func (s *Store) prepareWrites(ctx context.Context) {
	for _, q := range writeStatements {
		_, _ = s.prepared(ctx, s.w, q)
	}
}

// txExec runs one of writeStatements in tx.
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := s.writeStmt(query); st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

// txQueryRow runs one of writeStatements in tx.
func (s *Store) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if st := s.writeStmt(query); st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}

// writeStmt is query's statement prepared by prepareWrites, or nil.
func (s *Store) writeStmt(query string) *sql.Stmt {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	return s.stmts[stmtKey{s.w, query}]
}

// queryRow runs the read query as a statement prepared once.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := s.prepared(ctx, s.r, query)
	if err != nil {
		return s.r.QueryRowContext(ctx, query, args...) // reports the error again
	}
	return st.QueryRowContext(ctx, args...)
}
