package main

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
)

// What can go wrong unseen, per function, and one notification for it.
//
// Every function's operational alarms are the children of one composite
// alarm, rampart-<function>, which alone notifies (the topic in the home
// region, the alarm relay elsewhere): one failure, one e-mail, whichever of
// its symptoms fire. The children have no action, and their descriptions
// begin with childMarker so the relay (forwarding.go) does not forward them
// either. The children are:
//   - rampart-<fn>-errors: the function failed (Lambda Errors), which is
//     also how AWS Config evaluation errors show: the handler fails the
//     invocation whenever an evaluation errored, PutEvaluations failed or
//     Config rejected an evaluation (internal/report/evaluations.go), and Config
//     invokes asynchronously, so Lambda retries and then dead-letters it;
//   - rampart-<fn>-dlq: events wait in its dead-letter queue;
//   - rampart-<fn>-throttles: Lambda throttled an invocation (account
//     concurrency exhausted: events are delayed, then dropped);
//   - rampart-<fn>-destination-failures: an event Lambda gave up on could
//     not even be put in the dead-letter queue (DestinationDeliveryFailures):
//     it is lost;
//   - rampart-<fn>-config-errors (functions with Config rules): a decision
//     of a Config invocation errored (its decision log record has trigger
//     "config" and an error); AWS/Config publishes no per-rule evaluation
//     error metric, only recorder and delivery ones;
//   - per EventBridge rule of the function (its events and its sweeps),
//     rampart-<rule>-failed-invocations (FailedInvocations: EventBridge
//     could not invoke the function, e.g. its resource policy was removed)
//     and rampart-<rule>-dlq-failures (InvocationsFailedToBeSentToDlq: and
//     could not dead-letter the event either: it is lost);
//   - whatever else is appended to RemediationFunction.Alarms before the
//     stack finishes (newCompositeAlarms runs last).
//
// The rules' log alarms (Meta.LogAlarms) and the heartbeat alarms keep
// their own actions: they are findings and missed sweeps, not a function
// failing, and each deserves its own subject line.

// childMarker begins the description of every child alarm: the alarm relay
// forwards the state changes of Rampart's alarms whose description does not
// begin with it.
const childMarker = "Part of rampart-"

// childDescription is a child alarm's description: the marker, the
// composite alarm it belongs to, and what it means.
func childDescription(function, description string) string {
	return truncate(childMarker+function+" (which notifies): "+description, 1024)
}

// fiveMinutes is the period of the operational alarms.
func fiveMinutes(statistic string) *awscloudwatch.MetricOptions {
	return &awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String(statistic)}
}

// childAlarm is an alarm of the function's composite: no action of its own.
func (f *RemediationFunction) childAlarm(id, name, description string, metric awscloudwatch.IMetric, threshold int) awscloudwatch.Alarm {
	a := alarm(f.Construct, id, name, childDescription(f.Name, description), metric, threshold)
	f.Alarms = append(f.Alarms, a)
	return a
}

