package main

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Forwarding between regions, on EventBridge's own cross-region bus
// targets. Every region other than the home region forwards to the home
// region's default bus:
//   - the global-service events (console sign-ins, which AWS records in
//     us-east-2, eu-north-1, ap-southeast-2 or the sign-in endpoint's region;
//     IAM calls, recorded in us-east-1 when home is elsewhere), so the global
//     rules' function and its failed-sign-in alarm see all of them;
//   - the state changes of Rampart's alarms to ALARM, which the home region
//     relays to the one notifications topic (a CloudWatch alarm can only
//     notify a topic of its own region; one topic means one subscription).

// alarmStatePattern selects Rampart's alarms entering ALARM, except the
// children of a function's composite alarm (monitoring.go), which notifies
// for them: their descriptions begin with childMarker.
func alarmStatePattern() *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings("aws.cloudwatch"),
		DetailType: jsii.Strings("CloudWatch Alarm State Change"),
		Detail: &map[string]any{
			"alarmName":     []any{map[string]any{"prefix": "rampart-"}},
			"state":         map[string]any{"value": []any{"ALARM"}},
			"configuration": map[string]any{"description": []any{map[string]any{"anything-but": map[string]any{"prefix": childMarker}}}},
		},
	}
}

// busARN is the default event bus of an account-region.
func busARN(region, account string) string {
	return fmt.Sprintf("arn:%s:events:%s:%s:event-bus/default", partitionOf(region), region, account)
}

// newForwarding adds a non-home region's forwarding rules: one per
// global-service group of events, and the alarm relay's, with one role
// (allowed events:PutEvents on the home bus only) and one dead-letter queue
// (alarmed: its alarm's state change is itself forwarded).
func newForwarding(stack awscdk.Stack, p *regionPlan, s *Settings) {
	c := constructs.NewConstruct(stack, jsii.String("Forward"))
	home := awsevents.EventBus_FromEventBusArn(c, jsii.String("HomeBus"), jsii.String(busARN(s.HomeRegion, s.Account)))
	role := awsiam.NewRole(c, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil),
		Description: jsii.String("Rampart: forwards global-service events and alarms from " + p.Region + " to " + s.HomeRegion),
	})
	dlq := awssqs.NewQueue(c, jsii.String("DLQ"), &awssqs.QueueProps{
		QueueName:       jsii.String("rampart-forward-dlq"),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(dlq, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is the forwarding rules' dead-letter queue; its depth alarm watches it."),
	}}, jsii.Bool(true))
	tgt := awseventstargets.NewEventBus(home, &awseventstargets.EventBusProps{Role: role, DeadLetterQueue: dlq})
	for _, g := range p.Forward {
		pattern, err := eventPattern(&g.Trigger)
		if err != nil {
			panic(err) // checkRules has vetted every event source
		}
		name := forwardRuleName(g.Trigger.Source)
		awsevents.NewRule(c, jsii.String(strings.TrimPrefix(name, "rampart-")), &awsevents.RuleProps{
			RuleName:     jsii.String(name),
			Description:  jsii.String(truncate(fmt.Sprintf("Rampart: %s events of %s, to the home region %s", g.Trigger.Source, strings.Join(g.RuleIDs, ", "), s.HomeRegion), 512)),
			EventPattern: cdkPattern(pattern),
			Targets:      &[]awsevents.IRuleTarget{tgt},
		})
	}
	for _, g := range p.ForwardServices {
		name := forwardServiceName(&g.Trigger, "")
		awsevents.NewRule(c, jsii.String(strings.TrimPrefix(name, "rampart-")), &awsevents.RuleProps{
			RuleName:     jsii.String(name),
			Description:  jsii.String(truncate(fmt.Sprintf("Rampart: %s %q events of %s, to the home region %s", g.Trigger.Source, g.Trigger.DetailType, strings.Join(g.RuleIDs, ", "), s.HomeRegion), 512)),
			EventPattern: cdkPattern(servicePattern(&g.Trigger)),
			Targets:      &[]awsevents.IRuleTarget{tgt},
		})
	}
	awsevents.NewRule(c, jsii.String("alarms"), &awsevents.RuleProps{
		RuleName:     jsii.String("rampart-forward-alarms"),
		Description:  jsii.String("Rampart: this region's Rampart alarms, to the home region " + s.HomeRegion + " and its topic"),
		EventPattern: alarmStatePattern(),
		Targets:      &[]awsevents.IRuleTarget{tgt},
	})
	alarm(c, "DLQAlarm", "rampart-forward-dlq",
		"Events Rampart could not forward to the home region wait in rampart-forward-dlq: inspect, fix, redrive.",
		dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum")}), 1)
}

// newAlarmRelay is the home region's rule sending the other regions'
// forwarded alarm state changes to the topic.
func newAlarmRelay(stack awscdk.Stack, home string, topic awssns.ITopic) awsevents.Rule {
	p := alarmStatePattern()
	// The home region's alarms notify the topic themselves.
	p.Region = awsevents.Match_AnythingBut(home)
	return awsevents.NewRule(stack, jsii.String("AlarmRelay"), &awsevents.RuleProps{
		RuleName:     jsii.String("rampart-alarm-relay"),
		Description:  jsii.String("Rampart: the other regions' Rampart alarms, forwarded here, to the notifications topic"),
		EventPattern: p,
		Targets:      &[]awsevents.IRuleTarget{awseventstargets.NewSnsTopic(topic, nil)},
	})
}
