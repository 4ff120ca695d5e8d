package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/rampart-aws/rampart/internal/report"
)

// operationsAlarm is one stack-wide alarm on a metric every function
// writes in Embedded Metric Format without dimension (internal/report).
type operationsAlarm struct {
	id, name, metric, description string
}

var operationsAlarms = []operationsAlarm{
	{"NotifyFailedAlarm", "rampart-notify-failed", report.MetricNotifyFailed,
		"A Rampart notification could not be delivered after retries: the invocation failed so Lambda retries it and re-sends the message; " +
			"the function's log holds the message in full. Check the topic, its key policy and the functions' roles."},
	{"RejectedAlarm", "rampart-rejected", report.MetricRejected,
		"A Rampart function rejected a payload as bad input (it is not retried): the function's log says why. " +
			"Check what invokes the function (an EventBridge rule's input, a Config rule, a hand-made invocation)."},
}

// addOperationsAlarms adds the stack's alarms on Rampart's own health: an
// undelivered notification and a rejected payload are each worth a look,
// so one in five minutes raises the alarm.
func addOperationsAlarms(scope constructs.Construct, action awscloudwatch.IAlarmAction) {
	for _, a := range operationsAlarms {
		metric := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:  jsii.String(report.Namespace),
			MetricName: jsii.String(a.metric),
			Period:     awscdk.Duration_Minutes(jsii.Number(5)),
			Statistic:  jsii.String("Sum"),
		})
		addAction(alarm(scope, a.id, a.name, a.description, metric, 1), action)
	}
}
