package main

import (
	"slices"

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

// securityHubAlarm watches the Security Hub imports (rampart:securityHub).
var securityHubAlarm = operationsAlarm{"SecurityHubFailedAlarm", "rampart-securityhub-failed", report.MetricSecurityHubFailed,
	"A Rampart finding could not be imported into Security Hub after retries: the decision stands (log, Config, notification) and the " +
		"function imports the finding again on its next invocation; the function's log holds the finding in full. Check that Security Hub " +
		"is enabled in the account and region, and the functions' securityhub:BatchImportFindings permission."}

// addOperationsAlarms adds the stack's alarms on Rampart's own health: an
// undelivered notification, a rejected payload and (with Security Hub on)
// a finding Security Hub did not take are each worth a look, so one in
// five minutes raises the alarm.
func addOperationsAlarms(scope constructs.Construct, action awscloudwatch.IAlarmAction, s *Settings) {
	alarms := operationsAlarms
	if s.SecurityHub {
		alarms = append(slices.Clone(alarms), securityHubAlarm)
	}
	for _, a := range alarms {
		metric := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:  jsii.String(report.Namespace),
			MetricName: jsii.String(a.metric),
			Period:     awscdk.Duration_Minutes(jsii.Number(5)),
			Statistic:  jsii.String("Sum"),
		})
		addAction(alarm(scope, a.id, a.name, a.description, metric, 1), action)
	}
}
