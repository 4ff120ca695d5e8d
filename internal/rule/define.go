package rule

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// Env is what a rule's I/O steps run with: the session of the account and
// region being judged (its clients, and whether it is offline) and the
// deployment's configuration. It travels as a value, never in a context.
type Env struct {
	Session *awsclient.Session
	// ExemptTag is the deployment's exemption tag (DefaultExemptTag when
	// empty); ExemptMaxDays its horizon in days.
	ExemptTag     string
	ExemptMaxDays int
}

// Offline reports whether the environment may make no AWS call.
func (e Env) Offline() bool { return e.Session == nil || e.Session.Offline }

// Facts are the values a judgement may depend on besides the state and the
// parameters: where it runs and the deployment's configuration.
type Facts struct {
	Account, Partition, Region string
	Offline                    bool
	ExemptTag                  string
	ExemptMaxDays              int
}

// Facts are the environment's facts.
func (e Env) Facts() Facts {
	f := Facts{Offline: e.Offline(), ExemptTag: e.ExemptTag, ExemptMaxDays: e.ExemptMaxDays}
	if f.ExemptTag == "" {
		f.ExemptTag = DefaultExemptTag
	}
	if s := e.Session; s != nil {
		f.Account, f.Partition, f.Region = s.Account, s.Partition, s.Region
	}
	return f
}

// Bound is a rule with its parameters parsed: what the engine runs. Each
// capability but Evaluate is optional (nil when the rule lacks it).
type Bound struct {
	meta *Meta
	// Targets names the resources an API call (or console sign-in)
	// concerns, with what the call says about them. Pure; malformed
	// requestParameters are an error wrapping trigger.ErrInput.
	Targets func(call *trigger.APICall) ([]Target, error)
	// OnEvent names the resources another service's event concerns (see
	// Meta.Events). Pure; a malformed detail is an error wrapping
	// trigger.ErrInput.
	OnEvent func(ev *trigger.Event) ([]Target, error)
	// Evaluate decides one target: it reads the state from where the
	// target says (a sweep's listing, the Config item offline, a live
	// describe, or offline the event alone) and judges it.
	Evaluate func(ctx context.Context, env Env, t Target) (Finding, error)
	// Apply makes one action of a plan, or its undo; an error wrapping
	// ErrNoOp when there was nothing to do. Nil: the rule only reports.
	Apply func(ctx context.Context, env Env, a Action) error
	// Sweep lists every resource the rule judges in the environment's
	// account and region, each target carrying its current state.
	Sweep func(ctx context.Context, env Env) ([]Target, error)
	// Expand turns a live target into the resources current state says the
	// event concerns (DeleteFlowLogs names flow logs; the rule judges VPCs).
	// An empty result keeps the original target.
	Expand func(ctx context.Context, env Env, t Target) ([]Target, error)
}

// NewBound is an empty Bound of m, for code that binds rules its own way
// (test fakes); rules are bound by Define.
func NewBound(m *Meta) *Bound { return &Bound{meta: m} }

// Meta is the rule's metadata.
func (b *Bound) Meta() *Meta { return b.meta }

// Rule is one check with its remediation, as the engine and the catalog see
// it: its metadata, and its parameters bound into something to run. Rules
// are written as a Spec and made a Rule by Define.
type Rule interface {
	Meta() *Meta
	// Bind parses and validates resolved parameter values (see
	// Meta.Resolve) into the rule's typed parameters: once at cold start,
	// and once per Config invocation that overrides them.
	Bind(p Params) (*Bound, error)
}

// BindWith resolves overrides against r's declared parameters and binds
// the result.
func BindWith(r Rule, overrides map[string]string) (*Bound, error) {
	p, err := r.Meta().Resolve(overrides)
	if err != nil {
		return nil, err
	}
	b, err := r.Bind(p)
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", r.Meta().ID, err)
	}
	return b, nil
}

