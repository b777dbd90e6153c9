package mongo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/godocker/godocker/store"
)

func TestTransient(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain error", errors.New("boom"), false},
		{"canceled", context.Canceled, false},
		{"deadline, wrapped", fmt.Errorf("read job 3: %w", context.DeadlineExceeded), false},
		{"network error of a canceled context", mongo.CommandError{Labels: []string{"NetworkError"}, Wrapped: context.Canceled}, false},
		{"client closed", mongo.ErrClientDisconnected, false},
		{"no document", mongo.ErrNoDocuments, false},
		{"store.ErrNotFound", store.ErrNotFound, false},
		{"fn's error", fnError{errors.New("job 3 is not running")}, false},
		{"duplicate key", mongo.WriteException{WriteErrors: mongo.WriteErrors{{Code: 11000, Message: "E11000 duplicate key"}}}, false},
		{"unauthorized", mongo.CommandError{Code: 13, Name: "Unauthorized"}, false},
		{"max time expired", mongo.CommandError{Code: 50, Name: "MaxTimeMSExpired"}, false},
		{"document too large", mongo.CommandError{Code: 10334, Name: "BSONObjectTooLarge"}, false},
		{"write concern timeout", mongo.WriteException{WriteConcernError: &mongo.WriteConcernError{Code: 64, Name: "WriteConcernFailed"}}, false},

		{"NotWritablePrimary", mongo.CommandError{Code: 10107, Name: "NotWritablePrimary"}, true},
		{"NotPrimaryNoSecondaryOk", mongo.CommandError{Code: 13435}, true},
		{"NotPrimaryOrSecondary", mongo.CommandError{Code: 13436}, true},
		{"LegacyNotPrimary", mongo.CommandError{Code: 10058}, true},
		{"PrimarySteppedDown", mongo.CommandError{Code: 189}, true},
		{"InterruptedDueToReplStateChange", mongo.CommandError{Code: 11602}, true},
		{"InterruptedAtShutdown", mongo.CommandError{Code: 11600}, true},
		{"ShutdownInProgress", mongo.CommandError{Code: 91}, true},
		{"HostUnreachable", mongo.CommandError{Code: 6}, true},
		{"HostNotFound", mongo.CommandError{Code: 7}, true},
		{"NetworkTimeout", mongo.CommandError{Code: 89}, true},
		{"SocketException", mongo.CommandError{Code: 9001}, true},
		{"ExceededTimeLimit", mongo.CommandError{Code: 262}, true},
		{"ReadConcernMajorityNotAvailableYet", mongo.CommandError{Code: 134}, true},
		{"network error", mongo.CommandError{Labels: []string{"NetworkError"}, Wrapped: errors.New("connection reset by peer")}, true},
		{"RetryableWriteError label", mongo.CommandError{Code: 1234, Labels: []string{"RetryableWriteError"}}, true},
		{"TransientTransactionError label", mongo.CommandError{Code: 251, Labels: []string{"TransientTransactionError"}}, true},
		{"write exception labelled", mongo.WriteException{Labels: []string{"RetryableWriteError"}}, true},
		{"write concern error of a step-down", mongo.WriteException{WriteConcernError: &mongo.WriteConcernError{Code: 189, Name: "PrimarySteppedDown"}}, true},
		{"wrapped step-down", fmt.Errorf("update job 3: %w", mongo.CommandError{Code: 10107}), true},
		{"server selection timeout", topology.ServerSelectionError{Wrapped: errors.New("server selection timeout")}, true},
		{"server selection cut by the context", topology.ServerSelectionError{Wrapped: context.DeadlineExceeded}, false},
		{"connection error", topology.ConnectionError{Wrapped: errors.New("dial tcp: connection refused")}, true},
	} {
		if got := transient(tt.err); got != tt.want {
			t.Errorf("transient(%s: %v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestBackoffDelay(t *testing.T) {
	b := backoff{initial: 50 * time.Millisecond, max: 2 * time.Second, limit: time.Minute}
	want := []time.Duration{50, 100, 200, 400, 800, 1600, 2000, 2000}
	for i, w := range want {
		if got := b.delay(i); got != w*time.Millisecond {
			t.Errorf("delay(%d) = %v, want %v", i, got, w*time.Millisecond)
		}
	}
	if got := b.delay(1000); got != b.max {
		t.Errorf("delay(1000) = %v, want the cap %v", got, b.max)
	}
	for range 1000 {
		if d := jitter(time.Second); d < time.Second/2 || d > time.Second {
			t.Fatalf("jitter(1s) = %v, want within [500ms, 1s]", d)
		}
	}
	if retryBackoff.limit < 30*time.Second {
		t.Errorf("retryBackoff gives up after %v, shorter than an election may take", retryBackoff.limit)
	}
}

var (
	stepDown = mongo.CommandError{Code: 10107, Name: "NotWritablePrimary", Message: "not primary"}
	fast     = backoff{initial: time.Millisecond, max: 5 * time.Millisecond, limit: time.Minute}
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestRetrySucceedsAfterTransientErrors(t *testing.T) {
	var (
		logs    bytes.Buffer
		retried []bool
	)
	log := slog.New(slog.NewTextHandler(&logs, nil))
	err := retry(t.Context(), log, fast, "update job", func(ctx context.Context, r bool) error {
		retried = append(retried, r)
		if len(retried) < 3 {
			return fmt.Errorf("replace: %w", stepDown)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("retry = %v", err)
	}
	if want := []bool{false, true, true}; fmt.Sprint(retried) != fmt.Sprint(want) {
		t.Errorf("op saw retried = %v, want %v", retried, want)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 2 || !strings.Contains(logs.String(), `op="update job"`) {
		t.Errorf("logged %d warnings, want 2 naming the operation:\n%s", n, logs.String())
	}
}

func TestRetryStopsAtPermanentErrors(t *testing.T) {
	for _, want := range []error{store.ErrNotFound, fnError{errors.New("not allowed")}, mongo.ErrNoDocuments, context.Canceled} {
		calls := 0
		err := retry(t.Context(), discard(), fast, "op", func(context.Context, bool) error {
			calls++
			return want
		})
		if !errors.Is(err, want) || calls != 1 {
			t.Errorf("retry of %v = %v after %d calls, want it once, unchanged", want, err, calls)
		}
	}
	// fn's error comes back as the same value, so that UpdateJob can
	// hand it back unchanged.
	boom := fnError{errors.New("boom")}
	if err := retry(t.Context(), discard(), fast, "op", func(context.Context, bool) error { return boom }); err != error(boom) {
		t.Errorf("retry changed fn's error: %v", err)
	}
}

// TestRetryBoundedByContext: retrying stops when the caller's context
// ends, soon after and not at the back-off's limit.
func TestRetryBoundedByContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	calls := 0
	start := time.Now()
	err := retry(ctx, discard(), backoff{initial: time.Millisecond, max: 20 * time.Millisecond, limit: time.Hour}, "op", func(context.Context, bool) error {
		calls++
		return stepDown
	})
	elapsed := time.Since(start)
	if err == nil || !errors.As(err, new(mongo.CommandError)) {
		t.Fatalf("retry = %v, want the last transient error", err)
	}
	if calls < 2 {
		t.Errorf("%d calls, want retries before the deadline", calls)
	}
	if elapsed > 2*time.Second {
		t.Errorf("retry took %v with a 200ms deadline", elapsed)
	}
	t.Logf("%d attempts in %v: %v", calls, elapsed, err)
}

// TestRetryDoesNotWaitPastDeadline: a wait longer than the time left
// ends the retries at once.
func TestRetryDoesNotWaitPastDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	start := time.Now()
	err := retry(ctx, discard(), backoff{initial: 2 * time.Minute, max: 2 * time.Minute, limit: time.Hour}, "op", func(context.Context, bool) error {
		return stepDown
	})
	if err == nil || !strings.Contains(err.Error(), "deadline leaves no time") {
		t.Errorf("retry = %v", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("retry waited %v", time.Since(start))
	}
}

func TestRetryStopsWhenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	calls := 0
	err := retry(ctx, discard(), backoff{initial: time.Hour, max: time.Hour, limit: 2 * time.Hour}, "op", func(context.Context, bool) error {
		calls++
		cancel() // the client went away while the first attempt ran
		return stepDown
	})
	if !errors.Is(err, context.Canceled) || !errors.As(err, new(mongo.CommandError)) || calls != 1 {
		t.Errorf("retry = %v after %d calls, want the step-down and context.Canceled after 1", err, calls)
	}
}

// TestRetryLimit: without a deadline, retrying stops at the back-off's
// limit.
func TestRetryLimit(t *testing.T) {
	start := time.Now()
	calls := 0
	err := retry(context.Background(), discard(), backoff{initial: time.Millisecond, max: 10 * time.Millisecond, limit: 100 * time.Millisecond}, "op", func(context.Context, bool) error {
		calls++
		return stepDown
	})
	if err == nil || !strings.Contains(err.Error(), "gave up after") || !errors.As(err, new(mongo.CommandError)) {
		t.Errorf("retry = %v", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second || calls < 2 {
		t.Errorf("%d calls in %v", calls, elapsed)
	}
}