// addFunctionAlarms adds the function's throttle, destination and Config
// evaluation alarms (its errors and dead-letter alarms are function.go's).
func (f *RemediationFunction) addFunctionAlarms(p *functionPlan, logs awslogs.ILogGroup) {
	fn := f.Function
	f.childAlarm("ThrottlesAlarm", fmt.Sprintf("rampart-%s-throttles", p.Name),
		fmt.Sprintf("Lambda throttled Rampart function %s (account concurrency exhausted): events are retried late, then dead-lettered. Raise the concurrency quota or find what consumes it.", p.Name),
		fn.MetricThrottles(fiveMinutes("Sum")), 1)
	f.childAlarm("DestinationAlarm", fmt.Sprintf("rampart-%s-destination-failures", p.Name),
		fmt.Sprintf("Lambda could not deliver events Rampart function %s gave up on to its dead-letter queue %s: those events are lost. Check the queue exists and the role may send to it; the function's logs name the events.", p.Name, dlqName(p.Name)),
		fn.Metric(jsii.String("DestinationDeliveryFailures"), fiveMinutes("Sum")), 1)
	if len(p.ConfigRules) > 0 {
		name := "ConfigErrors-" + p.Name
		mf := awslogs.NewMetricFilter(f.Construct, jsii.String("ConfigErrorsMetric"), &awslogs.MetricFilterProps{
			LogGroup: logs,
			FilterPattern: awslogs.FilterPattern_All(
				awslogs.FilterPattern_StringValue(jsii.String("$.trigger"), jsii.String("="), jsii.String("config")),
				awslogs.FilterPattern_Exists(jsii.String("$.error"))),
			MetricNamespace: jsii.String("Rampart"),
			MetricName:      jsii.String(name),
			MetricValue:     jsii.String("1"),
		})
		f.childAlarm("ConfigErrorsAlarm", fmt.Sprintf("rampart-%s-config-errors", p.Name),
			fmt.Sprintf("A Config evaluation of Rampart function %s (%s) errored: Config keeps the previous compliance and retries. The function's decision log records with trigger \"config\" and an error say why.",
				p.Name, strings.Join(ids(p.ConfigRules), ", ")),
			mf.Metric(fiveMinutes("Sum")), 1)
	}
}

// watchRule adds the alarms of one of the function's EventBridge rules
// (AWS/Events, dimension RuleName: the default bus).
func (f *RemediationFunction) watchRule(ruleName string) {
	metric := func(name string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     jsii.String("AWS/Events"),
			MetricName:    jsii.String(name),
			DimensionsMap: &map[string]*string{"RuleName": jsii.String(ruleName)},
			Statistic:     jsii.String("Sum"),
			Period:        awscdk.Duration_Minutes(jsii.Number(5)),
		})
	}
	id := strings.TrimPrefix(ruleName, "rampart-")
	f.childAlarm("FailedInvocations-"+id, ruleName+"-failed-invocations",
		fmt.Sprintf("EventBridge rule %s could not invoke Rampart function %s after its retries (FailedInvocations): check the function exists and its resource policy lets EventBridge invoke it.", ruleName, f.Name),
		metric("FailedInvocations"), 1)
	f.childAlarm("DlqFailures-"+id, ruleName+"-dlq-failures",
		fmt.Sprintf("EventBridge rule %s could not put an event it failed to deliver in %s (InvocationsFailedToBeSentToDlq): the event is lost. Check the queue exists and its policy lets the rule send.", ruleName, dlqName(f.Name)),
		metric("InvocationsFailedToBeSentToDlq"), 1)
}

// newCompositeAlarms adds each function's composite alarm, raised when any
// of its children is: the stack's last step, so that every child appended
// to RemediationFunction.Alarms is in it. action is the home region's topic
// (nil elsewhere: the relay forwards the composite's state changes).
func newCompositeAlarms(rs *RampartStack, action awscloudwatch.IAlarmAction) {
	for _, f := range rs.Plan.Functions {
		fn := rs.Functions[f.Name]
		if fn == nil || len(fn.Alarms) == 0 {
			continue
		}
		var children []awscloudwatch.IAlarmRule
		for _, a := range fn.Alarms {
			children = append(children, a)
		}
		c := awscloudwatch.NewCompositeAlarm(fn.Construct, jsii.String("Composite"), &awscloudwatch.CompositeAlarmProps{
			CompositeAlarmName: jsii.String(compositeAlarmName(f.Name)),
			AlarmDescription: jsii.String(truncate(fmt.Sprintf("Rampart function %s in %s is failing or losing events: see which of its %d alarms "+
				"(rampart-%s-*, its rules' -failed-invocations and -dlq-failures) is in ALARM; docs/deploy.md says what each means.",
				f.Name, rs.Plan.Region, len(children), f.Name), 1024)),
			AlarmRule: awscloudwatch.AlarmRule_AnyOf(children...),
		})
		if action != nil {
			c.AddAlarmAction(action)
		}
	}
}

// compositeAlarmName is the function's composite alarm.
func compositeAlarmName(function string) string { return "rampart-" + function }
