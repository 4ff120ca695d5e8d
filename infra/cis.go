package main

import (
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/rampart-aws/rampart/internal/cis"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/cisalarms"
)

// The CIS AWS Foundations monitoring controls (Security Hub CloudWatch.1–14,
// CIS 4.15): when rampart:trailLogGroup names the trail's log group, the home
// region's stack adds, for every control of internal/cis, its metric filter
// on that log group and its alarm notifying the topic; and the cis-alarms
// rule gets the log group and the topic as its parameters, so that it
// restores exactly what the stack deploys. Both read the one table.

// logGroupNameRE is CloudWatch Logs' log group name syntax.
var logGroupNameRE = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]{1,512}$`)

// withTrailLogGroup is s with the cis-alarms rule's parameters set from
// TrailLogGroup (when rules has the rule): the log group and the topic.
// A rampart:params entry for the rule that says otherwise is an error: one
// setting, one meaning.
func (s Settings) withTrailLogGroup(rules []rule.Rule) (Settings, error) {
	if s.TrailLogGroup == "" || !slices.ContainsFunc(rules, func(r rule.Rule) bool { return r.Meta().ID == cisalarms.ID }) {
		return s, nil
	}
	want := map[string]string{cisalarms.ParamLogGroup: s.TrailLogGroup, cisalarms.ParamTopic: topicARN(&s)}
	params := maps.Clone(s.Params)
	if params == nil {
		params = map[string]map[string]string{}
	}
	got := maps.Clone(params[cisalarms.ID])
	if got == nil {
		got = map[string]string{}
	}
	for k, v := range want {
		if old, ok := got[k]; ok && old != v {
			return s, fmt.Errorf("%s: %s.%s is %q but %s makes it %q: set one of them", ctxParams, cisalarms.ID, k, old, ctxTrailLogGroup, v)
		}
		got[k] = v
	}
	params[cisalarms.ID] = got
	s.Params = params
	return s, nil
}

// topicARN is the notifications topic's ARN, in the home region.
func topicARN(s *Settings) string {
	return fmt.Sprintf("arn:%s:sns:%s:%s:%s", partitionOf(s.HomeRegion), s.HomeRegion, s.Account, topicName)
}

// newCISAlarms adds the CIS monitoring controls' filters and alarms on the
// trail's log group (which must exist, in the home region), each alarm
// notifying topic. Their names begin with cis.Prefix, not "rampart-":
// cis-alarms restores them; self-protection, which only alerts on
// Rampart's own alarms, leaves them alone. The dashboard shows them.
func newCISAlarms(stack awscdk.Stack, s *Settings, topic awssns.ITopic) []awscloudwatch.Alarm {
	if s.TrailLogGroup == "" || topic == nil {
		return nil
	}
	var out []awscloudwatch.Alarm
	c := constructs.NewConstruct(stack, jsii.String("CIS"))
	logs := awslogs.LogGroup_FromLogGroupName(c, jsii.String("TrailLogGroup"), jsii.String(s.TrailLogGroup))
	action := awscloudwatchactions.NewSnsAction(topic)
	for i := range cis.Controls {
		ctl := &cis.Controls[i]
		id := exportID(ctl.Slug)
		mf := awslogs.NewMetricFilter(c, jsii.String("Filter"+id), &awslogs.MetricFilterProps{
			LogGroup:        logs,
			FilterName:      jsii.String(ctl.Name()),
			FilterPattern:   awslogs.FilterPattern_Literal(jsii.String(ctl.Pattern)),
			MetricNamespace: jsii.String(cis.Namespace),
			MetricName:      jsii.String(ctl.Name()),
			MetricValue:     jsii.String(cis.MetricValue),
		})
		a := awscloudwatch.NewAlarm(c, jsii.String("Alarm"+id), &awscloudwatch.AlarmProps{
			AlarmName:        jsii.String(ctl.Name()),
			AlarmDescription: jsii.String(truncate(ctl.Description(), 1024)),
			Metric: mf.Metric(&awscloudwatch.MetricOptions{
				Period: awscdk.Duration_Seconds(jsii.Number(cis.PeriodSeconds)), Statistic: jsii.String(cis.Statistic)}),
			Threshold:          jsii.Number(float64(ctl.Threshold)),
			EvaluationPeriods:  jsii.Number(cis.EvaluationPeriods),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD, // cis.Comparison (the test checks)
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,                        // cis.TreatMissingData
		})
		a.Node().AddDependency(mf) // the filter first: the alarm watches its metric
		a.AddAlarmAction(action)
		out = append(out, a)
	}
	return out
}
