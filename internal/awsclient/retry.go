package awsclient

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// Attempts records the attempts of the AWS calls made under a context (see
// WithAttempts), so that a caller can tell a genuine "nothing to do" from a
// retry's answer: when the SDK retries a mutating call whose first attempt
// got no answer (a lost or cut response, a timeout, a 5xx that is not
// throttling), the first attempt may have done the work, and the retry's
// "not found / already so" is then about Rampart's own change.
type Attempts struct {
	mu    sync.Mutex
	calls []*Call
}

// Call is one SDK operation with its attempts.
type Call struct {
	Service, Operation string
	Attempts           int
	// Unanswered counts the attempts that ended without an answer proving
	// the service did nothing.
	Unanswered int
}

// Mutating reports whether the operation may change state: everything but
// Describe*, List*, Get* and Head*.
func (c *Call) Mutating() bool {
	for _, p := range []string{"Describe", "List", "Get", "Head"} {
		if strings.HasPrefix(c.Operation, p) {
			return false
		}
	}
	return true
}

// RetriedBlind reports whether the call was attempted again after an
// attempt that may have done the work.
func (c *Call) RetriedBlind() bool { return c.Unanswered > 0 && c.Attempts > 1 }

type attemptsKey struct{}
type callKey struct{}

// WithAttempts returns a context whose AWS calls are recorded in the
// Attempts returned (sessions built by Load record them).
func WithAttempts(ctx context.Context) (context.Context, *Attempts) {
	a := &Attempts{}
	return context.WithValue(ctx, attemptsKey{}, a), a
}

// Calls are the calls recorded so far, oldest first.
func (a *Attempts) Calls() []Call {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Call, len(a.calls))
	for i, c := range a.calls {
		out[i] = *c
	}
	return out
}

// MutationRetriedBlind reports whether a mutating call was retried after an
// attempt that may have done the work, and names it ("ec2 RevokeSecurityGroupIngress").
func (a *Attempts) MutationRetriedBlind() (string, bool) {
	if a == nil {
		return "", false
	}
	for _, c := range a.Calls() {
		if c.Mutating() && c.RetriedBlind() {
			return c.Service + " " + c.Operation, true
		}
	}
	return "", false
}

// attemptCounter adds two finalize middlewares around the SDK's retry loop:
// one before it opens a Call per operation, one after it counts each attempt.
func attemptCounter(stack *middleware.Stack) error {
	open := middleware.FinalizeMiddlewareFunc("RampartCallRecorder", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		a, ok := ctx.Value(attemptsKey{}).(*Attempts)
		if !ok {
			return next.HandleFinalize(ctx, in)
		}
		c := &Call{Service: awsmiddleware.GetServiceID(ctx), Operation: awsmiddleware.GetOperationName(ctx)}
		a.mu.Lock()
		a.calls = append(a.calls, c)
		a.mu.Unlock()
		return next.HandleFinalize(context.WithValue(ctx, callKey{}, c), in)
	})
	count := middleware.FinalizeMiddlewareFunc("RampartAttemptCounter", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		out, md, err := next.HandleFinalize(ctx, in)
		a, _ := ctx.Value(attemptsKey{}).(*Attempts)
		if c, ok := ctx.Value(callKey{}).(*Call); ok && a != nil {
			a.mu.Lock()
			c.Attempts++
			if err != nil && mayHaveActed(err) {
				c.Unanswered++
			}
			a.mu.Unlock()
		}
		return out, md, err
	})
	if err := stack.Finalize.Insert(open, (&retry.Attempt{}).ID(), middleware.Before); err != nil {
		return err
	}
	return stack.Finalize.Insert(count, (&retry.Attempt{}).ID(), middleware.After)
}

// mayHaveActed reports whether a failed attempt may nonetheless have been
// carried out by the service: it got no answer (the request may have arrived
// and the response been lost), a cut or unreadable answer, or a server
// error that is not throttling. A refused connection, a throttle and any
// other answered error (4xx) mean the service did nothing.
func mayHaveActed(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false // never sent
	}
	var status interface{ HTTPStatusCode() int }
	if !errors.As(err, &status) {
		return true // no HTTP answer at all
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return true // an answer that could not be read
	}
	if _, throttle := retry.DefaultThrottleErrorCodes[apiErr.ErrorCode()]; throttle {
		return false
	}
	return status.HTTPStatusCode() >= 500
}
