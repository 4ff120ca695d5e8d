package requiredtags

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

func TestParamParsers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		check func(string) error
		in    string
		ok    bool
	}{
		{"keys", checkKeys, "owner, cost-center", true},
		{"keys empty", checkKeys, " , ", false},
		{"keys reserved", checkKeys, "aws:createdBy", false},
		{"keys too long", checkKeys, strings.Repeat("k", 129), false},
		{"allowed", checkAllowed, "env=prod|staging|dev; data-class=public", true},
		{"allowed empty", checkAllowed, "", true},
		{"allowed no =", checkAllowed, "env", false},
		{"allowed no value", checkAllowed, "env=|", false},
		{"allowed twice", checkAllowed, "env=a;env=b", false},
		{"defaults", checkDefaults, "cost-center=unassigned,owner=platform@example.com", true},
		{"defaults empty value", checkDefaults, "owner=", false},
		{"defaults twice", checkDefaults, "a=1,a=2", false},
		{"types default", checkTypes, strings.Join(Supported, ","), true},
		{"types subset", checkTypes, "AWS::S3::Bucket", true},
		{"types unsupported", checkTypes, "AWS::RDS::DBInstance", false},
		{"types empty", checkTypes, "", false},
	} {
		if err := tc.check(tc.in); (err == nil) != tc.ok {
			t.Errorf("%s: %q → %v", tc.name, tc.in, err)
		}
	}
	if v, _ := parseAllowed("env = prod | dev ;tier=web"); !maps.EqualFunc(v, map[string][]string{"env": {"prod", "dev"}, "tier": {"web"}},
		func(a, b []string) bool { return strings.Join(a, "|") == strings.Join(b, "|") }) {
		t.Errorf("parseAllowed = %v", v)
	}
}

func pol(t *testing.T, p rule.Params) policy {
	t.Helper()
	resolved, err := meta.Resolve(p)
	if err != nil {
		t.Fatal(err)
	}
	out, err := policyOf(resolved)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFinding(t *testing.T) {
	t.Parallel()
	base := rule.Params{ParamKeys: "owner,cost-center,env", ParamAllowed: "env=prod|dev"}
	withDefaults := rule.Params{ParamKeys: "owner,cost-center,env", ParamAllowed: "env=prod|dev", ParamDefaults: "cost-center=unassigned,env=sandbox,other=x"}
	for _, tc := range []struct {
		name    string
		params  rule.Params
		typ     string
		tags    map[string]string
		verdict rule.Verdict
		add     map[string]string // nil: no action
		api     string
		reason  string
	}{
		{"all there", base, TypeInstance, map[string]string{"owner": "a", "cost-center": "b", "env": "prod"}, rule.Compliant, nil, "", "carries"},
		{"missing, report only", base, TypeInstance, map[string]string{"owner": "a"}, rule.Violation, nil, "", "missing tags: cost-center, env"},
		{"bad value", base, TypeVolume, map[string]string{"owner": "a", "cost-center": "b", "env": "qa"}, rule.Violation, nil, "", "env=qa (allowed: prod|dev)"},
		{"empty value counts as present", base, TypeVolume, map[string]string{"owner": "", "cost-center": "b", "env": "dev"}, rule.Compliant, nil, "", ""},
		{"defaults add the missing key only", withDefaults, TypeSecurityGroup, map[string]string{"owner": "a", "env": "prod"}, rule.Violation,
			map[string]string{"cost-center": "unassigned"}, apiCreateTags, "missing tags: cost-center"},
		{"a disallowed default is not used", withDefaults, TypeInstance, map[string]string{"owner": "a"}, rule.Violation,
			map[string]string{"cost-center": "unassigned"}, apiCreateTags, "its default sandbox is not an allowed value"},
		{"never overwrite a bad value", withDefaults, TypeInstance, map[string]string{"owner": "a", "cost-center": "x", "env": "qa"}, rule.Violation, nil, "", "env=qa"},
		{"bucket uses S3 tagging", withDefaults, TypeBucket, map[string]string{"owner": "a", "env": "dev"}, rule.Violation,
			map[string]string{"cost-center": "unassigned"}, apiPutBucketTagging, ""},
		{"no default for owner", withDefaults, TypeBucket, map[string]string{"env": "dev", "cost-center": "c"}, rule.Violation, nil, "", "no default for owner"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := finding(tc.typ, "r-1", tc.tags, pol(t, tc.params))
			if f.Verdict != tc.verdict || !strings.Contains(f.Reason, tc.reason) {
				t.Fatalf("finding = %+v", f)
			}
			if tc.add == nil {
				if len(f.Actions) != 0 {
					t.Fatalf("actions = %+v", f.Actions)
				}
				return
			}
			if len(f.Actions) != 1 || f.Actions[0].API != tc.api || f.Actions[0].Undo == nil {
				t.Fatalf("actions = %+v", f.Actions)
			}
			var p, u tagParams
			if err := f.Actions[0].Decode(&p); err != nil || !maps.Equal(p.Tags, tc.add) || p.Remove || p.Type != tc.typ {
				t.Fatalf("params = %+v, %v", p, err)
			}
			if err := f.Actions[0].Undo.Decode(&u); err != nil || !maps.Equal(u.Tags, tc.add) || !u.Remove {
				t.Fatalf("undo params = %+v, %v", u, err)
			}
		})
	}
}

// TestJudgeResource: the type in scope first, then the tags; no tags at
// all are an empty set.
func TestJudgeResource(t *testing.T) {
	t.Parallel()
	p := pol(t, rule.Params{ParamKeys: "owner", ParamTypes: TypeInstance + "," + TypeBucket})
	for _, tc := range []struct {
		name    string
		r       resource
		verdict rule.Verdict
		reason  string
	}{
		{"out of scope", resource{Type: TypeVolume}, rule.NotApplicable, "the deployment does not require tags on AWS::EC2::Volume"},
		{"no tags", resource{Type: TypeInstance}, rule.Violation, "missing tags: owner"},
		{"tagged", resource{Type: TypeBucket, Tags: map[string]string{"owner": "a"}}, rule.Compliant, "carries the required tags owner"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := judgeResource(tc.r, rule.Target{Type: tc.r.Type, ID: "r-1"}, p, rule.Facts{})
			if f.Verdict != tc.verdict || !strings.Contains(f.Reason, tc.reason) {
				t.Fatalf("finding = %+v", f)
			}
		})
	}
}

// TestPlanner: offline, the Config item's own tags decide (with or without
// its configuration); a target without an item is undecided.
func TestPlanner(t *testing.T) {
	t.Parallel()
	item := &trigger.ConfigItem{ResourceType: TypeInstance, ResourceID: "i-1", Tags: map[string]string{"owner": "a"}}
	r, err := plan(rule.Target{ID: "i-1", Item: item}, policy{})
	if err != nil || r.Type != TypeInstance || r.Tags["owner"] != "a" {
		t.Fatalf("plan = %+v, %v", r, err)
	}
	if _, err := plan(rule.Target{ID: "i-1", Type: TypeInstance}, policy{}); !errors.Is(err, rule.ErrUndecided) || !strings.Contains(err.Error(), "carries no tags") {
		t.Fatalf("no item: %v", err)
	}
	if _, err := policyOf(rule.Params{ParamKeys: "", ParamTypes: TypeInstance}); err == nil {
		t.Fatal("a policy without keys parsed")
	}
}
