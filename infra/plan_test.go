package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/catalog"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// These tests need no CDK (no node): they cover the derivation and the
// settings. stack_test.go checks the synthesized templates.

// fakeRule is a rule that only has metadata: what infra reads.
type fakeRule struct{ m rule.Meta }

func (f *fakeRule) Meta() *rule.Meta { return &f.m }

func (f *fakeRule) Bind(rule.Params) (*rule.Bound, error) { return rule.NewBound(&f.m), nil }

// fakeRules exercise every kind of trigger across three functions, one of
// which only has an event pinned to us-east-1.
func fakeRules() []rule.Rule {
	return []rule.Rule{
		&fakeRule{rule.Meta{
			ID: "fake-bucket-public", Title: "Buckets are not public", Function: "storage",
			ResourceType: "AWS::S3::Bucket",
			CloudTrail:   []rule.CloudTrailTrigger{{Source: "s3.amazonaws.com", Events: []string{"PutBucketPolicy", "PutBucketAcl"}}},
			Config:       &rule.ConfigTrigger{ResourceTypes: []string{"AWS::S3::Bucket"}},
			Params: []rule.Param{
				{Name: "allowedBuckets", Default: ""},
				{Name: "level", Default: "strict", Check: func(s string) error {
					if s != "strict" && s != "lax" {
						return errBadLevel
					}
					return nil
				}},
			},
			ReadActions:  []string{"s3:GetBucketPolicy", "s3:GetBucketAcl"},
			WriteActions: []string{"s3:PutPublicAccessBlock"},
		}},
		// A second rule of the same function on the same service, sharing
		// an event: one EventBridge rule carries the union.
		&fakeRule{rule.Meta{
			ID: "fake-bucket-policy", Title: "Bucket policies deny plain HTTP", Function: "storage",
			ResourceType: "AWS::S3::Bucket",
			CloudTrail:   []rule.CloudTrailTrigger{{Source: "s3.amazonaws.com", Events: []string{"PutBucketPolicy", "DeleteBucketPolicy"}}},
			ReadActions:  []string{"s3:GetBucketPolicy"},
		}},
		&fakeRule{rule.Meta{
			ID: "fake-volume-encrypted", Title: "Volumes are encrypted", Function: "storage",
			ResourceType: "AWS::EC2::Volume",
			Config:       &rule.ConfigTrigger{Frequency: rule.TwelveHours},
			Schedule:     "rate(1 day)",
			ReadActions:  []string{"ec2:DescribeVolumes", "s3:GetBucketAcl"},
		}},
		&fakeRule{rule.Meta{
			ID: "fake-root-signin", Title: "Root does not sign in", Function: "identity",
			ResourceType: "AWS::IAM::User",
			CloudTrail: []rule.CloudTrailTrigger{{Source: "signin.amazonaws.com", DetailType: trigger.DetailSignIn,
				Events: []string{"ConsoleLogin"}, Region: "us-east-1"}},
			Schedule: "rate(12 hours)",
			Global:   true,
			LogAlarms: []rule.LogAlarm{{Name: "failures", Description: "many failures",
				Pattern: `{ ($.rule = "fake-root-signin") && ($.verdict = "violation") }`, Threshold: 3, Minutes: 10}},
			ReadActions:  []string{"iam:GetAccountSummary"},
			WriteActions: []string{rule.AlertAPI},
		}},
		&fakeRule{rule.Meta{
			ID: "fake-stale-keys", Title: "Access keys rotate", Function: "identity",
			ResourceType: "AWS::IAM::User",
			Schedule:     "rate(1 day)",
			Global:       true,
			ReadActions:  []string{"iam:ListUsers", "iam:ListAccessKeys"},
			WriteActions: []string{"iam:UpdateAccessKey"},
		}},
		&fakeRule{rule.Meta{
			ID: "fake-sg-open", Title: "Security groups are closed", Function: "network",
			ResourceType: "AWS::EC2::SecurityGroup",
			CloudTrail:   []rule.CloudTrailTrigger{{Source: "ec2.amazonaws.com", Events: []string{"AuthorizeSecurityGroupIngress"}}},
			Config:       &rule.ConfigTrigger{ResourceTypes: []string{"AWS::EC2::SecurityGroup"}, Frequency: rule.TwentyFourHour},
			Params:       []rule.Param{{Name: "ports", Default: "22"}},
			ReadActions:  []string{"ec2:DescribeSecurityGroupRules"},
			WriteActions: []string{"ec2:RevokeSecurityGroupIngress"},
		}},
	}
}

