package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/rampart-aws/rampart/internal/catalog"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/securityhub"
)

// securityHubApp is the real catalog with rampart:securityHub on.
func securityHubApp(t *testing.T) *synthed {
	return synth(t, "securityhub", catalog.All(), Settings{
		Account: "111122223333", Regions: regions, HomeRegion: home, Mode: engine.Report, ExemptTag: engine.DefaultExemptTag,
		LogRetentionDays: 365, TimeoutSeconds: 60, NotificationEmail: "security@example.com", SecurityHub: true,
	})
}

func TestSecurityHubSetting(t *testing.T) {
	s, err := ParseSettings(mapGetter(nil), noEnv)
	if err != nil || s.SecurityHub {
		t.Fatalf("default: %v, %v", s.SecurityHub, err)
	}
	for _, v := range []any{true, "true"} {
		s, err := ParseSettings(mapGetter(map[string]any{ctxSecurityHub: v}), noEnv)
		if err != nil || !s.SecurityHub {
			t.Fatalf("%v: %v, %v", v, s.SecurityHub, err)
		}
	}
	if _, err := ParseSettings(mapGetter(map[string]any{ctxSecurityHub: "yes please"}), noEnv); err == nil {
		t.Fatal("a non-boolean rampart:securityHub was accepted")
	}
}

// Off (the catalog app): no action target, no custom-action rule, no
// Security Hub permission or variable, no SecurityHubFailed alarm.
func TestSecurityHubOffDeploysNothing(t *testing.T) {
	a := catalogApp(t)
	for _, region := range regions {
		js := a.json[region]
		if n := len(resources(js, "Custom::SecurityHubActionTarget")); n != 0 {
			t.Errorf("%s: %d action targets", region, n)
		}
		b, _ := json.Marshal(js)
		for _, s := range []string{"securityhub:BatchImportFindings", engine.EnvSecurityHub, "rampart-securityhub-failed", securityhub.DetailCustomAction} {
			if strings.Contains(string(b), s) {
				t.Errorf("%s: the template mentions %s", region, s)
			}
		}
	}
}

