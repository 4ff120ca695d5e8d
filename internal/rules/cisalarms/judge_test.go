package cisalarms

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/cis"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

const (
	logGroup = "aws-cloudtrail-logs-123456789012"
	topic    = "arn:aws:sns:us-east-1:123456789012:rampart-notifications"
)

var testParams = params{LogGroup: logGroup, Topic: topic, Region: "us-east-1", Account: "123456789012"}

// deployed is a control's state as the stack deploys it.
func deployed(name string) State {
	c := cis.ByName(name)
	f, a := c.WantFilter(logGroup), c.WantAlarm(topic)
	return State{Filters: []cis.Filter{f}, Alarm: &a}
}

func withAlarm(name string, edit func(*cis.Alarm)) State {
	st := deployed(name)
	edit(st.Alarm)
	return st
}

func withFilter(name string, edit func(*cis.Filter)) State {
	st := deployed(name)
	edit(&st.Filters[0])
	return st
}

func TestJudge(t *testing.T) {
	t.Parallel()
	const root = "cis-root-usage"
	zero := 0.0
	cases := []struct {
		name    string
		st      State
		p       params
		verdict rule.Verdict
		apis    []string // planned APIs, then their undos
		reason  string
	}{
		{"as deployed", deployed(root), testParams, rule.Compliant, nil, "is in place"},
		{"no log group configured", State{}, params{}, rule.NotApplicable, nil, "names no trail log group"},
		{"filter deleted", State{Alarm: deployed(root).Alarm}, testParams, rule.Violation,
			[]string{APIPutFilter, APIDeleteFilter}, "metric filter cis-root-usage on aws-cloudtrail-logs-123456789012 is missing"},
		{"log group deleted", State{Alarm: deployed(root).Alarm, NoLogGroup: true}, testParams, rule.Violation,
			[]string{rule.AlertAPI}, "log group aws-cloudtrail-logs-123456789012 does not exist"},
		{"alarm deleted", State{Filters: deployed(root).Filters}, testParams, rule.Violation,
			[]string{APIPutAlarm, APIDeleteAlarms}, "alarm cis-root-usage is missing"},
		{"both deleted", State{}, testParams, rule.Violation,
			[]string{APIPutAlarm, APIPutFilter, APIDeleteAlarms, APIDeleteFilter}, "missing"},
		{"another filter publishes to the metric", func() State {
			st := deployed(root)
			st.Foreign = []cis.Filter{{LogGroup: "/app", Name: "noise", Pattern: "", MetricName: root, Namespace: cis.Namespace, Value: "-1000"}}
			return st
		}(), testParams, rule.Violation, []string{rule.AlertAPI}, "noise on /app (value -1000)"},
		{"pattern that matches nothing", withFilter(root, func(f *cis.Filter) { f.Pattern = `{ $.eventName = "NoSuchEvent" }` }), testParams, rule.Violation,
			[]string{APIPutFilter, APIPutFilter}, "pattern is"},
		{"pattern with an extra term", withFilter(root, func(f *cis.Filter) {
			f.Pattern = strings.Replace(f.Pattern, "}", ` && $.sourceIPAddress != "203.0.113.47"}`, 1)
		}), testParams,
			rule.Violation, []string{APIPutFilter, APIPutFilter}, "not the benchmark's"},
		{"metric sent elsewhere", withFilter(root, func(f *cis.Filter) { f.Namespace = "Elsewhere" }), testParams, rule.Violation,
			[]string{APIPutFilter, APIPutFilter}, "publishes Elsewhere/cis-root-usage"},
		{"value zero", withFilter(root, func(f *cis.Filter) { f.Value = "0" }), testParams, rule.Violation, []string{APIPutFilter, APIPutFilter}, `counts "0"`},
		{"default value", withFilter(root, func(f *cis.Filter) { f.DefaultValue = &zero }), testParams, rule.Violation, []string{APIPutFilter, APIPutFilter}, "default value"},
		{"dimensions", withFilter(root, func(f *cis.Filter) { f.Dimensions = map[string]string{"user": "$.userIdentity.arn"} }), testParams, rule.Violation,
			[]string{APIPutFilter, APIPutFilter}, "dimensions [user]"},
		{"threshold raised", withAlarm(root, func(a *cis.Alarm) { a.Threshold = 100000 }), testParams, rule.Violation,
			[]string{APIPutAlarm, APIPutAlarm}, "fires at GreaterThanOrEqualToThreshold 100000"},
		{"comparison turned", withAlarm(root, func(a *cis.Alarm) { a.Comparison = "LessThanThreshold" }), testParams, rule.Violation,
			[]string{APIPutAlarm, APIPutAlarm}, "LessThanThreshold"},
		{"actions disabled", withAlarm(root, func(a *cis.Alarm) { a.ActionsEnabled = false }), testParams, rule.Violation,
			[]string{APIPutAlarm, APIPutAlarm}, "actions are disabled"},
		{"actions removed", withAlarm(root, func(a *cis.Alarm) { a.AlarmActions = nil }), testParams, rule.Violation,
			[]string{APIPutAlarm, APIPutAlarm}, "notifies nothing"},
		{"another topic", withAlarm(root, func(a *cis.Alarm) { a.AlarmActions = []string{"arn:aws:sns:us-east-1:999999999999:mine"} }), testParams, rule.Violation,
			[]string{APIPutAlarm, APIPutAlarm}, "notifies arn:aws:sns:us-east-1:999999999999:mine"},
		{"longer evaluation", withAlarm(root, func(a *cis.Alarm) { a.EvaluationPeriods, a.DatapointsToAlarm = 288, 288 }), testParams, rule.Violation,
			[]string{APIPutAlarm, APIPutAlarm}, "needs 288 breaching of 288 periods"},
		{"unit mismatch", withAlarm(root, func(a *cis.Alarm) { a.Unit = "Seconds" }), testParams, rule.Violation, []string{APIPutAlarm, APIPutAlarm}, "only data in Seconds"},
		{"another metric", withAlarm(root, func(a *cis.Alarm) { a.MetricName = "cis-vpc-changes" }), testParams, rule.Violation,
			[]string{APIPutAlarm, APIPutAlarm}, "watches CISBenchmark/cis-vpc-changes"},
		{"statistic", withAlarm(root, func(a *cis.Alarm) { a.Statistic, a.ExtendedStatistic = "", "p0" }), testParams, rule.Violation, []string{APIPutAlarm, APIPutAlarm}, "statistic is p0"},
		{"description and OK actions are not judged", withAlarm(root, func(a *cis.Alarm) { a.Description, a.OKActions = "mine", []string{topic} }), testParams, rule.Compliant, nil, "in place"},
		{"datapoints spelled out", withAlarm(root, func(a *cis.Alarm) { a.DatapointsToAlarm = 1 }), testParams, rule.Compliant, nil, "in place"},
		{"filter and alarm both changed", func() State {
			st := withAlarm(root, func(a *cis.Alarm) { a.ActionsEnabled = false })
			st.Filters[0].Pattern = "{}"
			return st
		}(), testParams, rule.Violation, []string{APIPutAlarm, APIPutFilter, APIPutAlarm, APIPutFilter}, "; the metric filter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := judge(tc.st, rule.Target{Type: ResourceType, ID: root, Region: "us-east-1"}, tc.p, rule.Facts{Region: "us-east-1"})
			if f.Verdict != tc.verdict || !strings.Contains(f.Reason, tc.reason) {
				t.Fatalf("finding = %s %q, want %s containing %q", f.Verdict, f.Reason, tc.verdict, tc.reason)
			}
			var apis, undos []string
			for _, a := range f.Actions {
				apis = append(apis, a.API)
				if a.API == rule.AlertAPI {
					continue // an alert changes nothing
				}
				if a.Undo == nil {
					t.Fatalf("%s has no undo", a.API)
				}
				undos = append(undos, a.Undo.API)
			}
			if got := slices.Concat(apis, undos); !slices.Equal(got, tc.apis) {
				t.Fatalf("APIs = %v, want %v", got, tc.apis)
			}
		})
	}
}

