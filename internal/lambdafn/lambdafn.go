// Package lambdafn is the few lines every Rampart Lambda shares: read the
// configuration from the environment, build the AWS session (from the
// environment Lambda provides, with no credential chain and no I/O) and the
// engine once per cold start, and hand each invocation to the engine.
//
// It owns the Lambda contract only (what is returned, what is an error);
// all decisions are the engine's.
package lambdafn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// Response is what an invocation returns: the decisions, or the reason the
// payload was rejected.
type Response struct {
	Decisions any    `json:"decisions"`
	Rejected  string `json:"rejected,omitempty"`
}

// Start runs the function's rules as a Lambda handler. A configuration error
// stops the cold start: a misconfigured deployment must fail loudly, not
// enforce something nobody asked for.
func Start(rules ...rule.Rule) {
	h, err := New(context.Background(), os.Getenv, rules...)
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("cold start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Invoke)
}

// Handler handles invocations with one engine.
type Handler struct {
	Engine *engine.Engine
	// Session is the engine's session. Unless AWS_ACCOUNT_ID named its
	// account, the first invocation sets it from the invoked function's ARN
	// (see identify).
	Session *awsclient.Session

	mu         sync.Mutex
	identified bool
}

// New builds the handler from the environment. It makes no AWS call and no
// other I/O: the session is LoadLambda's (environment credentials, no
// credential chain), and the account is learnt from the first invocation.
func New(ctx context.Context, getenv func(string) string, rules ...rule.Rule) (*Handler, error) {
	cfg, err := engine.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	sess, err := awsclient.LoadLambda(getenv)
	if err != nil {
		return nil, err
	}
	e, err := engine.New(cfg, sess, rules...)
	if err != nil {
		return nil, err
	}
	if e.SweepConcurrency, err = engine.SweepConcurrencyFromEnv(getenv); err != nil {
		return nil, err
	}
	e.Log = lambdacontext.NewLogger()
	return &Handler{Engine: e, Session: sess}, nil
}

// identify makes sure the session knows its account and partition before
// the first decision, and repeats the engine's checks that need them (own
// roles in the deployment's account). A Lambda's execution role is in the
// function's account, which the invoked function's ARN names: no
// sts:GetCallerIdentity call. Without an ARN in the context (not a Lambda
// invocation) it asks STS. A failure fails the invocation, loudly, and the
// next one tries again.
func (h *Handler) identify(ctx context.Context) error {
	h.mu.Lock() // invocations may run concurrently (Lambda managed instances)
	defer h.mu.Unlock()
	if h.identified || h.Session == nil {
		return nil
	}
	if h.Session.Account == "" {
		lc, ok := lambdacontext.FromContext(ctx)
		switch {
		case ok && lc.InvokedFunctionArn != "":
			a, err := arn.Parse(lc.InvokedFunctionArn)
			if err != nil || a.Service != "lambda" {
				return fmt.Errorf("resolve the session's account: invoked function ARN %q is not a Lambda function's", lc.InvokedFunctionArn)
			}
			if err := h.Session.SetIdentity(a.AccountID, a.Partition); err != nil {
				return err
			}
		default:
			if err := h.Session.ResolveIdentity(ctx); err != nil {
				return err
			}
		}
	}
	if err := h.Engine.CheckSession(); err != nil {
		return err
	}
	h.identified = true
	return nil
}

// Invoke handles one payload. Bad input is reported and ends the invocation
// cleanly (retrying cannot fix it); a failed remediation is returned as an
// error so EventBridge or Config retries and the dead-letter queue keeps it.
func (h *Handler) Invoke(ctx context.Context, raw json.RawMessage) (*Response, error) {
	if err := h.identify(ctx); err != nil {
		return nil, err
	}
	res, err := h.Engine.Handle(ctx, raw)
	switch {
	case errors.Is(err, trigger.ErrInput):
		h.Engine.Log.ErrorContext(ctx, "rejected", "error", err.Error())
		if h.Engine.Metrics != nil { // counted and alarmed: a rejected payload must not vanish
			if werr := report.WriteEvent(h.Engine.Metrics, time.Now(), report.MetricRejected, "", 1); werr != nil {
				h.Engine.Log.WarnContext(ctx, "metrics", "error", werr.Error())
			}
		}
		return &Response{Decisions: []any{}, Rejected: err.Error()}, nil
	case errors.Is(err, engine.ErrFailed):
		return nil, fmt.Errorf("%w: %s", err, summary(res))
	case err != nil:
		return nil, err
	}
	return &Response{Decisions: res.Decisions}, nil
}

// maxFailedIDs bounds the failing resources an error names.
const maxFailedIDs = 20

// summary is the bounded account of a failed invocation that goes back to
// Lambda (and with the event to the dead-letter queue): counts per verdict
// and action outcome, the failing resources (at most maxFailedIDs), and
// the first failure's error. Every decision is in the log in full.
func summary(res *engine.Result) string {
	if res == nil {
		return ""
	}
	verdicts, outcomes := map[string]int{}, map[string]int{}
	var failed []string
	firstErr := ""
	for i := range res.Decisions {
		d := &res.Decisions[i]
		verdicts[string(d.Verdict)]++
		for _, a := range d.Actions {
			outcomes[string(a.Outcome)]++
		}
		if !d.Failed() {
			continue
		}
		if len(failed) < maxFailedIDs {
			failed = append(failed, report.Truncate(d.Resource, 128)+" ("+d.Rule+")")
		}
		if firstErr == "" {
			firstErr = d.Error
			for _, a := range d.Actions {
				if firstErr == "" && a.Error != "" {
					firstErr = a.API + ": " + a.Error
				}
			}
		}
	}
	n := 0
	for i := range res.Decisions {
		if res.Decisions[i].Failed() {
			n++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d decisions failed (verdicts: %s; actions: %s); failed: %s", n, len(res.Decisions),
		counts(verdicts), counts(outcomes), strings.Join(failed, ", "))
	if n > len(failed) {
		fmt.Fprintf(&b, " and %d more", n-len(failed))
	}
	if firstErr != "" {
		fmt.Fprintf(&b, "; first error: %s", report.Truncate(firstErr, 512))
	}
	b.WriteString("; every decision is in the function's log")
	return b.String()
}

func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
