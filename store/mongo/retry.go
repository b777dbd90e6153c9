package mongo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"
)

// Transient errors. A replica set electing a new primary (a primary
// stepping down, a member restarting, a network partition) fails the
// operations in flight for a few seconds, up to a dozen. The driver
// retries a read or a write once on its own (retryReads, retryWrites);
// past that, every method of Store retries with back-off, as the original
// GoDocker did, until the operation succeeds, fails for good, the
// caller's context ends or retryBackoff.limit has passed.
//
// A write retried after an error may have been applied the first time.
// Each write of a job or project carries its own id (a fresh ObjectID),
// and the document keeps the ids of its last writes (ops, newest first),
// so that the retry can tell: an insert that meets a duplicate key finds
// its own id there and succeeds, and UpdateJob that finds its own id on
// the job knows its replace landed instead of applying fn a second time.
// A key's _id is its insert's id. A delete whose retry finds nothing to
// delete reports success: its earlier attempt did. Every other write
// (counters, settings, accounts) gives the same result applied twice;
// NextID applied twice skips an id, which is allowed.

// transientCodes are the server error codes of a primary that is stepping
// down, shutting down or unreachable: the driver's own list of retryable
// errors (x/mongo/driver's retryableCodes) and LegacyNotPrimary.
var transientCodes = []int{
	6,     // HostUnreachable
	7,     // HostNotFound
	89,    // NetworkTimeout
	91,    // ShutdownInProgress
	134,   // ReadConcernMajorityNotAvailableYet
	189,   // PrimarySteppedDown
	262,   // ExceededTimeLimit
	9001,  // SocketException
	10058, // LegacyNotPrimary
	10107, // NotWritablePrimary
	11600, // InterruptedAtShutdown
	11602, // InterruptedDueToReplStateChange
	13435, // NotPrimaryNoSecondaryOk
	13436, // NotPrimaryOrSecondary
}

// transientLabels are the labels the server and the driver put on errors
// worth trying again.
var transientLabels = []string{"NetworkError", "RetryableWriteError", "TransientTransactionError"}

// transient reports whether err is worth retrying: the deployment is
// electing a primary or could not be reached, rather than refusing the
// operation. The end of a context is never transient, even wrapped in a
// network error.
func transient(err error) bool {
	switch {
	case err == nil,
		errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, mongo.ErrClientDisconnected):
		return false
	}
	var labeled mongo.LabeledError
	if errors.As(err, &labeled) {
		for _, l := range transientLabels {
			if labeled.HasErrorLabel(l) {
				return true
			}
		}
	}
	var server mongo.ServerError
	if errors.As(err, &server) {
		for _, code := range transientCodes {
			if server.HasErrorCode(code) {
				return true
			}
		}
	}
	// No server answered within serverSelectionTimeoutMS (every member
	// down, or none primary yet), or a connection failed before the
	// driver could label the error.
	if errors.As(err, new(topology.ServerSelectionError)) || errors.As(err, new(topology.ConnectionError)) {
		return true
	}
	return false
}

// backoff is how retry waits between attempts: initial, doubling up to
// max, each wait drawn between half and all of that; no attempt starts
// after limit has passed since the first.
type backoff struct {
	initial, max, limit time.Duration
}

// retryBackoff outlasts an election (typically 10 to 12 seconds with the
// default electionTimeoutMillis and heartbeats) with room to spare.
var retryBackoff = backoff{initial: 50 * time.Millisecond, max: 2 * time.Second, limit: time.Minute}

// delay is the longest wait after the attempt-th failure (0: the first).
func (b backoff) delay(attempt int) time.Duration {
	d := b.initial
	for range attempt {
		if d >= b.max/2 {
			return b.max
		}
		d *= 2
	}
	return min(d, b.max)
}

// jitter draws a wait in [d/2, d], so that servers that failed together
// do not retry together.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// retry runs op until it succeeds or fails with an error that is not
// transient, waiting as b says between attempts, and returns op's last
// error. retried tells op that an earlier attempt failed with a transient
// error, so that a write may check whether it was applied after all.
// Every retry is logged at warning level, with what names the operation.
func retry(ctx context.Context, log *slog.Logger, b backoff, what string, op func(ctx context.Context, retried bool) error) error {
	start := time.Now()
	for attempt := 0; ; attempt++ {
		err := op(ctx, attempt > 0)
		if err == nil || !transient(err) {
			return err
		}
		wait := jitter(b.delay(attempt))
		if elapsed := time.Since(start); elapsed+wait > b.limit {
			return fmt.Errorf("%w (gave up after %s in %s)", err, attempts(attempt+1), elapsed.Round(time.Millisecond))
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return fmt.Errorf("%w (%s; the request's deadline leaves no time for another)", err, attempts(attempt+1))
		}
		log.Warn("mongo: transient error, retrying", "op", what, "attempt", attempt+1, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (%s; retrying stopped: %w)", err, attempts(attempt+1), context.Cause(ctx))
		case <-t.C:
		}
	}
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}