// TestRestoreIsTheDeployedDefinition: the plan writes exactly the table's
// filter and alarm, and the undo writes back exactly what it replaced.
func TestRestoreIsTheDeployedDefinition(t *testing.T) {
	t.Parallel()
	const name = "cis-vpc-changes"
	st := withAlarm(name, func(a *cis.Alarm) { a.Threshold, a.OKActions = 50, []string{"arn:aws:sns:us-east-1:123456789012:ok"} })
	old := *st.Alarm
	f := judge(st, rule.Target{ID: name}, testParams, rule.Facts{})
	if len(f.Actions) != 1 {
		t.Fatalf("actions = %+v", f.Actions)
	}
	var put, undo cis.Alarm
	if err := f.Actions[0].Decode(&put); err != nil {
		t.Fatal(err)
	}
	if err := f.Actions[0].Undo.Decode(&undo); err != nil {
		t.Fatal(err)
	}
	c := cis.ByName(name)
	want := c.WantAlarm(topic)
	if AlarmProblem(&put, want) != "" || put.Description != want.Description || put.Threshold != 1 || len(put.OKActions) != 0 {
		t.Fatalf("put = %+v", put)
	}
	if undo.Threshold != 50 || !slices.Equal(undo.OKActions, old.OKActions) || undo.Name != name {
		t.Fatalf("undo = %+v", undo)
	}
}