type constErr string

func (e constErr) Error() string { return string(e) }

const errBadLevel = constErr("want strict or lax")

func TestEventSource(t *testing.T) {
	for in, want := range map[string]string{
		"ec2.amazonaws.com":        "aws.ec2",
		"signin.amazonaws.com":     "aws.signin",
		"cloudtrail.amazonaws.com": "aws.cloudtrail",
		"iam.amazonaws.com":        "aws.iam",
	} {
		if got, err := eventSource(in); err != nil || got != want {
			t.Errorf("eventSource(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "ec2", "amazonaws.com", ".amazonaws.com", "a.b.amazonaws.com", "ec2.amazonaws.com.cn"} {
		if got, err := eventSource(in); err == nil {
			t.Errorf("eventSource(%q) = %q, want an error", in, got)
		}
	}
}

func TestPlanRegion(t *testing.T) {
	rules := fakeRules()
	east := planRegion(rules, "us-east-1", "us-east-1")
	west := planRegion(rules, "eu-west-1", "us-east-1")
	names := func(p regionPlan) (out []string) {
		for _, f := range p.Functions {
			out = append(out, f.Name)
		}
		return out
	}
	if got := names(east); !slices.Equal(got, []string{"identity", "network", "storage"}) {
		t.Errorf("us-east-1 functions = %v", got)
	}
	// identity's rules are global: their events are judged, and their
	// sweeps run, in the home region only; eu-west-1 forwards the sign-ins.
	if got := names(west); !slices.Equal(got, []string{"network", "storage"}) {
		t.Errorf("eu-west-1 functions = %v", got)
	}
	if len(east.Forward) != 0 {
		t.Errorf("the home region forwards %v", east.Forward)
	}
	if len(west.Forward) != 1 || west.Forward[0].Trigger.Source != "signin.amazonaws.com" || !slices.Equal(west.Forward[0].RuleIDs, []string{"fake-root-signin"}) {
		t.Errorf("eu-west-1 forwards %+v, want the sign-ins", west.Forward)
	}
	if got := len(east.Functions[0].Sweeps); got != 2 {
		t.Errorf("us-east-1 identity sweeps = %d, want 2", got)
	}
	// Another home region: the global rules move there, and us-east-1
	// (where the sign-in trigger is pinned) forwards to it.
	westHome := planRegion(rules, "eu-west-1", "eu-west-1")
	if got := names(westHome); !slices.Equal(got, []string{"identity", "network", "storage"}) {
		t.Errorf("eu-west-1 home: functions = %v", got)
	} else if f := westHome.Functions[0]; len(f.Sweeps) != 2 || len(f.EventRules) != 1 {
		t.Errorf("eu-west-1 home: identity has %d sweeps, %d event rules", len(f.Sweeps), len(f.EventRules))
	}
	if p := planRegion(rules, "us-east-1", "eu-west-1"); len(p.Forward) != 1 || slices.Contains(names(p), "identity") {
		t.Errorf("us-east-1 with home eu-west-1: functions %v, forwards %+v", names(p), p.Forward)
	}
	storage := east.Functions[2]
	if want := []string{"ec2:DescribeVolumes", "s3:GetBucketAcl", "s3:GetBucketPolicy", "s3:PutPublicAccessBlock"}; !slices.Equal(storage.Actions, want) {
		t.Errorf("storage actions = %v, want the sorted, de-duplicated union %v", storage.Actions, want)
	}
	if len(storage.EventRules) != 2 || len(storage.ConfigRules) != 2 || len(storage.Sweeps) != 1 {
		t.Errorf("storage wiring: %d event, %d config, %d sweep rules", len(storage.EventRules), len(storage.ConfigRules), len(storage.Sweeps))
	}
	// Two rules on s3: one group, the union of their events, once each.
	if len(storage.Events) != 1 || !slices.Equal(storage.Events[0].Trigger.Events, []string{"DeleteBucketPolicy", "PutBucketAcl", "PutBucketPolicy"}) ||
		!slices.Equal(storage.Events[0].RuleIDs, []string{"fake-bucket-public", "fake-bucket-policy"}) {
		t.Errorf("storage events = %+v", storage.Events)
	}
	s := &Settings{Account: "111122223333", HomeRegion: "us-east-1", Regions: []string{"eu-west-1", "us-east-1"},
		OwnRoles: []string{"arn:aws:iam::111122223333:role/break-glass", "arn:aws:iam::111122223333:role/rampart-network"}}
	want := []string{"arn:aws:iam::111122223333:role/break-glass", "arn:aws:iam::111122223333:role/rampart-identity",
		"arn:aws:iam::111122223333:role/rampart-network", "arn:aws:iam::111122223333:role/rampart-storage"}
	if got := ownRoleARNs(rules, s); !slices.Equal(got, want) {
		t.Errorf("own roles = %v, want %v", got, want)
	}
	s.HomeRegion = "cn-north-1"
	if got := ownRoleARNs(rules, s); !slices.Contains(got, "arn:aws-cn:iam::111122223333:role/rampart-identity") {
		t.Errorf("China partition: %v", got)
	}
}

func TestEventPattern(t *testing.T) {
	p, err := eventPattern(&rule.CloudTrailTrigger{Source: "signin.amazonaws.com", DetailType: trigger.DetailSignIn, Events: []string{"ConsoleLogin"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	// Sign-ins keep their failures (errorMessage, no errorCode).
	want := `{"detail":{"eventName":["ConsoleLogin"],"eventSource":["signin.amazonaws.com"]},"detail-type":["` + trigger.DetailSignIn + `","` + trigger.DetailSignInLegacy + `"],"source":["aws.signin"]}`
	if string(b) != want {
		t.Errorf("pattern = %s\nwant %s", b, want)
	}
	// API calls that failed are filtered at the bus.
	p, err = eventPattern(&rule.CloudTrailTrigger{Source: "s3.amazonaws.com", Events: []string{"PutBucketPolicy"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(p)
	want = `{"detail":{"errorCode":[{"exists":false}],"eventName":["PutBucketPolicy"],"eventSource":["s3.amazonaws.com"]},"detail-type":["` + trigger.DetailAPICall + `"],"source":["aws.s3"]}`
	if string(b) != want {
		t.Errorf("pattern = %s\nwant %s", b, want)
	}
}

func TestCheckRules(t *testing.T) {
	if err := checkRules(fakeRules()); err != nil {
		t.Fatalf("fake rules: %v", err)
	}
	bad := []struct {
		name string
		m    rule.Meta
		want string
	}{
		{"wildcard action", rule.Meta{ID: "x", Function: "f", Schedule: "rate(1 day)", ReadActions: []string{"ec2:Describe*"}}, "without wildcards"},
		{"no actions", rule.Meta{ID: "x", Function: "f", Schedule: "rate(1 day)"}, "no IAM action"},
		{"no trigger", rule.Meta{ID: "x", Function: "f", ReadActions: []string{"ec2:DescribeVolumes"}}, "no trigger"},
		{"bad source", rule.Meta{ID: "x", Function: "f", ReadActions: []string{"a:B"},
			CloudTrail: []rule.CloudTrailTrigger{{Source: "ec2", Events: []string{"E"}}}}, "<service>.amazonaws.com"},
		{"no events", rule.Meta{ID: "x", Function: "f", ReadActions: []string{"a:B"},
			CloudTrail: []rule.CloudTrailTrigger{{Source: "ec2.amazonaws.com"}}}, "names no event"},
		{"bad frequency", rule.Meta{ID: "x", Function: "f", ReadActions: []string{"a:B"},
			Config: &rule.ConfigTrigger{Frequency: "Daily"}}, "Config frequency"},
		{"empty config", rule.Meta{ID: "x", Function: "f", ReadActions: []string{"a:B"},
			Config: &rule.ConfigTrigger{}}, "neither resource types nor a frequency"},
		{"no function", rule.Meta{ID: "x", Schedule: "rate(1 day)", ReadActions: []string{"a:B"}}, "not a directory name"},
	}
	for _, c := range bad {
		err := checkRules([]rule.Rule{&fakeRule{c.m}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", c.name, err, c.want)
		}
	}
	dup := fakeRules()[:1]
	if err := checkRules(append(dup, dup[0])); err == nil || !strings.Contains(err.Error(), "registered twice") {
		t.Errorf("duplicate ID: err = %v", err)
	}
}

func mapGetter(m map[string]any) func(string) any {
	return func(k string) any { return m[k] }
}

func noEnv(string) string { return "" }

// "none" says no e-mail is wanted: no subscription, and no e-mail check.
func TestNotificationEmailNone(t *testing.T) {
	for _, v := range []string{"none", "NONE"} {
		s, err := ParseSettings(mapGetter(map[string]any{ctxNotificationMail: v}), noEnv)
		if err != nil || s.NotificationEmail != "" {
			t.Errorf("%q: %q, %v", v, s.NotificationEmail, err)
		}
	}
	if _, err := ParseSettings(mapGetter(map[string]any{ctxNotificationMail: "nobody"}), noEnv); err == nil {
		t.Error("an address without @ accepted")
	}
}

func TestParseSettingsDefaults(t *testing.T) {
	s, err := ParseSettings(mapGetter(nil), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	// "all" by default: offline, the regions every account has enabled.
	if s.Account != PlaceholderAccount || !s.RegionsAll || !slices.Equal(s.Regions, DefaultEnabledRegions) || s.HomeRegion != "us-east-1" ||
		s.Mode != engine.Report || s.Organization != nil ||
		s.ExemptTag != engine.DefaultExemptTag || s.ExemptMaxDays != 90 || s.LogRetentionDays != 365 || s.TimeoutSeconds != 60 || s.DistDir != "dist" {
		t.Errorf("defaults = %+v", s)
	}
	if len(DefaultEnabledRegions) != 17 || !slices.IsSorted(DefaultEnabledRegions) {
		t.Errorf("DefaultEnabledRegions: %d, sorted %v", len(DefaultEnabledRegions), slices.IsSorted(DefaultEnabledRegions))
	}
	env := map[string]string{"CDK_DEFAULT_ACCOUNT": "210987654321", "CDK_DEFAULT_REGION": "eu-central-1"}
	s, err = ParseSettings(mapGetter(nil), func(k string) string { return env[k] })
	if err != nil || s.Account != "210987654321" || len(s.Regions) != 17 {
		t.Errorf("from CDK env: %+v, %v", s, err)
	}
}

func TestParseSettingsRegions(t *testing.T) {
	enabled := `["us-east-1","eu-west-1","me-south-1"]`
	for name, c := range map[string]struct {
		ctx       map[string]any
		regions   []string
		home, err string
	}{
		"all, resolved at deploy": {ctx: map[string]any{ctxRegions: "all", ctxEnabledRegions: enabled},
			regions: []string{"eu-west-1", "me-south-1", "us-east-1"}, home: "us-east-1"},
		"a list, sorted":           {ctx: map[string]any{ctxRegions: []any{"us-east-1", "eu-west-1"}}, regions: []string{"eu-west-1", "us-east-1"}, home: "us-east-1"},
		"another home":             {ctx: map[string]any{ctxRegions: `["eu-west-1","eu-north-1"]`, ctxHomeRegion: "eu-west-1"}, regions: []string{"eu-north-1", "eu-west-1"}, home: "eu-west-1"},
		"home not covered":         {ctx: map[string]any{ctxRegions: []any{"eu-west-1"}, ctxHomeRegion: "us-east-2"}, err: ctxHomeRegion},
		"default home not covered": {ctx: map[string]any{ctxRegions: []any{"eu-west-1"}}, err: ctxHomeRegion},
		"empty list":               {ctx: map[string]any{ctxRegions: []any{}}, err: ctxRegions},
		"not all":                  {ctx: map[string]any{ctxRegions: "some"}, err: ctxRegions},
		"two partitions":           {ctx: map[string]any{ctxRegions: []any{"us-east-1", "cn-north-1"}}, err: "partitions"},
		"bad enabled region":       {ctx: map[string]any{ctxEnabledRegions: `["Mars"]`}, err: ctxEnabledRegions},
	} {
		s, err := ParseSettings(mapGetter(c.ctx), noEnv)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err = %v, want one naming %s", name, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(s.Regions, c.regions) || s.HomeRegion != c.home {
			t.Errorf("%s: regions %v home %s err %v", name, s.Regions, s.HomeRegion, err)
		}
	}
	s, _ := ParseSettings(mapGetter(map[string]any{ctxRegions: []any{"us-east-1"}, ctxEnabledRegions: enabled}), noEnv)
	if note := s.regionsNote(); !strings.Contains(note, "NOT covered: eu-west-1, me-south-1") {
		t.Errorf("uncovered regions: %s", note)
	}
}

func TestParseSettingsOrganization(t *testing.T) {
	base := func(org string) map[string]any {
		return map[string]any{ctxAccount: "111122223333", ctxOrganization: org}
	}
	s, err := ParseSettings(mapGetter(base(`{"id":"o-abcdef1234","targets":["ou-ab12-abcdefgh"],"managementAccount":"999988887777"}`)), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if o := s.Organization; o == nil || o.MemberRoleName != "rampart-member" || o.MaxConcurrency != 5 ||
		!slices.Equal(o.DeploymentTargets(), []string{"ou-ab12-abcdefgh"}) {
		t.Errorf("organization = %+v", s.Organization)
	}
	s, err = ParseSettings(mapGetter(base(`{"id":"o-abcdef1234","targets":"all","root":"r-ab12"}`)), noEnv)
	if err != nil || !slices.Equal(s.Organization.DeploymentTargets(), []string{"r-ab12"}) {
		t.Errorf("all: %+v %v", s.Organization, err)
	}
	for name, org := range map[string]string{
		"bad id":               `{"id":"org-1","targets":"all","root":"r-ab12"}`,
		"all without root":     `{"id":"o-abcdef1234","targets":"all"}`,
		"no targets":           `{"id":"o-abcdef1234"}`,
		"bad OU":               `{"id":"o-abcdef1234","targets":["engineering"]}`,
		"not all":              `{"id":"o-abcdef1234","targets":"some"}`,
		"from management":      `{"id":"o-abcdef1234","targets":"all","root":"r-ab12","managementAccount":"111122223333"}`,
		"bad role name":        `{"id":"o-abcdef1234","targets":"all","root":"r-ab12","memberRoleName":"a/b"}`,
		"concurrency too low":  `{"id":"o-abcdef1234","targets":"all","root":"r-ab12","maxConcurrency":1}`,
		"unknown field (typo)": `{"id":"o-abcdef1234","targets":"all","root":"r-ab12","memberRole":"x"}`,
	} {
		if _, err := ParseSettings(mapGetter(base(org)), noEnv); err == nil || !strings.Contains(err.Error(), ctxOrganization) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestOwnRolesMustBeARNs(t *testing.T) {
	for _, bad := range []string{"break-glass", "arn:aws:iam::111122223333:user/alice", "arn:aws:iam::1111:role/x",
		"arn:aws:iam::111122223333:role/", "arn:aws:iam::111122223333:role/a,b", "arn:aws:sts::111122223333:assumed-role/x/y"} {
		if _, err := ParseSettings(mapGetter(map[string]any{ctxOwnRoles: []any{bad}}), noEnv); err == nil || !strings.Contains(err.Error(), ctxOwnRoles) {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
	for _, ok := range []string{"arn:aws:iam::111122223333:role/break-glass", "arn:aws-us-gov:iam::111122223333:role/path/ops"} {
		if _, err := ParseSettings(mapGetter(map[string]any{ctxOwnRoles: []any{ok}}), noEnv); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

func TestParseSettingsFromJSONAndCommandLine(t *testing.T) {
	// cdk.json values arrive decoded; -c key=value ones as strings.
	fromFile := map[string]any{
		ctxAccount:          "111122223333",
		ctxRegions:          []any{"us-east-1", "eu-west-1"},
		ctxMode:             "enforce",
		ctxRuleModes:        map[string]any{"fake-sg-open": "report"},
		ctxParams:           map[string]any{"fake-sg-open": map[string]any{"ports": "22,3389"}},
		ctxOwnRoles:         []any{"arn:aws:iam::111122223333:role/break-glass"},
		ctxNotificationMail: "sec@example.com",
		ctxExemptions: []any{map[string]any{"rule": "*", "resource": "sg-1", "reason": "lab",
			"owner": "team@example.com", "expires": "2099-01-01"}},
		ctxLogRetentionDays: float64(90),
		ctxMemoryMB:         map[string]any{"storage": float64(256)},
		ctxTimeoutSeconds:   float64(120),
		ctxExemptMaxDays:    float64(30),
	}
	fromCLI := map[string]any{}
	for k, v := range fromFile {
		if s, ok := v.(string); ok {
			fromCLI[k] = s
			continue
		}
		b, _ := json.Marshal(v)
		fromCLI[k] = string(b)
	}
	for name, ctx := range map[string]map[string]any{"cdk.json": fromFile, "-c": fromCLI} {
		s, err := ParseSettings(mapGetter(ctx), noEnv)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if s.Account != "111122223333" || len(s.Regions) != 2 || s.Mode != engine.Enforce ||
			s.RuleModes["fake-sg-open"] != engine.Report || s.Params["fake-sg-open"]["ports"] != "22,3389" ||
			s.OwnRoles[0] != "arn:aws:iam::111122223333:role/break-glass" || s.NotificationEmail != "sec@example.com" || len(s.Exemptions) != 1 ||
			s.LogRetentionDays != 90 || s.memoryFor("storage") != 256 || s.memoryFor("network") != 128 || s.TimeoutSeconds != 120 ||
			s.ExemptMaxDays != 30 {
			t.Errorf("%s: %+v", name, s)
		}
		if err := s.Check(fakeRules()); err != nil {
			t.Errorf("%s: Check: %v", name, err)
		}
	}
}

func TestParseSettingsErrors(t *testing.T) {
	for key, v := range map[string]any{
		ctxAccount:          "12345",
		ctxRegions:          []any{"us-east-1", "Mars"},
		ctxMode:             "yolo",
		ctxRuleModes:        map[string]any{"x": "maybe"},
		ctxNotificationMail: "not-an-address",
		ctxExemptions:       []any{map[string]any{"rule": "*", "resource": "sg-1"}},
		ctxLogRetentionDays: float64(42),
		ctxMemoryMB:         map[string]any{"storage": float64(64)},
		ctxTimeoutSeconds:   float64(901),
		ctxOwnRoles:         "not a list",
		ctxExemptMaxDays:    float64(0),
	} {
		if _, err := ParseSettings(mapGetter(map[string]any{key: v}), noEnv); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%v: err = %v, want one naming the key", key, v, err)
		}
	}
}

func TestSettingsCheckRejectsTypos(t *testing.T) {
	for name, s := range map[string]Settings{
		"rule mode of no rule":  {RuleModes: map[string]engine.Mode{"fake-sg-opne": engine.Enforce}},
		"params of no rule":     {Params: map[string]map[string]string{"nope": {"a": "b"}}},
		"unknown parameter":     {Params: map[string]map[string]string{"fake-sg-open": {"prots": "22"}}},
		"invalid parameter":     {Params: map[string]map[string]string{"fake-bucket-public": {"level": "medium"}}},
		"exemption of no rule":  {Exemptions: []engine.Exemption{{Rule: "nope", Resource: "r", Reason: "x", Owner: "o", Expires: "2099-01-01"}}},
		"memory of no function": {MemoryMB: map[string]int{"nofn": 256}},
	} {
		if err := s.Check(fakeRules()); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestUnknownKeys(t *testing.T) {
	got := UnknownKeys(map[string]any{ctxMode: "report", "rampart:regoins": []any{}, "@aws-cdk/core:flag": true})
	if !slices.Equal(got, []string{"rampart:regoins"}) {
		t.Errorf("unknown = %v", got)
	}
}

func TestFunctionEnv(t *testing.T) {
	s := Settings{
		Mode:      engine.Enforce,
		ExemptTag: "team:exempt",
		RuleModes: map[string]engine.Mode{"fake-sg-open": engine.Report, "fake-bucket-public": engine.Report},
		Params:    map[string]map[string]string{"fake-sg-open": {"ports": "22,3389"}, "fake-bucket-public": {"level": "lax"}},
		Exemptions: []engine.Exemption{
			{Rule: "*", Resource: "sg-1", Reason: "lab", Owner: "o", Expires: "2099-01-01"},
			{Rule: "fake-bucket-public", Resource: "b", Reason: "site", Owner: "o", Expires: "2099-01-01"},
		},
		ExemptMaxDays: 30,
	}
	p := planRegion(fakeRules(), "us-east-1", "us-east-1")
	network := p.Functions[1]
	s.HomeRegion, s.Regions = "us-east-1", []string{"eu-west-1", "us-east-1"}
	s.Organization = &Organization{ID: "o-abcdef1234", MemberRoleName: "rampart-member"}
	env, err := s.functionEnv(&network, []string{"arn:aws:iam::111122223333:role/r1", "arn:aws:iam::111122223333:role/r2"}, "arn:aws:sns:us-east-1:111122223333:t", regionEnv(&s))
	if err != nil {
		t.Fatal(err)
	}
	// The configuration must read back through the engine's own parser.
	cfg, err := engine.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("engine.FromEnv: %v (env %v)", err, env)
	}
	if cfg.Mode != engine.Enforce || cfg.ModeFor("fake-sg-open") != engine.Report || cfg.ExemptTag != "team:exempt" || cfg.ExemptMaxDays != 30 ||
		!slices.Equal(cfg.OwnRoles, []string{"arn:aws:iam::111122223333:role/r1", "arn:aws:iam::111122223333:role/r2"}) || cfg.TopicARN != "arn:aws:sns:us-east-1:111122223333:t" ||
		cfg.Params["fake-sg-open"]["ports"] != "22,3389" {
		t.Errorf("config = %+v", cfg)
	}
	for k, v := range map[string]string{envHomeRegion: "us-east-1", envRegions: "eu-west-1,us-east-1",
		envOrgID: "o-abcdef1234", envMemberRole: "rampart-member"} {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	// Only the function's own rules' settings.
	if _, ok := cfg.RuleModes["fake-bucket-public"]; ok {
		t.Errorf("network got storage's rule mode: %v", env[engine.EnvRuleModes])
	}
	if _, ok := cfg.Params["fake-bucket-public"]; ok {
		t.Errorf("network got storage's params: %v", env[engine.EnvParams])
	}
	if len(cfg.Exemptions) != 1 || cfg.Exemptions[0].Rule != "*" {
		t.Errorf("network exemptions = %+v, want only the rule \"*\" one", cfg.Exemptions)
	}

	s.Exemptions = nil
	for i := range 200 {
		s.Exemptions = append(s.Exemptions, engine.Exemption{Rule: "*", Resource: strings.Repeat("r", 10) + string(rune('a'+i%26)),
			Reason: "a long enough reason", Owner: "o", Expires: "2099-01-01"})
	}
	if _, err := s.functionEnv(&network, nil, "t", nil); err == nil || !strings.Contains(err.Error(), "4 KB") {
		t.Errorf("oversized environment: err = %v", err)
	}
}

func TestConfigParamsDropBlanks(t *testing.T) {
	s := Settings{Params: map[string]map[string]string{"fake-bucket-public": {"level": "lax"}}}
	p, err := s.configParams(fakeRules()[0].Meta())
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 1 || p["level"] != "lax" {
		t.Errorf("params = %v, want level=lax and no blank allowedBuckets", p)
	}
}

// The committed cdk.json must hold valid settings for the current catalog,
// with no unknown rampart: key.
func TestCdkJSONSettings(t *testing.T) {
	b, err := os.ReadFile("../cdk.json")
	if err != nil {
		t.Fatal(err)
	}
	var cdkJSON struct {
		App     string
		Context map[string]any
	}
	if err := json.Unmarshal(b, &cdkJSON); err != nil {
		t.Fatal(err)
	}
	if cdkJSON.App != "go run ./infra" {
		t.Errorf("app = %q", cdkJSON.App)
	}
	if u := UnknownKeys(cdkJSON.Context); len(u) > 0 {
		t.Errorf("unknown keys %v", u)
	}
	for _, k := range contextKeys {
		if _, ok := cdkJSON.Context[k]; !ok {
			t.Errorf("cdk.json lacks %s: list every setting with its default, as docs/deploy.md does", k)
		}
	}
	s, err := ParseSettings(mapGetter(cdkJSON.Context), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(catalog.All()); err != nil {
		t.Error(err)
	}
	if err := checkRules(catalog.All()); err != nil {
		t.Error(err)
	}
}

// The example settings in docs/deploy.md must be valid for the catalog.
func TestDeployDocExample(t *testing.T) {
	b, err := os.ReadFile("../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range contextKeys {
		if !strings.Contains(string(b), "| `"+k+"` |") {
			t.Errorf("docs/deploy.md's settings reference lacks %s", k)
		}
	}
	_, rest, ok := strings.Cut(string(b), "### Example")
	if !ok {
		t.Fatal("docs/deploy.md has no example section")
	}
	_, rest, _ = strings.Cut(rest, "```json\n")
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("docs/deploy.md's example has no json block")
	}
	var ctx map[string]any
	if err := json.Unmarshal([]byte("{"+block+"}"), &ctx); err != nil {
		t.Fatalf("example: %v", err)
	}
	if u := UnknownKeys(ctx); len(u) > 0 {
		t.Errorf("example uses unknown keys %v", u)
	}
	s, err := ParseSettings(mapGetter(ctx), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(catalog.All()); err != nil {
		t.Errorf("example: %v", err)
	}
}

// TestServiceEventsArePlannedLikeCloudTrail: one EventBridge rule per
// function, source and detail-type with the union of the detail filters; a
// region-pinned trigger wired in the home region only and forwarded there
// from the others; a filter that cannot merge field by field is dropped.
func TestServiceEventsArePlannedLikeCloudTrail(t *testing.T) {
	running := rule.EventTrigger{Source: "aws.ec2", DetailType: "EC2 Instance State-change Notification", Detail: map[string]any{"state": []any{"running"}}}
	stopped := rule.EventTrigger{Source: "aws.ec2", DetailType: "EC2 Instance State-change Notification", Detail: map[string]any{"state": []any{"stopped"}}}
	health := rule.EventTrigger{Source: "aws.health", DetailType: "AWS Health Event", Detail: map[string]any{"eventTypeCode": []any{"AWS_RISK_CREDENTIALS_EXPOSED"}}, Region: "us-east-1"}
	meta := func(id, fn string, evs ...rule.EventTrigger) rule.Rule {
		return &fakeRule{rule.Meta{ID: id, Title: id, Function: fn, ResourceType: "AWS::EC2::Instance", Events: evs, ReadActions: []string{"ec2:DescribeInstances"}}}
	}
	rules := []rule.Rule{meta("a", "compute", running), meta("b", "compute", stopped), meta("c", "keys", health)}
	if err := checkRules(rules); err != nil {
		t.Fatal(err)
	}
	home := planRegion(rules, "eu-west-1", "eu-west-1")
	if len(home.Functions) != 2 || len(home.ForwardServices) != 0 {
		t.Fatalf("home plan: %+v", home)
	}
	compute := home.Functions[0]
	if len(compute.Services) != 1 || !slices.Equal(compute.Services[0].RuleIDs, []string{"a", "b"}) || len(compute.EventRules) != 2 {
		t.Fatalf("compute services: %+v", compute.Services)
	}
	if got := fmt.Sprint(compute.Services[0].Trigger.Detail["state"]); got != "[running stopped]" {
		t.Errorf("merged state filter = %s", got)
	}
	other := planRegion(rules, "us-east-1", "eu-west-1")
	if len(other.Functions) != 1 || other.Functions[0].Name != "compute" || len(other.ForwardServices) != 1 || other.ForwardServices[0].Trigger.Source != "aws.health" {
		t.Fatalf("us-east-1 with home eu-west-1: %+v", other)
	}
	if got := mergeDetail(running.Detail, map[string]any{"instance-id": []any{"i-1"}}); got != nil {
		t.Errorf("filters over different fields merged into %v", got)
	}
	for _, name := range []string{serviceRuleName("compute", &running), forwardServiceName(&health, "-home"),
		forwardServiceName(&rule.EventTrigger{Source: "aws.trustedadvisor", DetailType: "Trusted Advisor Check Item Refresh Notification"}, "-home")} {
		if len(name) > 64 || !strings.HasPrefix(name, "rampart-") {
			t.Errorf("rule name %q", name)
		}
	}
	if !strings.HasSuffix(forwardServiceName(&rule.EventTrigger{Source: "aws.trustedadvisor", DetailType: "Trusted Advisor Check Item Refresh Notification"}, "-home"), "-home") {
		t.Error("the suffix was cut")
	}
	bad := []rule.Rule{meta("d", "x", rule.EventTrigger{Source: "custom.app", DetailType: "x"}), meta("e", "x", rule.EventTrigger{Source: "aws.ec2"})}
	if err := checkRules(bad); err == nil || !strings.Contains(err.Error(), "custom.app") || !strings.Contains(err.Error(), "no detail-type") {
		t.Errorf("checkRules(bad) = %v", err)
	}
}
