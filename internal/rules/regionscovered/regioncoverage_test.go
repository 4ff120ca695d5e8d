package regionscovered

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/rule"
)

func TestJudge(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		enabled, covered []string
		verdict          rule.Verdict
		names            string
	}{
		"all covered":           {[]string{"us-east-1", "eu-west-1"}, []string{"eu-west-1", "us-east-1", "ap-south-1"}, rule.Compliant, ""},
		"an opt-in region":      {[]string{"us-east-1", "me-south-1"}, []string{"us-east-1"}, rule.Violation, "me-south-1"},
		"several, named sorted": {[]string{"us-west-2", "af-south-1", "us-east-1"}, []string{"us-east-1"}, rule.Violation, "af-south-1, us-west-2"},
		"none known covered":    {[]string{"us-east-1"}, nil, rule.Violation, "us-east-1"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := judgeFinding(regions{c.enabled}, rule.Target{ID: TargetID}, params{Covered: c.covered}, rule.Facts{})
			if f.Verdict != c.verdict || f.Resource != TargetID {
				t.Errorf("verdict %v, resource %q", f.Verdict, f.Resource)
			}
			if c.names != "" && (!strings.Contains(f.Reason, c.names) || len(f.Actions) != 1 || f.Actions[0].API != rule.AlertAPI) {
				t.Errorf("finding %+v", f)
			}
			if c.verdict == rule.Compliant && len(f.Actions) != 0 {
				t.Errorf("actions %v", f.Actions)
			}
		})
	}
}

func TestSplitRegions(t *testing.T) {
	t.Parallel()
	if r := splitRegions(" us-east-1, eu-west-1 ,"); len(r) != 2 || r[1] != "eu-west-1" {
		t.Errorf("split: %v", r)
	}
	if err := (params{Covered: splitRegions("")}).known(); err == nil {
		t.Error("empty RAMPART_REGIONS must be an error, never a pass")
	}
}

// TestUnknownCoverageIsAnError: with RAMPART_REGIONS unset, binding works
// (the function's other rules must still run) but the sweep, a live read
// and the offline planner fail loudly rather than judge.
func TestUnknownCoverageIsAnError(t *testing.T) {
	t.Parallel()
	p := params{}
	if _, err := sweep(context.Background(), rule.Env{}, p); err == nil || !strings.Contains(err.Error(), EnvRegions) {
		t.Errorf("sweep: %v", err)
	}
	if _, err := observe(context.Background(), rule.Env{}, rule.Target{}, p); err == nil || !strings.Contains(err.Error(), EnvRegions) {
		t.Errorf("observe: %v", err)
	}
	if _, err := plan(rule.Target{}, p); err == nil || errors.Is(err, rule.ErrUndecided) {
		t.Errorf("plan: %v, want a hard error", err)
	}
	if _, err := plan(rule.Target{}, params{Covered: []string{"us-east-1"}}); !errors.Is(err, rule.ErrUndecided) {
		t.Errorf("plan with coverage known: %v, want undecided", err)
	}
}
