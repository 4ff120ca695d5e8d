package regionscovered

import (
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/rule"
)

func TestJudge(t *testing.T) {
	for name, c := range map[string]struct {
		enabled, covered []string
		verdict          rule.Verdict
		names            string
	}{
		"all covered":           {[]string{"us-east-1", "eu-west-1"}, []string{"eu-west-1", "us-east-1", "ap-south-1"}, rule.Compliant, ""},
		"an opt-in region":      {[]string{"us-east-1", "me-south-1"}, []string{"us-east-1"}, rule.Violation, "me-south-1"},
		"several, named sorted": {[]string{"us-west-2", "af-south-1", "us-east-1"}, []string{"us-east-1"}, rule.Violation, "af-south-1, us-west-2"},
	} {
		f := judge(c.enabled, c.covered)
		if f.Verdict != c.verdict {
			t.Errorf("%s: verdict %v", name, f.Verdict)
		}
		if c.names != "" && (!strings.Contains(f.Reason, c.names) || len(f.Actions) != 1 || f.Actions[0].API != rule.AlertAPI) {
			t.Errorf("%s: finding %+v", name, f)
		}
		if c.verdict == rule.Compliant && len(f.Actions) != 0 {
			t.Errorf("%s: actions %v", name, f.Actions)
		}
	}
}

func TestParseRegions(t *testing.T) {
	if r, err := parseRegions(" us-east-1, eu-west-1 ,"); err != nil || len(r) != 2 || r[1] != "eu-west-1" {
		t.Errorf("parse: %v %v", r, err)
	}
	if _, err := parseRegions(""); err == nil {
		t.Error("empty RAMPART_REGIONS must be an error, never a pass")
	}
}
