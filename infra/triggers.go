package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsconfig"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
)

// target is the EventBridge target of a Rampart function: retried for up to
// two hours, then kept in the function's dead-letter queue.
func target(fn *RemediationFunction) awsevents.IRuleTarget {
	return awseventstargets.NewLambdaFunction(fn.Function, &awseventstargets.LambdaFunctionProps{
		DeadLetterQueue: fn.DLQ,
		RetryAttempts:   jsii.Number(8),
		MaxEventAge:     awscdk.Duration_Hours(jsii.Number(2)),
	})
}

// NewEventRule is the EventBridge rule that sends one service's CloudTrail
// events to a function: source, detail-type, event source and the union of
// the event names of the function's rules pinned, failed calls filtered out
// (eventPattern). One rule per function and service, so that a call two of
// the function's rules watch (PutBucketPolicy) invokes it once.
func NewEventRule(scope constructs.Construct, function string, g *eventGroup, fn *RemediationFunction) (awsevents.Rule, error) {
	pattern, err := eventPattern(&g.Trigger)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", function, err)
	}
	name := eventRuleName(function, g.Trigger.Source)
	fn.watchRule(name)
	return awsevents.NewRule(scope, jsii.String("Events-"+strings.TrimPrefix(name, "rampart-")), &awsevents.RuleProps{
		RuleName:     jsii.String(name),
		Description:  jsii.String(truncate(fmt.Sprintf("Rampart %s: %s events of %s", function, g.Trigger.Source, strings.Join(g.RuleIDs, ", ")), 512)),
		EventPattern: cdkPattern(pattern),
		Targets:      &[]awsevents.IRuleTarget{target(fn)},
	}), nil
}

// cdkPattern turns a pattern made by eventPattern into the CDK's type.
func cdkPattern(p map[string]any) *awsevents.EventPattern {
	out := &awsevents.EventPattern{}
	if v, ok := p["source"].([]any); ok {
		out.Source = anyStrings(v)
	}
	if v, ok := p["detail-type"].([]any); ok {
		out.DetailType = anyStrings(v)
	}
	if v, ok := p["detail"].(map[string]any); ok {
		d := map[string]any{}
		for k, x := range v {
			d[k] = x
		}
		out.Detail = &d
	}
	return out
}

func anyStrings(v []any) *[]*string {
	out := make([]*string, len(v))
	for i, s := range v {
		out[i] = jsii.String(s.(string))
	}
	return &out
}

// NewSweepSchedule is the scheduled EventBridge rule of a rule's periodic
// sweep. Its name, rampart-<rule>-sweep, tells the engine which rule to run.
func NewSweepSchedule(scope constructs.Construct, id string, r rule.Rule, fn *RemediationFunction) awsevents.Rule {
	m := r.Meta()
	fn.watchRule(sweepRuleName(m.ID))
	return awsevents.NewRule(scope, jsii.String(id), &awsevents.RuleProps{
		RuleName:    jsii.String(sweepRuleName(m.ID)),
		Description: jsii.String(truncate(fmt.Sprintf("Rampart %s sweep: %s", m.ID, m.Title), 512)),
		Schedule:    awsevents.Schedule_Expression(jsii.String(m.Schedule)),
		Targets:     &[]awsevents.IRuleTarget{target(fn)},
	})
}

// NewConfigInvokePermission lets AWS Config (of this account only) invoke
// the function. The L1 resources are used for Config rules because the L2
// CustomRule attaches the AWSConfigRulesExecutionRole managed policy to the
// function's role: broader than the rules need, and an AwsSolutions-IAM4 finding.
func NewConfigInvokePermission(scope constructs.Construct, id string, fn *RemediationFunction) awslambda.CfnPermission {
	return awslambda.NewCfnPermission(scope, jsii.String(id), &awslambda.CfnPermissionProps{
		Action:        jsii.String("lambda:InvokeFunction"),
		FunctionName:  fn.Function.FunctionArn(),
		Principal:     jsii.String("config.amazonaws.com"),
		SourceAccount: awscdk.Aws_ACCOUNT_ID(),
	})
}

// NewConfigRule is the AWS Config custom rule (CUSTOM_LAMBDA) of a rule:
// change-triggered on its resource types and/or periodic, with its resolved
// parameters as input parameters.
func NewConfigRule(scope constructs.Construct, id string, r rule.Rule, params map[string]string, fn *RemediationFunction, perm awslambda.CfnPermission) (awsconfig.CfnConfigRule, error) {
	m := r.Meta()
	c := m.Config
	var details []interface{}
	var scopeProp interface{}
	if len(c.ResourceTypes) > 0 {
		for _, t := range []string{"ConfigurationItemChangeNotification", "OversizedConfigurationItemChangeNotification"} {
			details = append(details, &awsconfig.CfnConfigRule_SourceDetailProperty{
				EventSource: jsii.String("aws.config"),
				MessageType: jsii.String(t),
			})
		}
		scopeProp = &awsconfig.CfnConfigRule_ScopeProperty{ComplianceResourceTypes: jsii.Strings(c.ResourceTypes...)}
	}
	var freq *string
	if c.Frequency != "" {
		freq = jsii.String(c.Frequency)
		details = append(details, &awsconfig.CfnConfigRule_SourceDetailProperty{
			EventSource:               jsii.String("aws.config"),
			MessageType:               jsii.String("ScheduledNotification"),
			MaximumExecutionFrequency: freq,
		})
	}
	var input interface{}
	if len(params) > 0 {
		b, err := json.Marshal(params)
		if err != nil {
			return nil, err
		}
		if len(b) > 1024 {
			return nil, fmt.Errorf("rule %s: Config input parameters are %d bytes, over Config's 1024", m.ID, len(b))
		}
		in := map[string]interface{}{}
		for k, v := range params {
			in[k] = v
		}
		input = in
	}
	cr := awsconfig.NewCfnConfigRule(scope, jsii.String(id), &awsconfig.CfnConfigRuleProps{
		ConfigRuleName: jsii.String(m.ConfigRuleName()),
		Description:    jsii.String(truncate(m.Title+". "+m.Remediation, 256)),
		Source: &awsconfig.CfnConfigRule_SourceProperty{
			Owner:            jsii.String("CUSTOM_LAMBDA"),
			SourceIdentifier: fn.Function.FunctionArn(),
			SourceDetails:    details,
		},
		Scope:                     scopeProp,
		InputParameters:           input,
		MaximumExecutionFrequency: freq,
	})
	cr.AddResourceDependency(perm, jsii.String("Config checks it may invoke the function when the rule is created"))
	return cr, nil
}

// truncate shortens s to at most n bytes, on a rune boundary.
var truncate = report.Truncate
