package main

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/rampart-aws/rampart/pkg/rule"
)

// RampartStackProps configure one account-region stack.
type RampartStackProps struct {
	awscdk.StackProps
	// Rules are the rules to deploy: catalog.All() in the app, a fake list
	// in tests.
	Rules    []rule.Rule
	Settings Settings
	// Region is the stack's region; Settings.Regions are all the regions
	// deployed, whose function roles every function must know.
	Region string
}

// RampartStack is Rampart in one account-region.
type RampartStack struct {
	awscdk.Stack
	Plan      regionPlan
	Topic     awssns.Topic
	Functions map[string]*RemediationFunction
}

// NewRampartStack derives the whole stack from the rules' metadata: one
// function per Meta.Function, an EventBridge rule per CloudTrail trigger
// delivered in this region, a Config rule per Config trigger, a schedule per
// sweep, and the notification topic they report to.
func NewRampartStack(scope constructs.Construct, id string, props *RampartStackProps) (*RampartStack, error) {
	s := &props.Settings
	if err := checkRules(props.Rules); err != nil {
		return nil, err
	}
	if err := s.Check(props.Rules); err != nil {
		return nil, err
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	rs := &RampartStack{Stack: stack, Plan: planRegion(props.Rules, props.Region, s.Regions), Functions: map[string]*RemediationFunction{}}

	key := awskms.NewKey(stack, jsii.String("NotificationsKey"), &awskms.KeyProps{
		Description:       jsii.String("Rampart: encrypts the notifications topic"),
		EnableKeyRotation: jsii.Bool(true),
		Alias:             jsii.String("alias/rampart-notifications"),
	})
	// CloudWatch alarms publish to the encrypted topic: they need the key.
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": stack.Account()}},
	}), nil)
	topic := awssns.NewTopic(stack, jsii.String("Notifications"), &awssns.TopicProps{
		TopicName:   jsii.String("rampart-notifications"),
		DisplayName: jsii.String("Rampart"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{topic.TopicArn()},
		Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": stack.Account()}},
	}))
	if s.NotificationEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(s.NotificationEmail), nil))
	}
	rs.Topic = topic

	ownRoles := ownRoleNames(props.Rules, s.Regions, s.OwnRoles)
	for i := range rs.Plan.Functions {
		f := &rs.Plan.Functions[i]
		env, err := s.functionEnv(f, ownRoles, *topic.TopicArn())
		if err != nil {
			return nil, err
		}
		fn, err := NewRemediationFunction(stack, "Fn-"+f.Name, &RemediationFunctionProps{
			Plan: f, Region: props.Region, Settings: s, Env: env, Topic: topic, TopicKey: key,
		})
		if err != nil {
			return nil, err
		}
		rs.Functions[f.Name] = fn
		for _, r := range f.EventRules {
			if _, err := NewCloudTrailRules(fn.Construct, "Event-"+r.Meta().ID, r, props.Region, fn); err != nil {
				return nil, err
			}
		}
		for _, r := range f.Sweeps {
			NewSweepSchedule(fn.Construct, "Sweep-"+r.Meta().ID, r, fn)
		}
		if len(f.ConfigRules) > 0 {
			perm := NewConfigInvokePermission(fn.Construct, "ConfigInvoke", fn)
			for _, r := range f.ConfigRules {
				params, err := s.configParams(r.Meta())
				if err != nil {
					return nil, err
				}
				if _, err := NewConfigRule(fn.Construct, "Config-"+r.Meta().ID, r, params, fn, perm); err != nil {
					return nil, err
				}
			}
		}
		awscdk.NewCfnOutput(stack, jsii.String("FunctionName"+exportID(f.Name)), &awscdk.CfnOutputProps{
			Value:       fn.Function.FunctionName(),
			Description: jsii.String("Rampart function " + f.Name),
		})
	}
	addNotificationState(rs, props)
	awscdk.NewCfnOutput(stack, jsii.String("NotificationsTopicArn"), &awscdk.CfnOutputProps{
		Value:       topic.TopicArn(),
		Description: jsii.String("Rampart's notifications: subscribe here (rampart:notificationEmail does it for one address)"),
	})

	if s.Account == PlaceholderAccount {
		awscdk.Annotations_Of(stack).AddWarningV2(jsii.String("rampart:placeholderAccount"), jsii.String(fmt.Sprintf(
			"no account configured (%s or CDK_DEFAULT_ACCOUNT): synthesized for the placeholder %s, which cannot be deployed",
			ctxAccount, PlaceholderAccount)), nil)
	}
	if missing := unplacedRules(props.Rules, s.Regions); len(missing) > 0 {
		awscdk.Annotations_Of(stack).AddWarningV2(jsii.String("rampart:unplacedRules"), jsii.String(fmt.Sprintf(
			"these rules' events arrive in a region not in %s, so they are not wired: %s",
			ctxRegions, strings.Join(missing, "; "))), nil)
	}
	return rs, nil
}

// exportID makes a function name fit a CloudFormation logical ID.
func exportID(name string) string {
	var b strings.Builder
	up := true
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z':
			if up {
				c -= 'a' - 'A'
			}
			b.WriteRune(c)
			up = false
		case c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
			b.WriteRune(c)
			up = false
		default:
			up = true
		}
	}
	return b.String()
}

// NewRampartApp adds one stack per configured region to the app, with the
// AwsSolutions checks (cdk-nag) applied to all of them.
func NewRampartApp(app awscdk.App, rules []rule.Rule, s Settings) ([]*RampartStack, error) {
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Reports: jsii.Bool(true)}), nil)
	awscdk.Tags_Of(app).Add(jsii.String("app"), jsii.String("rampart"), nil)
	var stacks []*RampartStack
	for _, region := range s.Regions {
		st, err := NewRampartStack(app, "Rampart-"+region, &RampartStackProps{
			StackProps: awscdk.StackProps{
				StackName:   jsii.String("rampart-" + region),
				Description: jsii.String("Rampart: event-driven auto-remediation of AWS misconfigurations (" + region + ")"),
				Env:         &awscdk.Environment{Account: jsii.String(s.Account), Region: jsii.String(region)},
			},
			Rules:    rules,
			Settings: s,
			Region:   region,
		})
		if err != nil {
			return nil, err
		}
		stacks = append(stacks, st)
	}
	return stacks, nil
}
