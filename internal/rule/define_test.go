package rule

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// toy judges a "size": violation above the limit parameter.
type toyState struct {
	Size int
	From string
}

type toyParams struct{ Limit int }

var toyMeta = Meta{ID: "toy", ResourceType: "AWS::Toy::Thing", Params: []Param{{Name: "limit", Default: "3"}}}

func toy(observe func(context.Context, Env, Target, toyParams) (toyState, error)) Spec[toyState, toyParams] {
	return Spec[toyState, toyParams]{
		Meta: &toyMeta,
		Parse: func(p Params) (toyParams, error) {
			if p["limit"] == "bad" {
				return toyParams{}, errors.New("limit: not a number")
			}
			return toyParams{Limit: len(p["limit"])}, nil
		},
		Observe: observe,
		Judge: func(s toyState, _ Target, p toyParams, f Facts) Finding {
			if s.Size > p.Limit {
				return Finding{Verdict: Violation, Reason: s.From + " in " + f.Region}
			}
			return Finding{Verdict: Compliant, Reason: s.From}
		},
	}
}

func none(context.Context, Env, Target, toyParams) (toyState, error) { return toyState{}, nil }

func TestDefineRoutesTheState(t *testing.T) {
	live := Env{Session: &awsclient.Session{Region: "eu-west-1"}}
	offline := Env{Session: awsclient.NewOffline("eu-west-1")}
	observed := func(context.Context, Env, Target, toyParams) (toyState, error) {
		return toyState{Size: 9, From: "observed"}, nil
	}
	gone := func(context.Context, Env, Target, toyParams) (toyState, error) {
		return toyState{}, Gone("the toy no longer exists")
	}
	failing := func(context.Context, Env, Target, toyParams) (toyState, error) {
		return toyState{}, errors.New("throttled")
	}
	withItem := toy(observed)
	withItem.FromItem = func(item *trigger.ConfigItem, _ toyParams) (toyState, error) {
		return toyState{Size: 1, From: "item"}, nil
	}
	withPlan := toy(observed)
	withPlan.Plan = func(t Target, _ toyParams) (toyState, error) {
		if t.Evidence == nil {
			return toyState{}, Undecided("the call says nothing of the size")
		}
		return toyState{Size: t.Evidence.(int), From: "evidence"}, nil
	}
	item := &trigger.ConfigItem{ResourceID: "t-1", Configuration: []byte(`{"size":1}`)}
	for _, tc := range []struct {
		name    string
		spec    Spec[toyState, toyParams]
		env     Env
		target  Target
		verdict Verdict
		reason  string
		err     string
	}{
		{"live observes", toy(observed), live, Target{ID: "t-1"}, Violation, "observed in eu-west-1", ""},
		{"a swept state is judged as listed", toy(failing), live, Target{ID: "t-1", State: toyState{Size: 1, From: "swept"}}, Compliant, "swept", ""},
		{"gone is not applicable", toy(gone), live, Target{ID: "t-1"}, NotApplicable, "the toy no longer exists", ""},
		{"a failed read is an error", toy(failing), live, Target{ID: "t-1"}, "", "", "throttled"},
		{"offline reads the item", withItem, offline, Target{ID: "t-1", Item: item}, Compliant, "item", ""},
		{"offline plans from the evidence", withPlan, offline, Target{ID: "t-1", Evidence: 7}, Violation, "evidence in eu-west-1", ""},
		{"offline planner undecided", withPlan, offline, Target{ID: "t-1"}, NotApplicable, "offline: the call says nothing of the size", ""},
		{"offline without planner", toy(observed), offline, Target{ID: "t-1"}, NotApplicable, "offline: judging AWS::Toy::Thing needs its current state", ""},
		{"offline never observes", toy(failing), Env{}, Target{ID: "t-1"}, NotApplicable, "offline:", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := BindWith(Define(tc.spec), map[string]string{"limit": "ab"})
			if err != nil {
				t.Fatal(err)
			}
			f, err := b.Evaluate(context.Background(), tc.env, tc.target)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || f.Verdict != tc.verdict || !strings.HasPrefix(f.Reason, tc.reason) {
				t.Fatalf("= %s %q, %v; want %s %q", f.Verdict, f.Reason, err, tc.verdict, tc.reason)
			}
		})
	}
}

func TestDefineCapabilitiesAreOptional(t *testing.T) {
	t.Parallel()
	b, err := Define(toy(none)).Bind(Params{"limit": "x"})
	if err == nil && (b.Targets != nil || b.Apply != nil || b.Sweep != nil || b.Expand != nil) {
		t.Fatal("a rule without Targets, Apply, Sweep or Expand got them")
	}
	if _, err := BindWith(Define(toy(none)), map[string]string{"limit": "bad"}); err == nil || !strings.Contains(err.Error(), "rule toy: limit") {
		t.Fatalf("a bad parameter bound: %v", err)
	}
	if _, err := BindWith(Define(toy(none)), map[string]string{"nope": "1"}); err == nil {
		t.Fatal("an unknown parameter bound")
	}
}

func TestDefineRefusesAnIncompleteSpec(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("a Spec without Judge was defined")
		}
	}()
	Define(Spec[toyState, toyParams]{Meta: &toyMeta})
}

func TestPackage(t *testing.T) {
	t.Parallel()
	if got := Package(Define(toy(none))); got != "github.com/rampart-aws/rampart/internal/rule" {
		t.Fatalf("Package = %q", got)
	}
	for name, want := range map[string]string{
		"example.com/a/b.f":           "example.com/a/b",
		"example.com/a/b.init.func1":  "example.com/a/b",
		"example.com/a.b/c.glob..f1":  "example.com/a.b/c",
		"example.com/a/b.(*T).Method": "example.com/a/b",
	} {
		if got := funcPackage(name); got != want {
			t.Errorf("funcPackage(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestIOCapabilitiesRefuseOffline: Apply, Sweep and Expand of a defined
// rule make no call and ask for no client offline, whoever calls them.
func TestIOCapabilitiesRefuseOffline(t *testing.T) {
	t.Parallel()
	called := false
	r := Define(Spec[int, struct{}]{
		Meta:  &Meta{ID: "io"},
		Judge: func(int, Target, struct{}, Facts) Finding { return Finding{} },
		Sweep: func(context.Context, Env, struct{}) ([]Target, error) { called = true; return nil, nil },
		Apply: func(context.Context, Env, Action) error { called = true; return nil },
		Expand: func(context.Context, Env, Target, struct{}) ([]Target, error) {
			called = true
			return nil, nil
		},
	})
	b, err := r.Bind(nil)
	if err != nil {
		t.Fatal(err)
	}
	offline := Env{Session: awsclient.NewOffline("us-east-1")}
	ctx := context.Background()
	if _, err := b.Sweep(ctx, offline); !errors.Is(err, ErrOffline) {
		t.Errorf("sweep: %v", err)
	}
	if err := b.Apply(ctx, offline, Action{API: "x:Y"}); !errors.Is(err, ErrOffline) {
		t.Errorf("apply: %v", err)
	}
	if _, err := b.Expand(ctx, offline, Target{ID: "t"}); !errors.Is(err, ErrOffline) {
		t.Errorf("expand: %v", err)
	}
	if called {
		t.Error("a capability ran offline")
	}
}
