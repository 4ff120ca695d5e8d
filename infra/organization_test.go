package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/rampart-aws/rampart/internal/catalog"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
)

var testOrg = &Organization{ID: "o-abcdef1234", ManagementAccount: "999988887777",
	Targets: OrgTargets{OUs: []string{"ou-ab12-abcdefgh"}}, MemberRoleName: "rampart-member", MaxConcurrency: 5}

// orgApp is the catalog deployed in organization mode.
func orgApp(t *testing.T) *synthed {
	return synth(t, "org", catalog.All(), Settings{
		Account: "111122223333", Regions: regions, HomeRegion: home, Mode: engine.Report, ExemptTag: engine.DefaultExemptTag,
		LogRetentionDays: 365, TimeoutSeconds: 60, Organization: testOrg,
	})
}

// allApps are apps plus organization mode.
func allApps(t *testing.T) map[string]*synthed {
	m := apps(t)
	m["org"] = orgApp(t)
	return m
}

// memberTemplateOf is the StackSet's body.
func memberTemplateOf(t *testing.T, a *synthed) map[string]any {
	t.Helper()
	sets := resources(a.json[home], "AWS::CloudFormation::StackSet")
	if len(sets) != 1 {
		t.Fatalf("%d StackSets in the home region, want 1", len(sets))
	}
	for _, ss := range sets {
		var tpl map[string]any
		if err := json.Unmarshal([]byte(props(ss)["TemplateBody"].(string)), &tpl); err != nil {
			t.Fatal(err)
		}
		return tpl
	}
	return nil
}

func TestOrganizationStackSet(t *testing.T) {
	a := orgApp(t)
	must(t, "StackSet", func() {
		a.tpl[home].HasResourceProperties(jsii.String("AWS::CloudFormation::StackSet"), &map[string]any{
			"StackSetName":    "rampart-member",
			"PermissionModel": "SERVICE_MANAGED",
			"CallAs":          "DELEGATED_ADMIN",
			"AutoDeployment":  map[string]any{"Enabled": true, "RetainStacksOnAccountRemoval": false},
			"Capabilities":    []any{"CAPABILITY_NAMED_IAM"},
			"StackInstancesGroup": []any{map[string]any{
				"DeploymentTargets": map[string]any{"OrganizationalUnitIds": []any{"ou-ab12-abcdefgh"},
					"AccountFilterType": "DIFFERENCE", "Accounts": []any{"111122223333"}},
				"Regions": assertions.Match_ArrayEquals(strs(regions)),
			}},
		})
	})
	if n := len(resources(a.json[regions[1]], "AWS::CloudFormation::StackSet")); n != 0 {
		t.Errorf("%d StackSets outside the home region", n)
	}
}

func TestOrganizationBusPolicyAndConfigRules(t *testing.T) {
	a := orgApp(t)
	for _, region := range regions {
		must(t, region+": bus policy", func() {
			a.tpl[region].HasResourceProperties(jsii.String("AWS::Events::EventBusPolicy"), &map[string]any{
				"EventBusName": "default",
				"Statement": map[string]any{
					"Effect": "Allow", "Principal": "*", "Action": "events:PutEvents", "Sid": assertions.Match_AnyValue(),
					"Resource":  "arn:aws:events:" + region + ":111122223333:event-bus/default",
					"Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": testOrg.ID}},
				},
			})
		})
		n := 0
		for _, r := range a.rules {
			m := r.Meta()
			if !configIn(m, region) {
				continue
			}
			n++
			fn := functionID(t, a.json[region], m.Function)
			must(t, fmt.Sprintf("%s: organization Config rule of %s", region, m.ID), func() {
				a.tpl[region].HasResourceProperties(jsii.String("AWS::Config::OrganizationConfigRule"), &map[string]any{
					"OrganizationConfigRuleName": orgConfigRuleName(m),
					"ExcludedAccounts":           []any{"111122223333", "999988887777"},
					"OrganizationCustomRuleMetadata": assertions.Match_ObjectLike(&map[string]any{
						"LambdaFunctionArn": getAtt(fn),
					}),
				})
			})
		}
		if got := len(resources(a.json[region], "AWS::Config::OrganizationConfigRule")); got != n || n == 0 {
			t.Errorf("%s: %d organization Config rules, want %d", region, got, n)
		}
		// Config invokes the functions from the member accounts.
		must(t, region+": Config may invoke from member accounts", func() {
			a.tpl[region].HasResourceProperties(jsii.String("AWS::Lambda::Permission"), &map[string]any{
				"Principal": "config.amazonaws.com", "SourceAccount": assertions.Match_Absent(),
			})
		})
	}
}

