package cisalarms_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/cis"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/cisalarms"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

var ctx = context.Background()

const (
	logGroup = "aws-cloudtrail-logs-123456789012"
	topic    = "arn:aws:sns:us-east-1:123456789012:rampart-notifications"
)

func newEngine(t *testing.T, s *awsclient.Session, mode engine.Mode) *engine.Engine {
	t.Helper()
	e, _ := enginetest.New(t, s, engine.Config{Mode: mode,
		Params: map[string]map[string]string{cisalarms.ID: {cisalarms.ParamLogGroup: logGroup, cisalarms.ParamTopic: topic}}}, cisalarms.Rule)
	return e
}

// deploy creates the log group and every control's filter and alarm, as
// the stack does.
func deploy(t *testing.T, s *awsclient.Session) {
	t.Helper()
	logs := awsclient.Client(s, cloudwatchlogs.NewFromConfig)
	if _, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(logGroup)}); err != nil {
		t.Fatal(err)
	}
	for i := range cis.Controls {
		c := &cis.Controls[i]
		putFilter(t, s, c.Name(), c.Pattern)
		a := c.WantAlarm(topic)
		putAlarm(t, s, c.Name(), func(in *cloudwatch.PutMetricAlarmInput) { in.AlarmDescription = aws.String(a.Description) })
	}
}

func putFilter(t *testing.T, s *awsclient.Session, name, pattern string) {
	t.Helper()
	_, err := awsclient.Client(s, cloudwatchlogs.NewFromConfig).PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{
		LogGroupName: aws.String(logGroup), FilterName: aws.String(name), FilterPattern: aws.String(pattern),
		MetricTransformations: []logtypes.MetricTransformation{{MetricName: aws.String(name), MetricNamespace: aws.String(cis.Namespace), MetricValue: aws.String("1")}}})
	if err != nil {
		t.Fatal(err)
	}
}

// putAlarm writes a control's deployed alarm, edited.
func putAlarm(t *testing.T, s *awsclient.Session, name string, edit func(*cloudwatch.PutMetricAlarmInput)) {
	t.Helper()
	in := &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String(name), MetricName: aws.String(name), Namespace: aws.String(cis.Namespace),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(300), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold, TreatMissingData: aws.String("notBreaching"),
		ActionsEnabled: aws.Bool(true), AlarmActions: []string{topic}}
	if edit != nil {
		edit(in)
	}
	if _, err := awsclient.Client(s, cloudwatch.NewFromConfig).PutMetricAlarm(ctx, in); err != nil {
		t.Fatal(err)
	}
}

func alarm(t *testing.T, s *awsclient.Session, name string) *cwtypes.MetricAlarm {
	t.Helper()
	out, err := awsclient.Client(s, cloudwatch.NewFromConfig).DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.MetricAlarms) == 0 {
		return nil
	}
	return &out.MetricAlarms[0]
}

func filters(t *testing.T, s *awsclient.Session, name string) []logtypes.MetricFilter {
	t.Helper()
	out, err := awsclient.Client(s, cloudwatchlogs.NewFromConfig).DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{
		LogGroupName: aws.String(logGroup), FilterNamePrefix: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(out.MetricFilters, func(f logtypes.MetricFilter) bool { return aws.ToString(f.FilterName) != name })
}

func TestSweepCreatesEveryMissingControlThenIsQuiet(t *testing.T) {
	s := mototest.Session(t)
	if _, err := awsclient.Client(s, cloudwatchlogs.NewFromConfig).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(logGroup)}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Enforce)
	res, calls := enginetest.Recorded(t, e, enginetest.ScheduledEvent(t, cisalarms.ID))
	if len(res.Decisions) != len(cis.Controls) {
		t.Fatalf("decisions = %d, want %d", len(res.Decisions), len(cis.Controls))
	}
	for _, d := range res.Decisions {
		if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied " + cisalarms.APIPutAlarm, "applied " + cisalarms.APIPutFilter}) {
			t.Fatalf("%s: %s %v", d.Resource, d.Verdict, enginetest.Outcomes(d.Actions))
		}
	}
	// Two reads for the whole set, one for the log group (filters are
	// missing), one per metric (other filters publishing to it), then one
	// write per alarm and filter.
	if n := len(calls); n != 3+3*len(cis.Controls) || calls[0] != "Logs_20140328.DescribeMetricFilters" || calls[1] != "DescribeAlarms" ||
		calls[2] != "Logs_20140328.DescribeLogGroups" {
		t.Fatalf("calls = %v", calls)
	}
	for _, n := range cis.Names() {
		c := cis.ByName(n)
		if f := filters(t, s, n); len(f) != 1 || aws.ToString(f[0].FilterPattern) != c.Pattern {
			t.Fatalf("%s: filters = %+v", n, f)
		}
		if a := alarm(t, s, n); a == nil || !slices.Equal(a.AlarmActions, []string{topic}) || aws.ToFloat64(a.Threshold) != 1 || !aws.ToBool(a.ActionsEnabled) {
			t.Fatalf("%s: alarm = %+v", n, a)
		}
	}
	// Level-triggered: the next sweep finds everything in place.
	res, calls = enginetest.Recorded(t, e, enginetest.ScheduledEvent(t, cisalarms.ID))
	for _, d := range res.Decisions {
		if d.Verdict != rule.Compliant {
			t.Fatalf("second sweep: %s %s %s", d.Resource, d.Verdict, d.Reason)
		}
	}
	if len(calls) != 2+len(cis.Controls) {
		t.Fatalf("second sweep calls = %v", calls)
	}
}