// Spec is a rule written as observe → judge. S is the state the rule judges
// of one resource; P its typed parameters. Meta, Judge and one way to get
// a state (Observe, or Sweep for a rule that judges only what it lists)
// are required; everything else is an optional capability.
type Spec[S, P any] struct {
	Meta *Meta
	// Parse turns the resolved parameter strings into P, once. Nil: P's
	// zero value (a rule without parameters).
	Parse func(Params) (P, error)

	// Targets names the resources an API call concerns (pure).
	Targets func(call *trigger.APICall, p P) ([]Target, error)
	// OnEvent names the resources a service event concerns (pure).
	OnEvent func(ev *trigger.Event, p P) ([]Target, error)
	// Observe reads the current state of one target: I/O only, through
	// the session's clients. A resource that no longer exists is an error
	// made with Gone.
	Observe func(ctx context.Context, env Env, t Target, p P) (S, error)
	// FromItem reads the state from a Config configuration item, for
	// offline evaluations of Config invocations. Optional.
	FromItem func(item *trigger.ConfigItem, p P) (S, error)
	// Plan is the offline planner: the state the event alone implies
	// (Target.Evidence). An error made with Undecided says what a live
	// run would have to read. Optional.
	Plan func(t Target, p P) (S, error)
	// Judge decides one resource from its state: pure, no I/O, no panic.
	Judge func(s S, t Target, p P, f Facts) Finding

	// Apply makes one action of a plan, or its undo.
	Apply func(ctx context.Context, env Env, a Action) error
	// Sweep lists every resource the rule judges, with its state (set
	// Target.State to an S).
	Sweep func(ctx context.Context, env Env, p P) ([]Target, error)
	// Expand, see Bound.Expand.
	Expand func(ctx context.Context, env Env, t Target, p P) ([]Target, error)
}

// Define makes a Rule of a Spec. It panics on a Spec missing what every
// rule needs: a programming error, caught by the catalog's tests at once.
func Define[S, P any](s Spec[S, P]) Rule {
	switch {
	case s.Meta == nil:
		panic("rule.Define: no Meta")
	case s.Judge == nil:
		panic("rule.Define: rule " + s.Meta.ID + " has no Judge")
	case s.Observe == nil && s.Sweep == nil:
		panic("rule.Define: rule " + s.Meta.ID + " can neither observe nor sweep")
	}
	return &defined[S, P]{s}
}

type defined[S, P any] struct{ s Spec[S, P] }

func (d *defined[S, P]) Meta() *Meta { return d.s.Meta }

func (d *defined[S, P]) Bind(raw Params) (*Bound, error) {
	var p P
	if d.s.Parse != nil {
		var err error
		if p, err = d.s.Parse(raw); err != nil {
			return nil, err
		}
	}
	s := d.s
	b := &Bound{meta: s.Meta}
	b.Evaluate = func(ctx context.Context, env Env, t Target) (Finding, error) {
		st, f, err := d.state(ctx, env, t, p)
		if err != nil || f != nil {
			return deref(f), err
		}
		return s.Judge(st, t, p, env.Facts()), nil
	}
	if s.Targets != nil {
		b.Targets = func(call *trigger.APICall) ([]Target, error) { return s.Targets(call, p) }
	}
	if s.OnEvent != nil {
		b.OnEvent = func(ev *trigger.Event) ([]Target, error) { return s.OnEvent(ev, p) }
	}
	// Apply, Sweep and Expand are I/O: offline they refuse (ErrOffline)
	// before any client is asked for, whoever calls them.
	if s.Apply != nil {
		b.Apply = func(ctx context.Context, env Env, a Action) error {
			if env.Offline() {
				return fmt.Errorf("%s %s: %w", a.API, a.Target, ErrOffline)
			}
			return s.Apply(ctx, env, a)
		}
	}
	if s.Sweep != nil {
		b.Sweep = func(ctx context.Context, env Env) ([]Target, error) {
			if env.Offline() {
				return nil, fmt.Errorf("sweep %s: %w", s.Meta.ID, ErrOffline)
			}
			return s.Sweep(ctx, env, p)
		}
	}
	if s.Expand != nil {
		b.Expand = func(ctx context.Context, env Env, t Target) ([]Target, error) {
			if env.Offline() {
				return nil, fmt.Errorf("expand %s: %w", t.ID, ErrOffline)
			}
			return s.Expand(ctx, env, t, p)
		}
	}
	return b, nil
}