// TestOrganizationSweepFanOut: each function with a sweep has its fan-out
// queue, read one message at a time with bounded concurrency.
func TestOrganizationSweepFanOut(t *testing.T) {
	a := orgApp(t)
	for _, region := range regions {
		fns := map[string]bool{}
		for _, r := range a.rules {
			if sweptIn(r.Meta(), region) {
				fns[r.Meta().Function] = true
			}
		}
		for fn := range fns {
			must(t, fmt.Sprintf("%s: fan-out of %s", region, fn), func() {
				a.tpl[region].HasResourceProperties(jsii.String("AWS::SQS::Queue"), &map[string]any{
					"QueueName":     "rampart-" + fn + "-sweep",
					"RedrivePolicy": assertions.Match_ObjectLike(&map[string]any{"maxReceiveCount": 3}),
				})
				a.tpl[region].HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), &map[string]any{
					"FunctionName":   map[string]any{"Ref": functionID(t, a.json[region], fn)},
					"BatchSize":      1,
					"ScalingConfig":  map[string]any{"MaximumConcurrency": testOrg.MaxConcurrency},
					"EventSourceArn": assertions.Match_AnyValue(),
				})
			})
			f := props(resources(a.json[region], "AWS::Lambda::Function")[functionID(t, a.json[region], fn)])
			if _, ok := f["Environment"].(map[string]any)["Variables"].(map[string]any)[envSweepQueueURL]; !ok {
				t.Errorf("%s: %s lacks %s", region, fn, envSweepQueueURL)
			}
		}
		if got := len(resources(a.json[region], "AWS::Lambda::EventSourceMapping")); got != len(fns) || got == 0 {
			t.Errorf("%s: %d event source mappings, want %d", region, got, len(fns))
		}
	}
	// The function roles may assume the member role, in the organization only.
	js := a.json[home]
	found := false
	for _, p := range resources(js, "AWS::IAM::Policy") {
		for _, st := range props(p)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			st := st.(map[string]any)
			if st["Action"] == "sts:AssumeRole" {
				found = true
				if st["Resource"] != "arn:aws:iam::*:role/rampart-member" ||
					fmt.Sprint(st["Condition"]) != fmt.Sprint(map[string]any{"StringEquals": map[string]any{"aws:ResourceOrgID": testOrg.ID}}) {
					t.Errorf("sts:AssumeRole statement %v", st)
				}
			}
		}
	}
	if !found {
		t.Error("no function role may assume the member role")
	}
}

