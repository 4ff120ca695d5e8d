package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// alarmsNamed are the template's metric alarms by name.
func alarmsNamed(js map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, a := range resources(js, "AWS::CloudWatch::Alarm") {
		a["id"] = id
		out[props(a)["AlarmName"].(string)] = a
	}
	return out
}

// TestCompositeAlarmPerFunction: every function in every region has one
// composite alarm rampart-<fn>, raised by any of its children: errors,
// dead-letter depth, throttles, destination failures, Config evaluation
// errors (with Config rules), and each of its EventBridge rules' failed
// invocations and dead-letter failures. Only the composite notifies: the
// topic in the home region, the alarm relay elsewhere; its children have no
// action and the relay skips them.
func TestCompositeAlarmPerFunction(t *testing.T) {
	seenConfig := false
	for name, a := range allApps(t) {
		for _, region := range regions {
			js := a.json[region]
			named := alarmsNamed(js)
			composites := resources(js, "AWS::CloudWatch::CompositeAlarm")
			fns := resources(js, "AWS::Lambda::Function")
			if len(composites) != len(fns) {
				t.Errorf("%s %s: %d composite alarms for %d functions", name, region, len(composites), len(fns))
			}
			for fnID, f := range fns {
				fn := strings.TrimPrefix(props(f)["FunctionName"].(string), "rampart-")
				want := map[string]string{ // child alarm → its metric
					"rampart-" + fn + "-errors":               "Errors",
					"rampart-" + fn + "-dlq":                  "ApproximateNumberOfMessagesVisible",
					"rampart-" + fn + "-throttles":            "Throttles",
					"rampart-" + fn + "-destination-failures": "DestinationDeliveryFailures",
				}
				for _, r := range a.rules {
					if m := r.Meta(); m.Function == fn && configIn(m, region) {
						want["rampart-"+fn+"-config-errors"] = "ConfigErrors-" + fn
						seenConfig = true
					}
				}
				// Every EventBridge rule that targets the function.
				for _, rule := range resources(js, "AWS::Events::Rule") {
					tgts, _ := props(rule)["Targets"].([]any)
					if len(tgts) == 0 || fmt.Sprint(tgts[0].(map[string]any)["Arn"]) != fmt.Sprint(getAtt(fnID)) {
						continue
					}
					rn := props(rule)["Name"].(string)
					want[rn+"-failed-invocations"] = "FailedInvocations"
					want[rn+"-dlq-failures"] = "InvocationsFailedToBeSentToDlq"
					for _, suffix := range []string{"-failed-invocations", "-dlq-failures"} {
						al := named[rn+suffix]
						if al == nil {
							continue
						}
						if got := fmt.Sprint(props(al)["Dimensions"]); got != fmt.Sprint([]any{map[string]any{"Name": "RuleName", "Value": rn}}) ||
							props(al)["Namespace"] != "AWS/Events" {
							t.Errorf("%s %s: %s%s watches %v %s", name, region, rn, suffix, props(al)["Namespace"], got)
						}
					}
				}
				var composite map[string]any
				for _, c := range composites {
					if props(c)["AlarmName"] == "rampart-"+fn {
						composite = c
					}
				}
				if composite == nil {
					t.Errorf("%s %s: no composite alarm rampart-%s", name, region, fn)
					continue
				}
				rule := fmt.Sprint(props(composite)["AlarmRule"])
				for child, metric := range want {
					al := named[child]
					if al == nil {
						t.Errorf("%s %s: no alarm %s", name, region, child)
						continue
					}
					p := props(al)
					if p["MetricName"] != metric || p["Threshold"] != 1.0 || p["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" {
						t.Errorf("%s %s: %s is %v %v %v", name, region, child, p["MetricName"], p["ComparisonOperator"], p["Threshold"])
					}
					if p["AlarmActions"] != nil {
						t.Errorf("%s %s: child alarm %s has actions %v", name, region, child, p["AlarmActions"])
					}
					if d, _ := p["AlarmDescription"].(string); !strings.HasPrefix(d, childMarker+fn+" ") {
						t.Errorf("%s %s: child alarm %s: description %q lacks the marker the relay skips", name, region, child, d)
					}
					if !strings.Contains(rule, al["id"].(string)) {
						t.Errorf("%s %s: composite rampart-%s does not watch %s", name, region, fn, child)
					}
				}
				// No other alarm of the function's joins the composite.
				if n := strings.Count(rule, "ALARM("); n != len(want) {
					t.Errorf("%s %s: composite rampart-%s has %d children, want %d", name, region, fn, n, len(want))
				}
				var actions any
				if region == home {
					actions = []any{map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^Notifications"))}}
				}
				must(t, fmt.Sprintf("%s %s: composite of %s", name, region, fn), func() {
					if actions == nil {
						actions = assertions.Match_Absent()
					}
					a.tpl[region].HasResourceProperties(jsii.String("AWS::CloudWatch::CompositeAlarm"), &map[string]any{
						"AlarmName": "rampart-" + fn, "AlarmActions": actions,
					})
				})
			}
			// The alarms that notify on their own are not children.
			for n, al := range named {
				d, _ := props(al)["AlarmDescription"].(string)
				if strings.HasSuffix(n, "-heartbeat") || n == "rampart-forward-dlq" {
					if strings.HasPrefix(d, childMarker) {
						t.Errorf("%s %s: %s is marked a child", name, region, n)
					}
				}
			}
		}
	}
	if !seenConfig {
		t.Fatal("no function has a Config rule: the Config errors alarm is untested")
	}
}

// TestConfigErrorsMetricFilter: the Config errors alarm counts the decision
// records of Config invocations that carry an error.
func TestConfigErrorsMetricFilter(t *testing.T) {
	a := catalogApp(t)
	must(t, "config errors filter", func() {
		a.tpl[home].HasResourceProperties(jsii.String("AWS::Logs::MetricFilter"), &map[string]any{
			// CDK's FilterPattern.exists: any value of the field.
			"FilterPattern": `{ ($.trigger = "config") && ($.error = "*") }`,
			"MetricTransformations": []any{map[string]any{
				"MetricNamespace": "Rampart", "MetricName": assertions.Match_StringLikeRegexp(jsii.String("^ConfigErrors-")), "MetricValue": "1"}},
		})
	})
}

// TestAlarmRelaySkipsChildren: the relay and the forwarding rules forward
// Rampart's alarms except the composites' children (their description
// begins with childMarker), so one failure sends one notification.
func TestAlarmRelaySkipsChildren(t *testing.T) {
	a := catalogApp(t)
	skip := map[string]any{"description": []any{map[string]any{"anything-but": map[string]any{"prefix": childMarker}}}}
	for region, rule := range map[string]string{home: "rampart-alarm-relay", regions[1]: "rampart-forward-alarms"} {
		must(t, region+" "+rule, func() {
			a.tpl[region].HasResourceProperties(jsii.String("AWS::Events::Rule"), &map[string]any{
				"Name": rule,
				"EventPattern": assertions.Match_ObjectLike(&map[string]any{"detail": assertions.Match_ObjectLike(&map[string]any{
					"alarmName":     []any{map[string]any{"prefix": "rampart-"}},
					"configuration": skip,
				})}),
			})
		})
	}
	if !strings.HasPrefix(childDescription("ec2", "x"), childMarker) || slices.Contains([]string{""}, childMarker) {
		t.Fatal("childDescription does not begin with the marker")
	}
}
