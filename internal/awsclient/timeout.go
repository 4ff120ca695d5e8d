package awsclient

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// EnvAttemptTimeout bounds each attempt of every AWS call (a Go duration,
// e.g. "10s"). An attempt that takes longer is abandoned and retried like
// any transient error, so a hung connection costs one attempt, not the
// whole Lambda deadline (or, for the CLI, forever).
const EnvAttemptTimeout = "RAMPART_AWS_ATTEMPT_TIMEOUT"

// DefaultAttemptTimeout is the per-attempt bound when EnvAttemptTimeout is
// unset. Every call Rampart makes is a small control-plane request that
// AWS answers in well under a second.
const DefaultAttemptTimeout = 10 * time.Second

// AttemptTimeout reads EnvAttemptTimeout: its value, the default when it is
// unset, an error when it is not a positive duration.
func AttemptTimeout(getenv func(string) string) (time.Duration, error) {
	v := strings.TrimSpace(getenv(EnvAttemptTimeout))
	if v == "" {
		return DefaultAttemptTimeout, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s: %q is not a positive duration (e.g. 10s)", EnvAttemptTimeout, v)
	}
	return d, nil
}

// withAttemptBounds is the hook Load applies to every configuration: each
// attempt runs under its own timeout (from the environment), and
// responses that were cut short or cannot be parsed are retried.
func withAttemptBounds(cfg *aws.Config) error {
	d, err := AttemptTimeout(os.Getenv)
	if err != nil {
		return err
	}
	BoundAttempts(cfg, d)
	return nil
}

// BoundAttempts makes every client built from cfg abandon an attempt after
// d (and retry it while attempts remain), and retry truncated or malformed
// responses as transient errors.
func BoundAttempts(cfg *aws.Config, d time.Duration) {
	cfg.APIOptions = append(cfg.APIOptions, func(s *middleware.Stack) error {
		m := attemptTimeout{d: d}
		// After the retry middleware: each attempt gets its own clock.
		if err := s.Finalize.Insert(m, "Retry", middleware.After); err != nil {
			return s.Finalize.Add(m, middleware.After)
		}
		return nil
	})
	if next := cfg.Retryer; next != nil {
		cfg.Retryer = func() aws.Retryer { return wrapRetryer(next()) }
	}
}

// attemptTimeout runs the rest of one attempt (signing, sending, reading
// and parsing the response) under a deadline of its own.
type attemptTimeout struct{ d time.Duration }

func (attemptTimeout) ID() string { return "RampartAttemptTimeout" }

func (m attemptTimeout) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
	middleware.FinalizeOutput, middleware.Metadata, error,
) {
	actx, cancel := context.WithTimeout(ctx, m.d)
	// Every output Rampart reads is parsed in full inside the attempt; an
	// operation with a streaming body (S3 GetObject) would need its body
	// read before this returns, and Rampart calls none.
	defer cancel()
	out, md, err := next.HandleFinalize(actx, in)
	if err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		// The SDK reports a cancelled context as not retryable; this
		// attempt's own clock ran out while the caller's has not, which is
		// a transient failure like any dropped connection.
		err = &AttemptTimeoutError{Operation: middleware.GetOperationName(ctx), After: m.d, Cause: err.Error()}
	}
	return out, md, err
}

// AttemptTimeoutError is one attempt that took longer than its bound. It is
// retryable; it deliberately does not wrap the SDK's cancellation error,
// which is not.
type AttemptTimeoutError struct {
	Operation string
	After     time.Duration
	Cause     string
}

func (e *AttemptTimeoutError) Error() string {
	return fmt.Sprintf("%s: no answer within the per-attempt timeout of %s (%s)", e.Operation, e.After, e.Cause)
}

// RetryableError marks the error retryable for the SDK's retryer.
func (*AttemptTimeoutError) RetryableError() bool { return true }

// Timeout reports that this is a timeout.
func (*AttemptTimeoutError) Timeout() bool { return true }

// wrapRetryer adds truncated or malformed responses to what r retries: the
// SDK's retryables do not cover a body cut short (unexpected EOF) or one
// that does not parse (a smithy.DeserializationError, or the XML or JSON
// parser's syntax error that some protocols return as it is) of a successful
// response, though either is as
// transient as a dropped connection.
func wrapRetryer(r aws.Retryer) aws.Retryer {
	if v2, ok := r.(aws.RetryerV2); ok {
		return retryerV2{v2}
	}
	return retryer{r}
}

type retryer struct{ aws.Retryer }

func (r retryer) IsErrorRetryable(err error) bool {
	return Truncated(err) || r.Retryer.IsErrorRetryable(err)
}

type retryerV2 struct{ aws.RetryerV2 }

func (r retryerV2) IsErrorRetryable(err error) bool {
	return Truncated(err) || r.RetryerV2.IsErrorRetryable(err)
}

// Truncated reports whether err is a response that could not be read or
// parsed: a body shorter than announced, or one that is not valid JSON or
// XML. A cancelled call is never one.
func Truncated(err error) bool {
	var canceled *smithy.CanceledError
	if err == nil || errors.As(err, &canceled) {
		return false
	}
	// An error response (a 403 whose body does not parse, as moto sends
	// for some services) is the service's answer, not a cut-short one; the
	// retryable statuses (5xx, 429) are the SDK's own business.
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && status.HTTPStatusCode() >= 300 {
		return false
	}
	var de *smithy.DeserializationError
	var xmlErr *xml.SyntaxError
	var jsonErr *json.SyntaxError
	// The protocols wrap a body that could not be read in a
	// DeserializationError but return a parser's error as it is.
	return errors.As(err, &de) || errors.As(err, &xmlErr) || errors.As(err, &jsonErr) || errors.Is(err, io.ErrUnexpectedEOF)
}