// TestMemberTemplate: forwarding rules for every Rampart pattern (global
// ones, the sign-ins included, straight to the home bus), and the member
// role, in the home region only, trusted by the exact function role ARNs
// within the organization.
func TestMemberTemplate(t *testing.T) {
	a := orgApp(t)
	tpl := memberTemplateOf(t, a)
	regional, global := allEventGroups(a.rules)
	regionalSvc, globalSvc := allServiceGroups(a.rules)
	rules := resources(tpl, "AWS::Events::Rule")
	if want := len(regional) + len(global) + len(regionalSvc) + len(globalSvc); len(rules) != want {
		t.Errorf("%d forwarding rules, want %d", len(rules), want)
	}
	targets := map[string]string{}
	for _, r := range rules {
		p := props(r)
		tgt := p["Targets"].([]any)[0].(map[string]any)
		b, _ := json.Marshal(tgt["Arn"])
		targets[p["Name"].(string)] = string(b)
		if tgt["RoleArn"] == nil {
			t.Errorf("%v: target without a role", p["Name"])
		}
	}
	if got := targets["rampart-forward-signin-home"]; got != `"arn:aws:events:us-east-1:111122223333:event-bus/default"` {
		t.Errorf("sign-ins forwarded to %s, want the home bus", got)
	}
	if got := targets["rampart-forward-ec2"]; !strings.Contains(got, "${AWS::Region}:111122223333:event-bus/default") {
		t.Errorf("ec2 events forwarded to %s, want the same region's bus", got)
	}
	if got := targets[forwardServiceName(&rule.EC2InstanceRunning, "")]; !strings.Contains(got, "${AWS::Region}:111122223333:event-bus/default") {
		t.Errorf("EC2 state changes forwarded to %s, want the same region's bus", got)
	}
	roles := resources(tpl, "AWS::IAM::Role")
	var member map[string]any
	for _, r := range roles {
		if props(r)["RoleName"] == "rampart-member" {
			member = r
		}
	}
	if member == nil {
		t.Fatal("no member role")
	}
	if member["Condition"] != "IsHomeRegion" {
		t.Errorf("member role condition %v", member["Condition"])
	}
	trust := props(member)["AssumeRolePolicyDocument"].(map[string]any)["Statement"].([]any)
	if len(trust) != 1 {
		t.Fatalf("trust %v", trust)
	}
	st := trust[0].(map[string]any)
	var principals []string
	for _, p := range st["Principal"].(map[string]any)["AWS"].([]any) {
		principals = append(principals, p.(string))
	}
	var want []string
	for fn := range catalog.Functions() {
		want = append(want, "arn:aws:iam::111122223333:role/rampart-"+fn)
	}
	slices.Sort(want)
	slices.Sort(principals)
	if !slices.Equal(principals, want) {
		t.Errorf("member role trusts %v, want exactly %v", principals, want)
	}
	if fmt.Sprint(st["Condition"]) != fmt.Sprint(map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": testOrg.ID}}) {
		t.Errorf("trust condition %v", st["Condition"])
	}
	actions := roleActions(map[string]any{"Resources": map[string]any{"M": member}}, "M")
	want, err := memberActions(a.rules, &a.settings)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(actions, want) || !slices.Contains(actions, "config:PutEvaluations") {
		t.Errorf("member role actions %v", actions)
	}
	// No rampart:params here: the write actions only a parameter enables
	// are not the member role's either.
	for _, gated := range []string{"config:PutConfigurationRecorder", "config:PutDeliveryChannel", "cloudtrail:CreateTrail",
		"ec2:ModifyEbsDefaultKmsKeyId", "ec2:CreateFlowLogs", "logs:CreateLogDelivery"} {
		if slices.Contains(actions, gated) {
			t.Errorf("member role holds %s, which no deployed parameter enables", gated)
		}
	}
	for _, act := range actions {
		if strings.ContainsAny(act, "*?") {
			t.Errorf("member role grants the wildcard action %s", act)
		}
	}
}

// TestMemberTemplateLints runs cfn-lint on the member template (make synth
// lints it too, in organization mode); skipped where cfn-lint is missing.
func TestMemberTemplateLints(t *testing.T) {
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint not installed")
	}
	a := orgApp(t)
	path := filepath.Join(t.TempDir(), "member.template.json")
	b, _ := json.Marshal(memberTemplateOf(t, a))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(lint, path).CombinedOutput()
	// cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational.
	var ee *exec.ExitError
	if ok := errors.As(err, &ee); ok && ee.ExitCode()&3 != 0 || err != nil && !ok {
		t.Errorf("cfn-lint: %v\n%s", err, out)
	}
}
