// Package lambdafn is the few lines every Rampart Lambda shares: read the
// configuration from the environment, build the AWS session and the engine
// once per cold start, and hand each invocation to the engine.
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

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/rampart-aws/rampart/pkg/awsclient"
	"github.com/rampart-aws/rampart/pkg/engine"
	"github.com/rampart-aws/rampart/pkg/rule"
	"github.com/rampart-aws/rampart/pkg/trigger"
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
type Handler struct{ Engine *engine.Engine }

// New builds the handler from the environment.
func New(ctx context.Context, getenv func(string) string, rules ...rule.Rule) (*Handler, error) {
	cfg, err := engine.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	sess, err := awsclient.Load(ctx)
	if err != nil {
		return nil, err
	}
	e, err := engine.New(cfg, sess, rules...)
	if err != nil {
		return nil, err
	}
	e.Log = lambdacontext.NewLogger()
	return &Handler{Engine: e}, nil
}

// Invoke handles one payload. Bad input is reported and ends the invocation
// cleanly (retrying cannot fix it); a failed remediation is returned as an
// error so EventBridge or Config retries and the dead-letter queue keeps it.
func (h *Handler) Invoke(ctx context.Context, raw json.RawMessage) (*Response, error) {
	res, err := h.Engine.Handle(ctx, raw)
	switch {
	case errors.Is(err, trigger.ErrInput):
		h.Engine.Log.ErrorContext(ctx, "rejected", "error", err.Error())
		return &Response{Decisions: []any{}, Rejected: err.Error()}, nil
	case errors.Is(err, engine.ErrFailed):
		return nil, fmt.Errorf("%w: %s", err, summary(res))
	case err != nil:
		return nil, err
	}
	return &Response{Decisions: res.Decisions}, nil
}

func summary(res *engine.Result) string {
	if res == nil {
		return ""
	}
	b, _ := json.Marshal(res.Decisions)
	return string(b)
}
