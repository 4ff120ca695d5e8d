package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
)

// apply makes one action and records its outcome; false means it failed.
//
// Retries never lie: when the SDK retried a mutating call after an attempt
// that got no answer (a lost response, a timeout, a 5xx) and the retry then
// answered "not found / already in that state", the first attempt most
// likely did the work. The action is then recorded as applied — with its
// undo, which `rampart undo` replays — and Retried names the call, so the
// decision log, the Config annotation and the metrics all count it as
// Rampart's change rather than a no-op.
func (e *Engine) apply(ctx context.Context, b *rule.Bound, a *rule.Action) bool {
	actx, attempts := awsclient.WithAttempts(ctx)
	err := safeApply(actx, b, e.env(ctx), *a)
	switch {
	case err == nil:
		a.Outcome = rule.Applied
	case errors.Is(err, rule.ErrNoOp):
		a.Outcome = rule.NoOp
		if call, ok := attempts.MutationRetriedBlind(); ok {
			a.Outcome = rule.Applied
			a.Retried = fmt.Sprintf("%s was retried after an attempt that got no answer; the retry's %q means that attempt did the work", call, err.Error())
		}
	default:
		a.Outcome, a.Error = rule.Failed, err.Error()
		return false
	}
	return true
}