func TestDeletedFilterIsRestoredAndUndone(t *testing.T) {
	s := mototest.Session(t)
	deploy(t, s)
	if _, err := awsclient.Client(s, cloudwatchlogs.NewFromConfig).DeleteMetricFilter(ctx, &cloudwatchlogs.DeleteMetricFilterInput{
		LogGroupName: aws.String(logGroup), FilterName: aws.String("cis-root-usage")}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Enforce)
	res, calls := enginetest.RecordedOne(t, e, enginetest.Sample(t, "events/cloudtrail/logs-delete-metric-filter-cis.json"))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied " + cisalarms.APIPutFilter}) {
		t.Fatalf("decision = %s %s %v", d.Verdict, d.Reason, enginetest.Outcomes(d.Actions))
	}
	want := []string{"Logs_20140328.DescribeMetricFilters", "Logs_20140328.DescribeMetricFilters", "DescribeAlarms", "Logs_20140328.DescribeLogGroups", "Logs_20140328.PutMetricFilter"}
	if !slices.Equal(calls, want) {
		t.Fatalf("calls = %v, want %v", calls, want)
	}
	if f := filters(t, s, "cis-root-usage"); len(f) != 1 || aws.ToString(f[0].FilterPattern) != cis.ByName("cis-root-usage").Pattern {
		t.Fatalf("filters = %+v", f)
	}
	// The same event again: nothing to do.
	if d := enginetest.One(t, e, enginetest.Sample(t, "events/cloudtrail/logs-delete-metric-filter-cis.json")); d.Verdict != rule.Compliant {
		t.Fatalf("duplicate = %+v", d)
	}
	// Undo deletes the restored filter again.
	if got := enginetest.Undo(t, e, enginetest.RoundTrip(t, res)); !slices.Equal(got, []string{"applied " + cisalarms.APIDeleteFilter}) {
		t.Fatalf("undo = %v", got)
	}
	if f := filters(t, s, "cis-root-usage"); len(f) != 0 {
		t.Fatalf("after undo: %+v", f)
	}
}

func TestRaisedThresholdIsRestoredAndUndone(t *testing.T) {
	s := mototest.Session(t)
	deploy(t, s)
	putAlarm(t, s, "cis-root-usage", func(in *cloudwatch.PutMetricAlarmInput) { in.Threshold = aws.Float64(100000) })
	e := newEngine(t, s, engine.Enforce)
	res, calls := enginetest.RecordedOne(t, e, enginetest.Sample(t, "events/cloudtrail/cloudwatch-put-metric-alarm-cis-threshold.json"))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied " + cisalarms.APIPutAlarm}) {
		t.Fatalf("decision = %s %s %v", d.Verdict, d.Reason, enginetest.Outcomes(d.Actions))
	}
	if !slices.Equal(calls, []string{"Logs_20140328.DescribeMetricFilters", "Logs_20140328.DescribeMetricFilters", "DescribeAlarms", "PutMetricAlarm"}) {
		t.Fatalf("calls = %v", calls)
	}
	if a := alarm(t, s, "cis-root-usage"); aws.ToFloat64(a.Threshold) != 1 || !slices.Equal(a.AlarmActions, []string{topic}) {
		t.Fatalf("alarm = %+v", a)
	}
	if got := enginetest.Undo(t, e, enginetest.RoundTrip(t, res)); !slices.Equal(got, []string{"applied " + cisalarms.APIPutAlarm}) {
		t.Fatalf("undo = %v", got)
	}
	if a := alarm(t, s, "cis-root-usage"); aws.ToFloat64(a.Threshold) != 100000 {
		t.Fatalf("after undo: threshold %v", aws.ToFloat64(a.Threshold))
	}
}