func TestEveryControlIsJudgedCompliantAsDeployed(t *testing.T) {
	t.Parallel()
	for _, n := range cis.Names() {
		if f := judge(deployed(n), rule.Target{ID: n}, testParams, rule.Facts{}); f.Verdict != rule.Compliant {
			t.Errorf("%s: %+v", n, f)
		}
	}
	if f := judge(State{}, rule.Target{ID: "orders-api-5xx"}, testParams, rule.Facts{}); f.Verdict != rule.NotApplicable {
		t.Errorf("a foreign alarm: %+v", f)
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		raw  rule.Params
		want params
		ok   bool
	}{
		{rule.Params{}, params{}, true},
		{rule.Params{ParamLogGroup: logGroup, ParamTopic: topic}, testParams, true},
		{rule.Params{ParamLogGroup: logGroup}, params{}, false},
		{rule.Params{ParamTopic: topic}, params{}, false},
	} {
		got, err := parse(tc.raw)
		if (err == nil) != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parse(%v) = %+v, %v", tc.raw, got, err)
		}
	}
	if _, err := meta.Resolve(map[string]string{ParamLogGroup: "arn:aws:logs:us-east-1:123456789012:log-group:x:*"}); err == nil {
		t.Error("an ARN was accepted as the log group name")
	}
	if _, err := meta.Resolve(map[string]string{ParamTopic: "rampart-notifications"}); err == nil {
		t.Error("a topic name was accepted as its ARN")
	}
}

func call(source, event, region, req string) *trigger.APICall {
	return &trigger.APICall{EventSource: source, EventName: event, Region: region, Account: "123456789012", Request: json.RawMessage(req)}
}

