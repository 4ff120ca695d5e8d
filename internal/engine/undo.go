package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
)

// Undo replays, newest first, the inverse of every action the decisions
// record as applied. It is how an operator reverts Rampart: feed it the JSON
// of `rampart run` (or the decision of a Lambda response). Actions without an
// inverse (alerts) are skipped; the returned actions carry their outcomes.
//
// Note that Rampart will remediate an undone violation again the next time it
// sees it unless the resource is exempted first.
func (e *Engine) Undo(ctx context.Context, ds []report.Decision) ([]rule.Action, error) {
	byID := e.bound
	var todo []struct {
		r    *rule.Bound
		a    rule.Action
		sess *awsclient.Session
	}
	for _, d := range ds {
		for _, a := range d.Actions {
			if a.Outcome != rule.Applied || a.Undo == nil {
				continue
			}
			r, ok := byID[d.Rule]
			if !ok {
				return nil, fmt.Errorf("undo %s: unknown rule %q", a.API, d.Rule)
			}
			// Undo acts where the decision acted: its account and region.
			sess := e.session
			if !e.session.Offline && (d.Account != "" && d.Account != e.session.Account || d.Region != "" && d.Region != e.session.Region) {
				var err error
				if sess, err = e.session.For(ctx, d.Account, d.Region); err != nil {
					return nil, fmt.Errorf("undo %s on %s in account %s, region %s: %w", a.API, a.Target, d.Account, d.Region, err)
				}
			}
			todo = append(todo, struct {
				r    *rule.Bound
				a    rule.Action
				sess *awsclient.Session
			}{r, *a.Undo, sess})
		}
	}
	var out []rule.Action
	var errs []error
	for i := len(todo) - 1; i >= 0; i-- {
		a := todo[i].a
		if !e.apply(withSession(ctx, todo[i].sess), todo[i].r, &a) {
			errs = append(errs, errors.New(a.Error))
		}
		out = append(out, a)
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("%w: %w", ErrFailed, errors.Join(errs...))
	}
	return out, nil
}
