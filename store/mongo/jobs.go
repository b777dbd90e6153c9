package mongo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
)

// jobDoc is a document of jobs: the fields queries filter on, copied from
// the job at every write, and the job itself (see encodeDoc).
type jobDoc struct {
	ID      int64  `bson:"_id"`
	User    string `bson:"user"`
	State   string `bson:"state"`
	ArrayID int64  `bson:"array_id"` // 0: not a task
	TaskID  int64  `bson:"task_id"`
	// Submitted is for people browsing with mongosh (milliseconds, UTC);
	// the job's own is in Job.
	Submitted time.Time `bson:"submitted,omitempty"`
	// Version counts the writes of the job: UpdateJob replaces version N
	// with N+1 only if no other write did first.
	Version int64 `bson:"version"`
	// Ops are the ids of the last writes of the job, newest first (see
	// retry.go).
	Ops []bson.ObjectID `bson:"ops"`
	Job bson.Raw        `bson:"job"`
}

// newJobDoc is the document of j at version, written by op after the
// writes prev (newest first).
func newJobDoc(j *api.Job, version int64, op bson.ObjectID, prev []bson.ObjectID) (*jobDoc, error) {
	raw, err := encodeDoc(j)
	if err != nil {
		return nil, err
	}
	return &jobDoc{
		ID:        j.ID,
		User:      j.User,
		State:     string(j.State),
		ArrayID:   j.ArrayID,
		TaskID:    j.TaskID,
		Submitted: j.Submitted,
		Version:   version,
		Ops:       pushOp(op, prev),
		Job:       raw,
	}, nil
}

// job decodes the job of d.
func (d *jobDoc) job() (*api.Job, error) {
	j := new(api.Job)
	if err := decodeDoc(d.Job, j); err != nil {
		return nil, err
	}
	if j.ID != d.ID {
		return nil, fmt.Errorf("decode: document %d holds job %d", d.ID, j.ID)
	}
	return j, nil
}

func idFilter(id any) bson.D { return bson.D{{Key: "_id", Value: id}} }

// versionFilter selects the document of id at version; version 0 is a
// document written without one (by hand, say).
func versionFilter(id any, version int64) bson.D {
	if version == 0 {
		return bson.D{{Key: "_id", Value: id}, {Key: "version", Value: bson.D{{Key: "$in", Value: bson.A{int64(0), nil}}}}}
	}
	return bson.D{{Key: "_id", Value: id}, {Key: "version", Value: version}}
}

// NextID reserves a job id: one more than the last one handed out, from
// the counters document {_id: "jobs"} incremented atomically. A retry
// after an error may skip ids; it never repeats one.
func (s *Store) NextID(ctx context.Context) (int64, error) {
	var c counterDoc
	err := s.retry(ctx, "reserve job id", func(ctx context.Context, _ bool) error {
		return s.counters.FindOneAndUpdate(ctx, idFilter(jobCounter),
			bson.D{{Key: "$inc", Value: bson.D{{Key: "seq", Value: int64(1)}}}},
			options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&c)
	})
	if err != nil {
		return 0, fmt.Errorf("reserve job id: %w", err)
	}
	return c.Seq, nil
}

// CreateJob stores a new job. If its id is above the last one NextID
// handed out (a job imported from elsewhere), the counter moves past it
// first, so that NextID never hands out a stored job's id.
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
	op := bson.NewObjectID()
	d, err := newJobDoc(j, 1, op, nil)
	if err != nil {
		return err
	}
	return s.retry(ctx, "create job", func(ctx context.Context, retried bool) error {
		if err := s.raiseCounter(ctx, j.ID); err != nil {
			return err
		}
		_, err := s.jobs.InsertOne(ctx, d)
		if mongo.IsDuplicateKeyError(err) {
			if retried && s.landed(ctx, s.jobs, idFilter(j.ID), op) {
				return nil
			}
			return store.ErrExists
		}
		return err
	})
}

// maxOps is how many write ids a document keeps: enough that a write
// retried within seconds finds its id even if others wrote since.
const maxOps = 8

// pushOp returns op followed by the newest of prev, at most maxOps ids.
func pushOp(op bson.ObjectID, prev []bson.ObjectID) []bson.ObjectID {
	return append([]bson.ObjectID{op}, prev[:min(len(prev), maxOps-1)]...)
}