func TestReportModeChangesNothing(t *testing.T) {
	s := mototest.Session(t)
	deploy(t, s)
	if _, err := awsclient.Client(s, cloudwatch.NewFromConfig).DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{
		AlarmNames: []string{"cis-root-usage", "cis-iam-policy-changes", "orders-api-5xx"}}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Report)
	res, calls := enginetest.Recorded(t, e, enginetest.Sample(t, "events/cloudtrail/cloudwatch-delete-alarms-cis.json"))
	if len(res.Decisions) != 2 {
		t.Fatalf("decisions = %+v", res.Decisions)
	}
	for _, d := range res.Decisions {
		if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"planned " + cisalarms.APIPutAlarm}) {
			t.Fatalf("%s: %s %v", d.Resource, d.Verdict, enginetest.Outcomes(d.Actions))
		}
	}
	for _, c := range calls {
		if c == "PutMetricAlarm" || c == "Logs_20140328.PutMetricFilter" {
			t.Fatalf("report mode wrote: %v", calls)
		}
	}
	if alarm(t, s, "cis-root-usage") != nil {
		t.Fatal("report mode restored the alarm")
	}
}

// TestDisabledActionsAreEnabledAgain: moto 5.2.1 does not implement
// DisableAlarmActions (nor EnableAlarmActions: NotImplementedError), so
// the attacker's result is written with PutMetricAlarm; the rule restores
// with PutMetricAlarm, actions enabled, which moto serves — and which is
// the rule's remediation on AWS too.
func TestDisabledActionsAreEnabledAgain(t *testing.T) {
	s := mototest.Session(t)
	deploy(t, s)
	putAlarm(t, s, "cis-cloudtrail-changes", func(in *cloudwatch.PutMetricAlarmInput) { in.ActionsEnabled = aws.Bool(false) })
	e := newEngine(t, s, engine.Enforce)
	d := enginetest.One(t, e, enginetest.Sample(t, "events/cloudtrail/cloudwatch-disable-alarm-actions-cis.json"))
	if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied " + cisalarms.APIPutAlarm}) {
		t.Fatalf("decision = %s %s %v", d.Verdict, d.Reason, enginetest.Outcomes(d.Actions))
	}
	if a := alarm(t, s, "cis-cloudtrail-changes"); !aws.ToBool(a.ActionsEnabled) {
		t.Fatal("actions still disabled")
	}
}

