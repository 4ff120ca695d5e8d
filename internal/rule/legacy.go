package rule

import (
	"context"

	"github.com/rampart-aws/rampart/internal/trigger"
)

// Adapted is a LegacyRule made a Rule, while rules move to Spec.
type Adapted struct{ LegacyRule }

// Adapt makes a Rule of a LegacyRule.
func Adapt(r LegacyRule) *Adapted { return &Adapted{r} }

// Sweep is the legacy rule's sweep (nil targets when it has none).
func (a *Adapted) Sweep(ctx context.Context, env Env, p Params) ([]Target, error) {
	if sw, ok := a.LegacyRule.(Sweeper); ok {
		return sw.Sweep(legacyCtx(ctx, env), env.Session, p)
	}
	return nil, nil
}

func legacyCtx(ctx context.Context, env Env) context.Context {
	return WithExemptTag(ctx, env.ExemptTag)
}

// Bind implements Rule.
func (a *Adapted) Bind(p Params) (*Bound, error) {
	r := a.LegacyRule
	b := &Bound{meta: r.Meta()}
	b.Targets = func(call *trigger.APICall) ([]Target, error) { return r.Targets(call, p) }
	b.Evaluate = func(ctx context.Context, env Env, t Target) (Finding, error) {
		return r.Evaluate(legacyCtx(ctx, env), env.Session, t, p)
	}
	b.Apply = func(ctx context.Context, env Env, act Action) error {
		return r.Apply(legacyCtx(ctx, env), env.Session, act)
	}
	if sw, ok := r.(Sweeper); ok {
		b.Sweep = func(ctx context.Context, env Env) ([]Target, error) {
			return sw.Sweep(legacyCtx(ctx, env), env.Session, p)
		}
	}
	if x, ok := r.(Expander); ok {
		b.Expand = func(ctx context.Context, env Env, t Target) ([]Target, error) {
			return x.Expand(legacyCtx(ctx, env), env.Session, t, p)
		}
	}
	return b, nil
}
