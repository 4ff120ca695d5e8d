package main

import (
	"fmt"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// TestOperationsAlarms: every stack alarms on undelivered notifications and
// rejected payloads, stack-wide (the metric without dimension), to the
// notifications topic.
func TestOperationsAlarms(t *testing.T) {
	for name, a := range apps(t) {
		for _, region := range regions {
			// The home region's alarms notify the topic; elsewhere the
			// alarm relay carries their state changes home.
			var actions any = assertions.Match_Absent()
			if region == home {
				actions = []any{map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^Notifications"))}}
			}
			for _, want := range operationsAlarms {
				must(t, fmt.Sprintf("%s %s: %s", name, region, want.name), func() {
					a.tpl[region].HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
						"AlarmName":          want.name,
						"Namespace":          "Rampart",
						"MetricName":         want.metric,
						"Statistic":          "Sum",
						"Period":             300,
						"Threshold":          1,
						"ComparisonOperator": "GreaterThanOrEqualToThreshold",
						"TreatMissingData":   "notBreaching",
						"Dimensions":         assertions.Match_Absent(),
						"AlarmActions":       actions,
					})
				})
			}
		}
	}
}