func deref(f *Finding) Finding {
	if f == nil {
		return Finding{}
	}
	return *f
}

// state routes one target to its state: the state a sweep listed with it;
// offline, the Config item, else the planner, else "undecided"; live, a
// describe. A non-nil Finding is the decision when there is no state to
// judge (the resource is gone, or offline cannot tell).
func (d *defined[S, P]) state(ctx context.Context, env Env, t Target, p P) (S, *Finding, error) {
	var zero S
	if st, ok := t.State.(S); ok {
		return st, nil, nil
	}
	var (
		st  S
		err error
	)
	switch {
	case !env.Offline() && d.s.Observe != nil:
		st, err = d.s.Observe(ctx, env, t, p)
	case !env.Offline():
		return zero, nil, fmt.Errorf("rule %s judges only what its sweep lists, and %s came with no state", d.s.Meta.ID, t.ID)
	case d.s.FromItem != nil && t.Item.HasConfiguration():
		st, err = d.s.FromItem(t.Item, p)
	case d.s.Plan != nil:
		st, err = d.s.Plan(t, p)
	default:
		err = Undecided("judging " + typeOr(t.Type, d.s.Meta.ResourceType) + " needs its current state, which a live run reads")
	}
	var s stop
	if errors.As(err, &s) {
		return zero, &Finding{Verdict: NotApplicable, Reason: s.reason()}, nil
	}
	return st, nil, err
}

func typeOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ErrOffline is what a rule's I/O capabilities (Apply, Sweep, Expand)
// answer in an offline environment: they make no call and ask for no client.
var ErrOffline = errors.New("offline: no AWS call is made")

// ErrGone is matched (errors.Is) by the errors Gone makes.
var ErrGone = errors.New("the resource no longer exists")

// ErrUndecided is matched by the errors Undecided makes.
var ErrUndecided = errors.New("offline: the event alone does not decide")

type stop struct {
	kind error
	why  string
}

func (s stop) Error() string        { return s.reason() }
func (s stop) Is(target error) bool { return target == s.kind }
func (s stop) reason() string {
	if errors.Is(s.kind, ErrUndecided) {
		return "offline: " + s.why
	}
	return s.why
}

// Gone is what Observe returns when the resource no longer exists; the
// decision is not applicable, with why as its reason ("the volume no
// longer exists").
func Gone(why string) error { return stop{ErrGone, why} }

// Undecided is what an offline planner returns when the event alone does
// not decide; the decision is not applicable, "offline: " + why.
func Undecided(why string) error { return stop{ErrUndecided, why} }

// Package is the import path of the package that defines r: the package
// of its Judge for a defined rule, of its type for any other.
func Package(r Rule) string {
	if d, ok := r.(interface{ judgePC() uintptr }); ok {
		if fn := runtime.FuncForPC(d.judgePC()); fn != nil {
			return funcPackage(fn.Name())
		}
	}
	t := reflect.TypeOf(r)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath()
}

func (d *defined[S, P]) judgePC() uintptr { return reflect.ValueOf(d.s.Judge).Pointer() }

// funcPackage is the package path of a function's full name
// ("example.com/a/b.f", "example.com/a/b.init.func1").
func funcPackage(name string) string {
	slash := strings.LastIndex(name, "/")
	if dot := strings.Index(name[slash+1:], "."); dot >= 0 {
		return name[:slash+1+dot]
	}
	return name
}
