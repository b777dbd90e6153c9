package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
)

// Group commit. SQLite makes a commit durable with one fsync of the WAL,
// which costs far more than the writes it covers (a quarter of a
// millisecond or more on a virtual disk, against tens of microseconds
// for inserting a job). Jobs are created and updated one by one, by
// concurrent requests: each write waits for its own fsync, and the disk's
// latency caps the submission rate. So the writes of jobs go to one
// goroutine, which runs those that queued up meanwhile in one
// transaction, each in a savepoint of its own, and commits them with one
// fsync. A write returns once the commit that holds it is durable, as
// before; alone, it is committed alone, as before.

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
	// light: the write need not be durable at once (NextID's, see there).
	// A batch of light writes only is committed without an fsync.
	light bool
	done  chan error
}

// do runs fn in the next batch and returns its error, or the commit's.
// A write whose context ends before its batch runs is not done; once it
// has run, do waits for its commit whatever the context says, so that
// success is never reported for a write that was lost, nor failure for
// one that was kept.
func (s *Store) do(ctx context.Context, light bool, fn func(ctx context.Context, tx *sql.Tx) error) error {
	w := &write{ctx: ctx, fn: fn, light: light, done: make(chan error, 1)}
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
	light := true
	for _, w := range batch {
		light = light && w.light
	}
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if light {
		// Back to FULL before the connection serves another write.
		if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
			return err
		}
		defer func() {
			if _, serr := conn.ExecContext(ctx, "PRAGMA synchronous = FULL"); serr != nil {
				_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // never reuse it at NORMAL
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