// landed reports whether the document filter selects was written by op:
// whether a write retried after a transient error had been applied.
func (s *Store) landed(ctx context.Context, coll *mongo.Collection, filter bson.D, op bson.ObjectID) bool {
	var d struct {
		Ops []bson.ObjectID `bson:"ops"`
	}
	err := coll.FindOne(ctx, filter, options.FindOne().SetProjection(bson.D{{Key: "ops", Value: 1}})).Decode(&d)
	return err == nil && slices.Contains(d.Ops, op)
}

// Job returns the job with that id.
func (s *Store) Job(ctx context.Context, id int64) (*api.Job, error) {
	var d jobDoc
	err := s.retry(ctx, "read job", func(ctx context.Context, _ bool) error {
		return s.jobs.FindOne(ctx, idFilter(id)).Decode(&d)
	})
	if errors.Is(err, mongo.ErrNoDocuments) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read job %d: %w", id, err)
	}
	j, err := d.job()
	if err != nil {
		return nil, fmt.Errorf("read job %d: %w", id, err)
	}
	return j, nil
}

// Jobs returns the jobs that match q, in increasing id order.
func (s *Store) Jobs(ctx context.Context, q store.Query) ([]*api.Job, error) {
	f := findJobs(q)
	var jobs []*api.Job
	err := s.retry(ctx, "list jobs", func(ctx context.Context, _ bool) error {
		jobs = nil
		cur, err := s.jobs.Find(ctx, f.Filter, f.options())
		if err != nil {
			return err
		}
		defer cur.Close(ctx)
		for cur.Next(ctx) {
			var d jobDoc
			if err := cur.Decode(&d); err != nil {
				return err
			}
			j, err := d.job()
			if err != nil {
				return fmt.Errorf("job %d: %w", d.ID, err)
			}
			jobs = append(jobs, j)
		}
		return cur.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return jobs, nil
}

// Count returns how many jobs match q, from the indexes where one serves.
func (s *Store) Count(ctx context.Context, q store.Query) (int, error) {
	var n int64
	err := s.retry(ctx, "count jobs", func(ctx context.Context, _ bool) error {
		var err error
		n, err = s.jobs.CountDocuments(ctx, jobsFilter(q))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("count jobs: %w", err)
	}
	return int(n), nil
}

// UpdateJob applies fn to the job without a transaction, by optimistic
// concurrency (see update): fn may run more than once, each time on a
// fresh copy of the stored job, and only the last run's changes are
// written, so fn must not depend on running once (counting its calls,
// say). If fn fails nothing is written and UpdateJob returns fn's error
// unchanged.
func (s *Store) UpdateJob(ctx context.Context, id int64, fn func(*api.Job) error) (*api.Job, error) {
	j, err := update(ctx, s, "update job", s.jobs, id, jobCodec, fn, func(j *api.Job) error {
		if j.ID != id {
			return fmt.Errorf("the update changed the job's id to %d", j.ID)
		}
		return nil
	})
	var fnErr fnError
	if errors.As(err, &fnErr) {
		return nil, fnErr.err // unchanged, as store.Store promises
	}
	if err != nil {
		return nil, fmt.Errorf("update job %d: %w", id, err)
	}
	return j, nil
}

// jobCodec reads and writes jobs for update.
var jobCodec = codec[api.Job]{
	decode: func(raw bson.Raw) (*api.Job, int64, []bson.ObjectID, error) {
		var d jobDoc
		if err := bson.Unmarshal(raw, &d); err != nil {
			return nil, 0, nil, fmt.Errorf("decode: %w", err)
		}
		j, err := d.job()
		return j, d.Version, d.Ops, err
	},
	encode: func(j *api.Job, version int64, ops []bson.ObjectID) (any, error) {
		d, err := newJobDoc(j, version, ops[0], ops[1:])
		return d, err
	},
	clone: (*api.Job).Clone,
}

// codec is how update reads a document of T with its version and write
// ids, and writes one.
type codec[T any] struct {
	decode func(bson.Raw) (v *T, version int64, ops []bson.ObjectID, err error)
	// encode is the document of v at version, ops[0] the write's id.
	encode func(v *T, version int64, ops []bson.ObjectID) (any, error)
	clone  func(*T) *T
}

// fnError carries the error of UpdateJob's or UpdateProject's fn out of
// update, whose retries take no error of this type for transient.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// update applies fn to the document of id in coll atomically, without a
// transaction: it reads the document at version N, applies fn to what it
// holds, and replaces it only if it is still at version N (the filter
// {_id, version: N}), writing version N+1. If another write came first,
// it starts again from that one. check refuses what fn must not change.
// It returns store.ErrNotFound if there is no such document, fn's error
// as a fnError, and else what it stored, a copy of its own.
//
// A replace that failed with a transient error may have been applied;
// the retry then finds the replace's id among the document's ops, and
// returns the document as stored rather than apply fn a second time.
func update[T any](ctx context.Context, s *Store, what string, coll *mongo.Collection, id any, c codec[T], fn, check func(*T) error) (*T, error) {
	var (
		result  *T
		pending bson.ObjectID // the id of our last replace that failed transiently
	)
	err := s.retry(ctx, what, func(ctx context.Context, _ bool) error {
		for {
			raw, err := coll.FindOne(ctx, idFilter(id)).Raw()
			if errors.Is(err, mongo.ErrNoDocuments) {
				return store.ErrNotFound
			}
			if err != nil {
				return err
			}
			v, version, ops, err := c.decode(raw)
			if err != nil {
				return err
			}
			if !pending.IsZero() && slices.Contains(ops, pending) {
				result = v // our replace landed, maybe others since
				return nil
			}
			if err := fn(v); err != nil {
				return fnError{err}
			}
			if err := check(v); err != nil {
				return err
			}
			op := bson.NewObjectID()
			doc, err := c.encode(v, version+1, pushOp(op, ops))
			if err != nil {
				return err
			}
			res, err := coll.ReplaceOne(ctx, versionFilter(id, version), doc)
			if err != nil {
				if transient(err) {
					pending = op
				}
				return err
			}
			if res.MatchedCount == 1 {
				// fn may have kept v; what we hand back is the caller's own.
				result = c.clone(v)
				return nil
			}
			// Another write came first: start again from it.
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}

// jobsFind is how Jobs finds the jobs of a store.Query.
type jobsFind struct {
	Filter bson.D
	Sort   bson.D
	Limit  int64 // 0: none
}

// findJobs is the find command of q: its filter (jobsFilter), in id
// order, at most q.Limit jobs.
func findJobs(q store.Query) jobsFind {
	f := jobsFind{Filter: jobsFilter(q), Sort: bson.D{{Key: "_id", Value: 1}}}
	if q.Limit > 0 {
		f.Limit = int64(q.Limit)
	}
	return f
}

// options are the driver's options of f.
func (f jobsFind) options() *options.FindOptionsBuilder {
	o := options.Find().SetSort(f.Sort)
	if f.Limit > 0 {
		o.SetLimit(f.Limit)
	}
	return o
}

// jobsFilter is the filter that selects q's jobs, shared by Jobs and
// Count: one condition per field q sets, in the order of the fields of
// the indexes (user before state), equality for one value (which the
// indexes turn into id order without a sort), $in for several.
func jobsFilter(q store.Query) bson.D {
	f := bson.D{}
	add := func(field string, values bson.A) {
		switch len(values) {
		case 0:
		case 1:
			f = append(f, bson.E{Key: field, Value: values[0]})
		default:
			f = append(f, bson.E{Key: field, Value: bson.D{{Key: "$in", Value: values}}})
		}
	}
	add("_id", values(q.IDs, func(v int64) any { return v }))
	add("user", values(q.Users, func(v string) any { return v }))
	add("state", values(q.States, func(v api.State) any { return string(v) }))
	add("array_id", values(q.Arrays, func(v int64) any { return v }))
	add("task_id", values(q.Tasks, func(v int64) any { return v }))
	return f
}

func values[T any](vs []T, conv func(T) any) bson.A {
	if len(vs) == 0 {
		return nil
	}
	a := make(bson.A, len(vs))
	for i, v := range vs {
		a[i] = conv(v)
	}
	return a
}
