package demo

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/cis"
)

// The trail's log group the cis events name, and the topic the deployment
// names for the CIS alarms.
const (
	cisLogGroup = "aws-cloudtrail-logs-123456789012"
	cisTopic    = "arn:aws:sns:us-east-1:123456789012:rampart-notifications"
	cisControl  = "cis-root-usage"
)

var cisScenarios = []Scenario{
	{
		Rule: "cis-alarms",
		Name: "CIS root-usage filter deleted and alarm threshold raised",
		Events: []string{"cloudtrail/logs-delete-metric-filter-cis.json",
			"cloudtrail/cloudwatch-put-metric-alarm-cis-threshold.json"},
		Params: map[string]string{"logGroupName": cisLogGroup, "topicArn": cisTopic},
		// moto 5.2.1 names the action after the signing name: it wants
		// monitoring:DescribeAlarms where IAM's prefix is cloudwatch.
		IAMGap: "moto's IAM enforcement checks CloudWatch calls as monitoring:<Action>, not IAM's cloudwatch:<Action>",
		Seed: func(ctx context.Context, s *awsclient.Session) (Fixture, error) {
			logs := awsclient.Client(s, cloudwatchlogs.NewFromConfig)
			if _, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(cisLogGroup)}); err != nil {
				return Fixture{}, fmt.Errorf("create log group %s: %w", cisLogGroup, err)
			}
			// What the two calls did: the filter is gone, the alarm needs
			// 100000 root calls in five minutes.
			c := cis.ByName(cisControl)
			_, err := awsclient.Client(s, cloudwatch.NewFromConfig).PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
				AlarmName: aws.String(c.Name()), MetricName: aws.String(c.Name()), Namespace: aws.String(cis.Namespace),
				Statistic: cwtypes.StatisticSum, Period: aws.Int32(cis.PeriodSeconds), EvaluationPeriods: aws.Int32(cis.EvaluationPeriods),
				Threshold: aws.Float64(100000), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold,
				TreatMissingData: aws.String(cis.TreatMissingData), ActionsEnabled: aws.Bool(true), AlarmActions: []string{cisTopic}})
			if err != nil {
				return Fixture{}, fmt.Errorf("put alarm %s: %w", c.Name(), err)
			}
			return Fixture{ID: c.Name(), Label: "CIS control " + c.Name() + " (" + c.Title + ") on " + cisLogGroup}, nil
		},
		State: func(ctx context.Context, s *awsclient.Session, f Fixture) ([]string, error) {
			c := cis.ByName(f.ID)
			out, err := awsclient.Client(s, cloudwatchlogs.NewFromConfig).DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{
				LogGroupName: aws.String(cisLogGroup), FilterNamePrefix: aws.String(f.ID)})
			if err != nil {
				return nil, fmt.Errorf("describe metric filters: %w", err)
			}
			filter := "missing"
			for _, mf := range out.MetricFilters {
				if aws.ToString(mf.FilterName) != f.ID {
					continue
				}
				filter = "another pattern"
				if aws.ToString(mf.FilterPattern) == c.Pattern {
					filter = "the benchmark's pattern"
				}
			}
			al, err := awsclient.Client(s, cloudwatch.NewFromConfig).DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{f.ID}})
			if err != nil {
				return nil, fmt.Errorf("describe alarms: %w", err)
			}
			lines := []string{"metric filter: " + filter}
			if len(al.MetricAlarms) == 0 {
				return append(lines, "alarm: missing"), nil
			}
			a := al.MetricAlarms[0]
			actions := "disabled"
			if aws.ToBool(a.ActionsEnabled) {
				actions = "enabled"
			}
			var topics []string
			for _, t := range a.AlarmActions {
				topics = append(topics, t[strings.LastIndex(t, ":")+1:])
			}
			return append(lines, fmt.Sprintf("alarm threshold: %g in %d s", aws.ToFloat64(a.Threshold), aws.ToInt32(a.Period)),
				"alarm actions: "+actions+", notifying "+strings.Join(topics, ", ")), nil
		},
		Want: []string{"metric filter: the benchmark's pattern", "alarm threshold: 1 in 300 s", "alarm actions: enabled, notifying rampart-notifications"},
	},
}