// On: every region has the action target; every function its routing
// rule (the action target, its rules' controls and its own findings), the
// variable, and its role the import on the default product only; the
// SecurityHubFailed alarm watches the imports.
func TestSecurityHubOn(t *testing.T) {
	a := securityHubApp(t)
	if errs := a.nagError; len(errs) > 0 {
		t.Fatalf("cdk-nag: %v", errs)
	}
	for _, region := range regions {
		js := a.json[region]
		targets := resources(js, "Custom::SecurityHubActionTarget")
		if len(targets) != 1 {
			t.Fatalf("%s: %d action targets", region, len(targets))
		}
		for _, r := range targets {
			b, _ := json.Marshal(props(r))
			for _, want := range []string{`createActionTarget`, `deleteActionTarget`, `\"Id\":\"` + securityhub.ActionID + `\"`, `\"Name\":\"` + securityhub.ActionName + `\"`} {
				if !strings.Contains(string(b), want) {
					t.Errorf("%s: action target %s lacks %s", region, b, want)
				}
			}
		}
		if len(securityhub.ActionName) >= 20 || len(securityhub.ActionID) > 20 {
			t.Errorf("action name %q or ID %q too long", securityhub.ActionName, securityhub.ActionID)
		}
		arn := fmt.Sprintf("arn:aws:securityhub:%s:111122223333:action/custom/%s", region, securityhub.ActionID)
		rules := map[string]map[string]any{}
		for _, r := range resources(js, "AWS::Events::Rule") {
			if n, _ := props(r)["Name"].(string); strings.HasSuffix(n, "-securityhub-action") {
				rules[n] = props(r)
			}
		}
		for fn, rs := range catalog.Functions() {
			if !slices.ContainsFunc(rs, func(r rule.Rule) bool { return hasTriggerIn(r.Meta(), region) }) {
				continue // the function is not in this region
			}
			p, ok := rules[customActionRuleName(fn)]
			if !ok {
				t.Errorf("%s: no custom-action rule for %s", region, fn)
				continue
			}
			pat := p["EventPattern"].(map[string]any)
			if fmt.Sprint(pat["source"]) != "[aws.securityhub]" || fmt.Sprint(pat["detail-type"]) != "["+securityhub.DetailCustomAction+"]" ||
				fmt.Sprint(pat["resources"]) != "["+arn+"]" {
				t.Errorf("%s %s: pattern %v", region, fn, pat)
			}
			b, _ := json.Marshal(pat["detail"])
			for _, r := range rs {
				m := r.Meta()
				if !strings.Contains(string(b), `"`+m.ID+`"`) {
					t.Errorf("%s %s: Rampart's own findings of %s are not routed: %s", region, fn, m.ID, b)
				}
				for _, c := range m.SecurityHubControls {
					if strings.Count(string(b), `"`+c+`"`) < 2 { // SecurityControlId and ProductFields.ControlId (and the catch-all's anything-but)
						t.Errorf("%s %s: control %s of %s is not routed: %s", region, fn, c, m.ID, b)
					}
				}
			}
			if strings.Contains(string(b), "anything-but") != (fn == firstFn(t, a, region)) {
				t.Errorf("%s %s: catch-all of uncovered controls = %v: %s", region, fn, strings.Contains(string(b), "anything-but"), b)
			}
			target := p["Targets"].([]any)[0].(map[string]any)
			if fmt.Sprint(target["Arn"]) != fmt.Sprint(getAtt(functionID(t, js, fn))) || target["DeadLetterConfig"] == nil {
				t.Errorf("%s %s: target %v", region, fn, target)
			}
			for _, f := range resources(js, "AWS::Lambda::Function") {
				if props(f)["FunctionName"] == "rampart-"+fn {
					env := props(f)["Environment"].(map[string]any)["Variables"].(map[string]any)
					if env[engine.EnvSecurityHub] != "1" {
						t.Errorf("%s %s: %s = %v", region, fn, engine.EnvSecurityHub, env[engine.EnvSecurityHub])
					}
				}
			}
		}
		must(t, region+" alarm", func() {
			a.tpl[region].HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
				"AlarmName": "rampart-securityhub-failed", "MetricName": "SecurityHubFailed", "Namespace": "Rampart",
			})
		})
	}
	for fn := range catalog.Functions() {
		roleID := homeRoleID(t, a, fn)
		found := false
		for _, p := range resources(a.json[home], "AWS::IAM::Policy") {
			b, _ := json.Marshal(props(p))
			if !strings.Contains(string(b), roleID) {
				continue
			}
			for _, st := range props(p)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				st := st.(map[string]any)
				if st["Sid"] != "SecurityHubFindings" {
					continue
				}
				found = true
				if fmt.Sprint(st["Action"]) != "securityhub:BatchImportFindings" ||
					fmt.Sprint(st["Resource"]) != "arn:aws:securityhub:*:111122223333:product/111122223333/default" {
					t.Errorf("%s: statement %v", fn, st)
				}
			}
		}
		if !found {
			t.Errorf("role of %s cannot import findings", fn)
		}
	}
}

// firstFn is the first function (by name) deployed in the region: the
// catch-all of the custom actions on controls no rule covers.
func firstFn(t *testing.T, a *synthed, region string) string {
	t.Helper()
	var names []string
	for fn, rs := range catalog.Functions() {
		if slices.ContainsFunc(rs, func(r rule.Rule) bool { return hasTriggerIn(r.Meta(), region) }) {
			names = append(names, fn)
		}
	}
	slices.Sort(names)
	return names[0]
}

// In organization mode a member's findings are imported through the member
// role (only the finding's own account may import it under the default
// product): the role may, only with the setting on.
func TestSecurityHubMemberRole(t *testing.T) {
	for _, on := range []bool{false, true} {
		got, err := memberActions(catalog.All(), &Settings{SecurityHub: on})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(got, "securityhub:BatchImportFindings") != on {
			t.Errorf("setting %v: member actions %v", on, got)
		}
	}
}