// TestRewrittenFilterIsRestored: a filter rewritten to match nothing. On
// AWS, PutMetricFilter replaces the filter of that name; moto 5.2.1 adds a
// second one of the same name instead (and its delete removes one), so the
// attacker's rewrite is played as delete + put here, and after the restore
// moto lists the rewrite and the restored filter side by side.
func TestRewrittenFilterIsRestored(t *testing.T) {
	s := mototest.Session(t)
	deploy(t, s)
	const name = "cis-console-signin-without-mfa"
	if _, err := awsclient.Client(s, cloudwatchlogs.NewFromConfig).DeleteMetricFilter(ctx, &cloudwatchlogs.DeleteMetricFilterInput{
		LogGroupName: aws.String(logGroup), FilterName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	putFilter(t, s, name, `{ $.eventName = "NoSuchEvent" }`)
	e := newEngine(t, s, engine.Enforce)
	d := enginetest.One(t, e, enginetest.Sample(t, "events/cloudtrail/logs-put-metric-filter-cis-matches-nothing.json"))
	if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied " + cisalarms.APIPutFilter}) {
		t.Fatalf("decision = %s %s %v", d.Verdict, d.Reason, enginetest.Outcomes(d.Actions))
	}
	if !slices.ContainsFunc(filters(t, s, name), func(f logtypes.MetricFilter) bool { return aws.ToString(f.FilterPattern) == cis.ByName(name).Pattern }) {
		t.Fatal("the benchmark's pattern was not put back")
	}
}

// TestOtherRegionIsNotJudged: a same-named alarm deleted in another region
// is not the deployment's.
func TestOtherRegionIsNotJudged(t *testing.T) {
	s := mototest.Session(t)
	e := newEngine(t, s, engine.Enforce)
	res, calls := enginetest.Recorded(t, e, enginetest.Sample(t, "events/cloudtrail/cloudwatch-delete-alarms-cis.json", `"us-east-1"`, `"eu-west-1"`))
	for _, d := range res.Decisions {
		if d.Verdict == rule.Violation || len(d.Actions) > 0 {
			t.Fatalf("decision = %+v", d)
		}
	}
	if len(calls) != 0 {
		t.Fatalf("calls = %v", calls)
	}
}

// TestForeignFilterIntoTheMetricIsReported: a filter on another log group
// publishing -1000 into a control's metric cancels its count out. It is not
// the deployment's: reported (an alert), never deleted.
func TestForeignFilterIntoTheMetricIsReported(t *testing.T) {
	s := mototest.Session(t)
	deploy(t, s)
	logs := awsclient.Client(s, cloudwatchlogs.NewFromConfig)
	if _, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/app")}); err != nil {
		t.Fatal(err)
	}
	if _, err := logs.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String("/app"), FilterName: aws.String("noise"),
		FilterPattern: aws.String(""), MetricTransformations: []logtypes.MetricTransformation{{
			MetricName: aws.String("cis-root-usage"), MetricNamespace: aws.String(cis.Namespace), MetricValue: aws.String("-1000")}}}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Enforce)
	res, calls := enginetest.Recorded(t, e, enginetest.ScheduledEvent(t, cisalarms.ID))
	for _, d := range res.Decisions {
		want := rule.Compliant
		if d.Resource == "cis-root-usage" {
			want = rule.Violation
			// No topic in this engine: the alert is logged ("skipped" delivery).
			if len(d.Actions) != 1 || d.Actions[0].API != rule.AlertAPI || !strings.Contains(d.Reason, "noise on /app (value -1000)") {
				t.Errorf("actions = %v", enginetest.Outcomes(d.Actions))
			}
		}
		if d.Verdict != want {
			t.Errorf("%s: %s %s", d.Resource, d.Verdict, d.Reason)
		}
	}
	for _, c := range calls {
		if strings.Contains(c, "Delete") || strings.Contains(c, "Put") {
			t.Fatalf("a foreign filter led to a write: %v", calls)
		}
	}
}

// TestDeletedLogGroupIsReported: with the log group gone no PutMetricFilter
// can succeed: the filters are reported, the alarms still restored.
func TestDeletedLogGroupIsReported(t *testing.T) {
	s := mototest.Session(t)
	deploy(t, s)
	if _, err := awsclient.Client(s, cloudwatchlogs.NewFromConfig).DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(logGroup)}); err != nil {
		t.Fatal(err)
	}
	// moto 5.2.1 keeps a deleted group's filters: delete them as AWS does.
	for _, n := range cis.Names() {
		if _, err := awsclient.Client(s, cloudwatchlogs.NewFromConfig).DeleteMetricFilter(ctx, &cloudwatchlogs.DeleteMetricFilterInput{
			LogGroupName: aws.String(logGroup), FilterName: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}
	putAlarm(t, s, "cis-vpc-changes", func(in *cloudwatch.PutMetricAlarmInput) { in.AlarmActions = nil })
	e := newEngine(t, s, engine.Enforce)
	res, calls := enginetest.Recorded(t, e, enginetest.ScheduledEvent(t, cisalarms.ID))
	for _, d := range res.Decisions {
		var apis []string
		for _, a := range d.Actions {
			apis = append(apis, a.API)
		}
		want := []string{rule.AlertAPI}
		if d.Resource == "cis-vpc-changes" {
			want = []string{cisalarms.APIPutAlarm, rule.AlertAPI}
		}
		if d.Verdict != rule.Violation || !slices.Equal(apis, want) || !strings.Contains(d.Reason, "does not exist") {
			t.Errorf("%s: %s %v %s", d.Resource, d.Verdict, apis, d.Reason)
		}
	}
	if slices.Contains(calls, "Logs_20140328.PutMetricFilter") {
		t.Fatalf("a filter was put on a missing log group: %v", calls)
	}
	if a := alarm(t, s, "cis-vpc-changes"); !slices.Equal(a.AlarmActions, []string{topic}) {
		t.Fatalf("alarm actions = %v", a.AlarmActions)
	}
}
