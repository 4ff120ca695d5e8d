package main

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/rampart-aws/rampart/internal/catalog"
)

func TestHeartbeatWindow(t *testing.T) {
	for sched, want := range map[string]time.Duration{
		"rate(1 hour)": 2 * time.Hour, "rate(6 hours)": 12 * time.Hour, "rate(30 minutes)": time.Hour,
		"rate(1 day)": 24 * time.Hour, "rate(7 days)": 24 * time.Hour,
	} {
		if got, ok := heartbeatWindow(sched); !ok || got != want {
			t.Errorf("%s: %v, %v; want %v", sched, got, ok, want)
		}
	}
	for _, bad := range []string{"cron(0 * * * ? *)", "rate(0 hours)", "rate(hour)", "rate(2 weeks)", "rate(1 hour"} {
		if got, ok := heartbeatWindow(bad); ok {
			t.Errorf("%s: accepted as %v", bad, got)
		}
	}
}

// Each region's stack has a heartbeat alarm per heartbeat sweep: Rampart's
// Decisions metric of the rule, over two sweep intervals, missing data
// breaching, notifying the topic. The fake catalog has none.
func TestHeartbeatAlarms(t *testing.T) {
	a := catalogApp(t)
	want := map[string]float64{}
	for _, r := range catalog.All() {
		m := r.Meta()
		for _, id := range heartbeatRules {
			if m.ID == id {
				w, ok := heartbeatWindow(m.Schedule)
				if !ok {
					t.Fatalf("%s: schedule %q", id, m.Schedule)
				}
				want[id] = w.Seconds()
			}
		}
	}
	if len(want) != len(heartbeatRules) {
		t.Fatalf("heartbeat rules missing from the catalog: %v", want)
	}
	for _, region := range regions {
		tpl := a.tpl[region]
		topic := tpl.FindResources(jsii.String("AWS::SNS::Topic"), nil)
		var topicID string
		for id := range *topic {
			topicID = id
		}
		// The home region's alarms notify the topic; elsewhere the alarm
		// relay carries their state changes home.
		var actions any = assertions.Match_Absent()
		if topicID != "" {
			actions = []any{map[string]any{"Ref": topicID}}
		}
		for id, period := range want {
			must(t, region+" "+id, func() {
				tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
					"AlarmName":          "rampart-" + id + "-heartbeat",
					"Namespace":          "Rampart",
					"MetricName":         "Decisions",
					"Dimensions":         []any{map[string]any{"Name": "Rule", "Value": id}},
					"Statistic":          "Sum",
					"Period":             period,
					"EvaluationPeriods":  1,
					"Threshold":          1,
					"ComparisonOperator": "LessThanThreshold",
					"TreatMissingData":   "breaching",
					"AlarmActions":       actions,
				})
			})
		}
	}
	f := fakeApp(t)
	for _, region := range regions {
		must(t, "fake "+region, func() {
			f.tpl[region].ResourcePropertiesCountIs(jsii.String("AWS::CloudWatch::Alarm"),
				assertions.Match_ObjectLike(&map[string]any{"MetricName": "Decisions"}), jsii.Number(0))
		})
	}
}

// CloudWatch's API calls (CloudTrail source monitoring.amazonaws.com, which
// self-protection watches for the heartbeat alarms) reach EventBridge as
// aws.cloudwatch.
func TestCloudWatchEventSource(t *testing.T) {
	if got, err := eventSource("monitoring.amazonaws.com"); err != nil || got != "aws.cloudwatch" {
		t.Fatalf("eventSource(monitoring) = %q, %v", got, err)
	}
}

// ebService is the service part of the EventBridge source of a CloudTrail
// event source, as AWS documents it (independently of plan.go).
func ebService(cloudTrailSource string) string {
	svc := strings.TrimSuffix(cloudTrailSource, ".amazonaws.com")
	if svc == "monitoring" {
		return "cloudwatch"
	}
	return svc
}
