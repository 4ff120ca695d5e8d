package main

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/pkg/awsclient"
	"github.com/rampart-aws/rampart/pkg/catalog"
	"github.com/rampart-aws/rampart/pkg/engine"
	"github.com/rampart-aws/rampart/pkg/rule"
	"github.com/rampart-aws/rampart/pkg/trigger"
)

// These tests need no CDK (no node): they cover the derivation and the
// settings. stack_test.go checks the synthesized templates.

// fakeRule is a rule that only has metadata: what infra reads.
type fakeRule struct{ m rule.Meta }

func (f *fakeRule) Meta() *rule.Meta { return &f.m }
func (f *fakeRule) Targets(*trigger.APICall, rule.Params) ([]rule.Target, error) {
	return nil, nil
}
func (f *fakeRule) Evaluate(context.Context, *awsclient.Session, rule.Target, rule.Params) (rule.Finding, error) {
	return rule.Finding{}, nil
}
func (f *fakeRule) Apply(context.Context, *awsclient.Session, rule.Action) error { return nil }

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
	both := []string{"us-east-1", "eu-west-1"}
	east := planRegion(rules, "us-east-1", both)
	west := planRegion(rules, "eu-west-1", both)
	names := func(p regionPlan) (out []string) {
		for _, f := range p.Functions {
			out = append(out, f.Name)
		}
		return out
	}
	if got := names(east); !slices.Equal(got, []string{"identity", "network", "storage"}) {
		t.Errorf("us-east-1 functions = %v", got)
	}
	// identity's rules are global: their events arrive, and their sweeps
	// run, in us-east-1 only.
	if got := names(west); !slices.Equal(got, []string{"network", "storage"}) {
		t.Errorf("eu-west-1 functions = %v", got)
	}
	if got := len(east.Functions[0].Sweeps); got != 2 {
		t.Errorf("us-east-1 identity sweeps = %d, want 2", got)
	}
	// Without us-east-1, the global sweeps run in the first region (the
	// sign-in events have nowhere to go: unplacedRules reports them).
	onlyWest := planRegion(rules, "eu-west-1", []string{"eu-west-1", "ap-south-1"})
	if got := names(onlyWest); !slices.Equal(got, []string{"identity", "network", "storage"}) {
		t.Errorf("eu-west-1 alone: functions = %v", got)
	} else if f := onlyWest.Functions[0]; len(f.Sweeps) != 2 || len(f.EventRules) != 0 {
		t.Errorf("eu-west-1 alone: identity has %d sweeps, %d event rules", len(f.Sweeps), len(f.EventRules))
	}
	if got := names(planRegion(rules, "ap-south-1", []string{"eu-west-1", "ap-south-1"})); !slices.Equal(got, []string{"network", "storage"}) {
		t.Errorf("ap-south-1: functions = %v", got)
	}
	storage := east.Functions[2]
	if want := []string{"ec2:DescribeVolumes", "s3:GetBucketAcl", "s3:GetBucketPolicy", "s3:PutPublicAccessBlock"}; !slices.Equal(storage.Actions, want) {
		t.Errorf("storage actions = %v, want the sorted, de-duplicated union %v", storage.Actions, want)
	}
	if len(storage.EventRules) != 1 || len(storage.ConfigRules) != 2 || len(storage.Sweeps) != 1 {
		t.Errorf("storage wiring: %d event, %d config, %d sweep rules", len(storage.EventRules), len(storage.ConfigRules), len(storage.Sweeps))
	}
	roles := ownRoleNames(rules, []string{"us-east-1", "eu-west-1"}, []string{"break-glass", "rampart-network-eu-west-1"})
	want := []string{"break-glass", "rampart-identity-us-east-1", "rampart-network-eu-west-1", "rampart-network-us-east-1",
		"rampart-storage-eu-west-1", "rampart-storage-us-east-1"}
	if !slices.Equal(roles, want) {
		t.Errorf("own roles = %v, want %v", roles, want)
	}
	if got := unplacedRules(rules, []string{"eu-west-1"}); len(got) != 1 || !strings.HasPrefix(got[0], "fake-root-signin") {
		t.Errorf("unplaced = %v", got)
	}
}

func TestEventPattern(t *testing.T) {
	p, err := eventPattern(&rule.CloudTrailTrigger{Source: "signin.amazonaws.com", DetailType: trigger.DetailSignIn, Events: []string{"ConsoleLogin"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	want := `{"detail":{"eventName":["ConsoleLogin"],"eventSource":["signin.amazonaws.com"]},"detail-type":["` + trigger.DetailSignIn + `","` + trigger.DetailSignInLegacy + `"],"source":["aws.signin"]}`
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

func TestParseSettingsDefaults(t *testing.T) {
	s, err := ParseSettings(mapGetter(nil), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if s.Account != PlaceholderAccount || !slices.Equal(s.Regions, []string{"us-east-1"}) || s.Mode != engine.Report ||
		s.ExemptTag != engine.DefaultExemptTag || s.ExemptMaxDays != 90 || s.LogRetentionDays != 365 || s.TimeoutSeconds != 60 || s.DistDir != "dist" {
		t.Errorf("defaults = %+v", s)
	}
	env := map[string]string{"CDK_DEFAULT_ACCOUNT": "210987654321", "CDK_DEFAULT_REGION": "eu-central-1"}
	s, err = ParseSettings(mapGetter(nil), func(k string) string { return env[k] })
	if err != nil || s.Account != "210987654321" || !slices.Equal(s.Regions, []string{"eu-central-1"}) {
		t.Errorf("from CDK env: %+v, %v", s, err)
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
		ctxOwnRoles:         []any{"break-glass"},
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
			s.OwnRoles[0] != "break-glass" || s.NotificationEmail != "sec@example.com" || len(s.Exemptions) != 1 ||
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
	p := planRegion(fakeRules(), "us-east-1", []string{"us-east-1"})
	network := p.Functions[1]
	env, err := s.functionEnv(&network, []string{"r1", "r2"}, "arn:aws:sns:us-east-1:111122223333:t")
	if err != nil {
		t.Fatal(err)
	}
	// The configuration must read back through the engine's own parser.
	cfg, err := engine.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("engine.FromEnv: %v (env %v)", err, env)
	}
	if cfg.Mode != engine.Enforce || cfg.ModeFor("fake-sg-open") != engine.Report || cfg.ExemptTag != "team:exempt" || cfg.ExemptMaxDays != 30 ||
		!slices.Equal(cfg.OwnRoles, []string{"r1", "r2"}) || cfg.TopicARN != "arn:aws:sns:us-east-1:111122223333:t" ||
		cfg.Params["fake-sg-open"]["ports"] != "22,3389" {
		t.Errorf("config = %+v", cfg)
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
	if _, err := s.functionEnv(&network, nil, "t"); err == nil || !strings.Contains(err.Error(), "4 KB") {
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
