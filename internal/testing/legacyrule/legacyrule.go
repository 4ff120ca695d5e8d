// Package legacyrule lets tests write a fake rule as plain methods
// (Targets, Evaluate, Apply, and optionally Sweep and Expand) instead of a
// rule.Spec: the engine's tests use such fakes to drive every branch of
// the engine without AWS. Production rules are written with rule.Define.
package legacyrule

import (
	"context"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// Rule is a fake rule's methods.
type Rule interface {
	Meta() *rule.Meta
	Targets(call *trigger.APICall, p rule.Params) ([]rule.Target, error)
	Evaluate(ctx context.Context, s *awsclient.Session, t rule.Target, p rule.Params) (rule.Finding, error)
	Apply(ctx context.Context, s *awsclient.Session, a rule.Action) error
}

// Sweeper is a fake rule that sweeps.
type Sweeper interface {
	Sweep(ctx context.Context, s *awsclient.Session, p rule.Params) ([]rule.Target, error)
}

// Expander is a fake rule that expands targets.
type Expander interface {
	Expand(ctx context.Context, s *awsclient.Session, t rule.Target, p rule.Params) ([]rule.Target, error)
}

// Adapted is a fake made a rule.Rule.
type Adapted struct{ Rule }

// Adapt makes a rule.Rule of a fake.
func Adapt(r Rule) *Adapted { return &Adapted{r} }

// Bind implements rule.Rule.
func (a *Adapted) Bind(p rule.Params) (*rule.Bound, error) {
	r := a.Rule
	b := rule.NewBound(r.Meta())
	b.Targets = func(call *trigger.APICall) ([]rule.Target, error) { return r.Targets(call, p) }
	b.Evaluate = func(ctx context.Context, env rule.Env, t rule.Target) (rule.Finding, error) {
		return r.Evaluate(ctx, env.Session, t, p)
	}
	b.Apply = func(ctx context.Context, env rule.Env, act rule.Action) error { return r.Apply(ctx, env.Session, act) }
	if sw, ok := r.(Sweeper); ok {
		b.Sweep = func(ctx context.Context, env rule.Env) ([]rule.Target, error) { return sw.Sweep(ctx, env.Session, p) }
	}
	if x, ok := r.(Expander); ok {
		b.Expand = func(ctx context.Context, env rule.Env, t rule.Target) ([]rule.Target, error) {
			return x.Expand(ctx, env.Session, t, p)
		}
	}
	return b, nil
}
