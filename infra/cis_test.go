package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/rampart-aws/rampart/internal/catalog"
	"github.com/rampart-aws/rampart/internal/cis"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rules/cisalarms"
)

// TestCISAlarmsWhenTheTrailLogGroupIsNamed: with rampart:trailLogGroup, the
// home region has every control's filter on that log group and its alarm,
// derived from internal/cis, notifying the topic; no other region has any;
// without the setting (the organization app) there are none.
func TestCISAlarmsWhenTheTrailLogGroupIsNamed(t *testing.T) {
	a := catalogApp(t)
	tpl, js := a.tpl[home], a.json[home]
	topicID := ""
	for id := range resources(js, "AWS::SNS::Topic") {
		topicID = id
	}
	alarms := alarmsNamed(js)
	for i := range cis.Controls {
		c := &cis.Controls[i]
		must(t, "filter "+c.Name(), func() {
			tpl.HasResourceProperties(jsii.String("AWS::Logs::MetricFilter"), &map[string]any{
				"FilterName":    c.Name(),
				"LogGroupName":  "aws-cloudtrail-logs-111122223333",
				"FilterPattern": c.Pattern,
				"MetricTransformations": []any{map[string]any{
					"MetricNamespace": cis.Namespace, "MetricName": c.Name(), "MetricValue": cis.MetricValue}},
			})
		})
		al := alarms[c.Name()]
		if al == nil {
			t.Errorf("no alarm %s", c.Name())
			continue
		}
		p := props(al)
		want := map[string]any{"MetricName": c.Name(), "Namespace": cis.Namespace, "Statistic": cis.Statistic,
			"Period": float64(cis.PeriodSeconds), "EvaluationPeriods": float64(cis.EvaluationPeriods), "Threshold": float64(c.Threshold),
			"ComparisonOperator": cis.Comparison, "TreatMissingData": cis.TreatMissingData}
		for k, v := range want {
			if p[k] != v {
				t.Errorf("%s: %s = %v, want %v", c.Name(), k, p[k], v)
			}
		}
		if d := p["Dimensions"]; d != nil {
			t.Errorf("%s: dimensions %v", c.Name(), d)
		}
		if got := fmt.Sprint(p["AlarmActions"]); got != fmt.Sprint([]any{map[string]any{"Ref": topicID}}) {
			t.Errorf("%s: actions %s, want the topic %s", c.Name(), got, topicID)
		}
	}
	for _, region := range regions {
		if region == home {
			continue
		}
		if n := len(cisResources(a.json[region])); n > 0 {
			t.Errorf("%s has %d CIS filters or alarms: they belong in the home region", region, n)
		}
	}
	if n := len(cisResources(orgApp(t).json[home])); n > 0 {
		t.Errorf("without rampart:trailLogGroup: %d CIS filters or alarms", n)
	}
}

func cisResources(js map[string]any) []string {
	var out []string
	for _, typ := range []string{"AWS::Logs::MetricFilter", "AWS::CloudWatch::Alarm"} {
		for id, r := range resources(js, typ) {
			p := props(r)
			if n, _ := p["FilterName"].(string); strings.HasPrefix(n, cis.Prefix) {
				out = append(out, id)
			}
			if n, _ := p["AlarmName"].(string); strings.HasPrefix(n, cis.Prefix) {
				out = append(out, id)
			}
		}
	}
	return out
}

// TestCISAlarmsRuleGetsTheLogGroupAndTopic: the cloudtrail function's
// RAMPART_PARAMS names the log group and the topic for cis-alarms, and its
// role may restore filters and alarms; without the setting it may not.
func TestCISAlarmsRuleGetsTheLogGroupAndTopic(t *testing.T) {
	a := catalogApp(t)
	fn := cisalarms.Rule.Meta().Function
	for _, f := range resources(a.json[home], "AWS::Lambda::Function") {
		if props(f)["FunctionName"] != "rampart-"+fn {
			continue
		}
		env := fmt.Sprint(props(f)["Environment"])
		for _, want := range []string{`"logGroupName":"aws-cloudtrail-logs-111122223333"`, `"topicArn":"arn:aws:sns:us-east-1:111122223333:rampart-notifications"`} {
			if !strings.Contains(env, want) {
				t.Errorf("%s's environment lacks %s: %s", fn, want, env)
			}
		}
	}
	got := roleActions(a.json[home], homeRoleID(t, a, fn))
	for _, act := range []string{cisalarms.APIPutFilter, cisalarms.APIPutAlarm, cisalarms.APIDescribeFilter, cisalarms.APIDescribeAlarms} {
		if !slices.Contains(got, act) {
			t.Errorf("role of %s lacks %s", fn, act)
		}
	}
	org := orgApp(t)
	got = roleActions(org.json[home], homeRoleID(t, org, fn))
	if slices.Contains(got, cisalarms.APIPutFilter) || slices.Contains(got, cisalarms.APIPutAlarm) {
		t.Errorf("without rampart:trailLogGroup the role of %s may still write filters or alarms", fn)
	}
}

func TestTrailLogGroupSetting(t *testing.T) {
	s, err := ParseSettings(mapGetter(map[string]any{ctxTrailLogGroup: "cloudtrail/logs"}), noEnv)
	if err != nil || s.TrailLogGroup != "cloudtrail/logs" {
		t.Fatalf("settings = %+v, %v", s, err)
	}
	if _, err := ParseSettings(mapGetter(map[string]any{ctxTrailLogGroup: "arn:aws:logs:us-east-1:1:log-group:x:*"}), noEnv); err == nil || !strings.Contains(err.Error(), ctxTrailLogGroup) {
		t.Errorf("an ARN: err = %v", err)
	}
	base := Settings{Account: "111122223333", HomeRegion: home, Regions: regions, Mode: engine.Report, TrailLogGroup: "cloudtrail"}
	got, err := base.withTrailLogGroup(catalog.All())
	if err != nil || got.Params[cisalarms.ID][cisalarms.ParamLogGroup] != "cloudtrail" ||
		got.Params[cisalarms.ID][cisalarms.ParamTopic] != "arn:aws:sns:us-east-1:111122223333:rampart-notifications" || base.Params != nil {
		t.Fatalf("params = %v, %v (base %v)", got.Params, err, base.Params)
	}
	if err := got.Check(catalog.All()); err != nil {
		t.Error(err)
	}
	clash := base
	clash.Params = map[string]map[string]string{cisalarms.ID: {cisalarms.ParamLogGroup: "other"}}
	if _, err := clash.withTrailLogGroup(catalog.All()); err == nil || !strings.Contains(err.Error(), ctxTrailLogGroup) {
		t.Errorf("a clashing rampart:params: err = %v", err)
	}
	// A rule list without cis-alarms gets no parameters for it (Check would
	// reject them), and the filters and alarms are still created.
	if got, err := base.withTrailLogGroup(fakeRules()); err != nil || got.Params != nil {
		t.Errorf("fake rules: %v, %v", got.Params, err)
	}
}