func TestTargets(t *testing.T) {
	t.Parallel()
	const logs, cw = "logs.amazonaws.com", "monitoring.amazonaws.com"
	cases := []struct {
		name string
		call *trigger.APICall
		p    params
		want []string
		bad  bool
	}{
		{"delete filter", call(logs, "DeleteMetricFilter", "us-east-1", `{"logGroupName":"`+logGroup+`","filterName":"cis-root-usage"}`), testParams, []string{"cis-root-usage"}, false},
		{"filter on another log group", call(logs, "DeleteMetricFilter", "us-east-1", `{"logGroupName":"/app/logs","filterName":"cis-root-usage"}`), testParams, nil, false},
		{"foreign filter", call(logs, "PutMetricFilter", "us-east-1", `{"logGroupName":"`+logGroup+`","filterName":"errors","filterPattern":"ERROR"}`), testParams, nil, false},
		{"foreign filter into a control's metric", call(logs, "PutMetricFilter", "us-east-1", `{"logGroupName":"/app","filterName":"noise","filterPattern":"",
			"metricTransformations":[{"metricName":"cis-root-usage","metricNamespace":"CISBenchmark","metricValue":"-1000"}]}`), testParams, []string{"cis-root-usage"}, false},
		{"delete alarms, some ours", call(cw, "DeleteAlarms", "us-east-1", `{"alarmNames":["cis-root-usage","orders-api-5xx","cis-vpc-changes"]}`), testParams, []string{"cis-root-usage", "cis-vpc-changes"}, false},
		{"disable actions", call(cw, "DisableAlarmActions", "us-east-1", `{"alarmNames":["cis-nacl-changes"]}`), testParams, []string{"cis-nacl-changes"}, false},
		{"put alarm", call(cw, "PutMetricAlarm", "us-east-1", `{"alarmName":"cis-root-usage","threshold":5}`), testParams, []string{"cis-root-usage"}, false},
		{"another region", call(cw, "DeleteAlarms", "eu-west-1", `{"alarmNames":["cis-root-usage"]}`), testParams, nil, false},
		{"another account", func() *trigger.APICall {
			c := call(cw, "DeleteAlarms", "us-east-1", `{"alarmNames":["cis-root-usage"]}`)
			c.Account = "999999999999"
			return c
		}(), testParams, nil, false},
		{"no log group configured", call(cw, "DeleteAlarms", "us-east-1", `{"alarmNames":["cis-root-usage"]}`), params{}, nil, false},
		{"Rampart's stack deploying", func() *trigger.APICall {
			c := call(cw, "PutMetricAlarm", "us-east-1", `{"alarmName":"cis-root-usage"}`)
			c.Actor = trigger.Actor{Type: "AssumedRole", InvokedBy: "cloudformation.amazonaws.com",
				IssuerARN: "arn:aws:iam::123456789012:role/cdk-hnb659fds-cfn-exec-role-123456789012-us-east-1"}
			return c
		}(), testParams, nil, false},
		{"anyone else's stack", func() *trigger.APICall {
			c := call(cw, "PutMetricAlarm", "us-east-1", `{"alarmName":"cis-root-usage"}`)
			c.Actor = trigger.Actor{Type: "AssumedRole", InvokedBy: "cloudformation.amazonaws.com",
				IssuerARN: "arn:aws:iam::123456789012:role/team-stack-role"}
			return c
		}(), testParams, []string{"cis-root-usage"}, false},
		{"a stack with no session issuer", func() *trigger.APICall {
			c := call(cw, "PutMetricAlarm", "us-east-1", `{"alarmName":"cis-root-usage"}`)
			c.Actor.InvokedBy = "cloudformation.amazonaws.com"
			return c
		}(), testParams, []string{"cis-root-usage"}, false},
		{"no alarm named", call(cw, "DeleteAlarms", "us-east-1", `{"alarmNames":[]}`), testParams, nil, true},
		{"empty alarm name", call(cw, "PutMetricAlarm", "us-east-1", `{"alarmName":""}`), testParams, nil, true},
		{"no filter named", call(logs, "DeleteMetricFilter", "us-east-1", `{"logGroupName":"`+logGroup+`"}`), testParams, nil, true},
		{"malformed", call(cw, "DeleteAlarms", "us-east-1", `{"alarmNames":"cis-root-usage"}`), testParams, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := targets(tc.call, tc.p)
			if tc.bad {
				if !errors.Is(err, trigger.ErrInput) {
					t.Fatalf("err = %v, want ErrInput", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, tg := range got {
				ids = append(ids, tg.ID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Fatalf("targets = %v, want %v", ids, tc.want)
			}
		})
	}
}

// TestOfflinePlan: the event alone implies what it changed; the rest is
// taken as deployed.
func TestOfflinePlan(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		call *trigger.APICall
		apis []string
	}{
		{call("logs.amazonaws.com", "DeleteMetricFilter", "us-east-1", `{"logGroupName":"`+logGroup+`","filterName":"cis-root-usage"}`), []string{APIPutFilter}},
		{call("logs.amazonaws.com", "PutMetricFilter", "us-east-1", `{"logGroupName":"`+logGroup+`","filterName":"cis-root-usage","filterPattern":"{ $.x = 1 }",
			"metricTransformations":[{"metricName":"cis-root-usage","metricNamespace":"CISBenchmark","metricValue":"1"}]}`), []string{APIPutFilter}},
		{call("monitoring.amazonaws.com", "DisableAlarmActions", "us-east-1", `{"alarmNames":["cis-root-usage"]}`), []string{APIPutAlarm}},
		{call("logs.amazonaws.com", "PutMetricFilter", "us-east-1", `{"logGroupName":"/app","filterName":"noise","filterPattern":"",
			"metricTransformations":[{"metricName":"cis-root-usage","metricNamespace":"CISBenchmark","metricValue":"-1000"}]}`), []string{rule.AlertAPI}},
		{call("monitoring.amazonaws.com", "PutMetricAlarm", "us-east-1", `{"alarmName":"cis-root-usage","metricName":"cis-root-usage","namespace":"CISBenchmark",
			"statistic":"Sum","period":300,"evaluationPeriods":1,"threshold":1,"comparisonOperator":"GreaterThanOrEqualToThreshold","treatMissingData":"notBreaching",
			"alarmActions":["`+topic+`"]}`), nil},
	} {
		ts, err := targets(tc.call, testParams)
		if err != nil || len(ts) != 1 {
			t.Fatalf("%s: targets = %+v, %v", tc.call.EventName, ts, err)
		}
		st, err := plan(ts[0], testParams)
		if err != nil {
			t.Fatal(err)
		}
		var apis []string
		for _, a := range judge(st, ts[0], testParams, rule.Facts{}).Actions {
			apis = append(apis, a.API)
		}
		if !slices.Equal(apis, tc.apis) {
			t.Errorf("%s: planned %v, want %v", tc.call.EventName, apis, tc.apis)
		}
	}
}
