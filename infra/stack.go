package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/rampart-aws/rampart/internal/rule"
)

// RampartStackProps configure one account-region stack.
type RampartStackProps struct {
	awscdk.StackProps
	// Rules are the rules to deploy: catalog.All() in the app, a fake list
	// in tests.
	Rules    []rule.Rule
	Settings Settings
	// Region is the stack's region; Settings.Regions are all the regions
	// deployed, Settings.HomeRegion the one with the global rules.
	Region string
	// MemberTemplate is the member accounts' template (organization mode,
	// home region): the StackSet's body.
	MemberTemplate string
}

// RampartStack is Rampart in one account-region.
type RampartStack struct {
	awscdk.Stack
	Plan regionPlan
	// Topic is the notifications topic: in the home region only, where
	// every region's functions publish and every region's alarms arrive.
	Topic     awssns.Topic
	Functions map[string]*RemediationFunction
	// CISAlarms are the CIS monitoring alarms (cis.go): home region, with
	// rampart:trailLogGroup only.
	CISAlarms []awscloudwatch.Alarm
}

// topicName names the notifications topic (home region).
const topicName = "rampart-notifications"

// NewRampartStack derives the whole stack from the rules' metadata: one
// function per Meta.Function, an EventBridge rule per function and service
// of the events wired in this region, a Config rule per Config trigger, a
// schedule per sweep; in the home region the notifications topic, the
// function roles and the alarm relay, elsewhere the forwarding rules to the
// home region; in organization mode the bus policy, the organization Config
// rules, the sweep fan-out queues and (home) the member StackSet.
func NewRampartStack(scope constructs.Construct, id string, props *RampartStackProps) (*RampartStack, error) {
	s := &props.Settings
	if err := checkRules(props.Rules); err != nil {
		return nil, err
	}
	if err := s.Check(props.Rules); err != nil {
		return nil, err
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	rs := &RampartStack{Stack: stack, Plan: planRegion(props.Rules, props.Region, s.HomeRegion), Functions: map[string]*RemediationFunction{}}
	notifyARN := topicARN(s)

	var alarmAction awscloudwatch.IAlarmAction
	roles := map[string]*functionRole{}
	if rs.Plan.IsHome() {
		key, topic := newNotifications(stack, s)
		rs.Topic = topic
		alarmAction = awscloudwatchactions.NewSnsAction(topic)
		newAlarmRelay(stack, s.HomeRegion, topic)
		rs.CISAlarms = newCISAlarms(stack, s, topic) // rampart:trailLogGroup's CIS monitoring alarms (cis.go)
		for i := range rs.Plan.Functions {
			f := &rs.Plan.Functions[i]
			r, err := newFunctionRole(stack, f, s, topic, key, i == 0) // the home region's first function sends the digest
			if err != nil {
				return nil, err
			}
			roles[f.Name] = r
		}
	} else {
		newForwarding(stack, &rs.Plan, s)
	}

	ownRoles := ownRoleARNs(props.Rules, s)
	fanOut := 0
	if s.Organization != nil {
		fanOut = s.Organization.MaxConcurrency
		newOrgBusPolicy(stack, props.Region, s)
	}
	for i := range rs.Plan.Functions {
		f := &rs.Plan.Functions[i]
		env, err := s.functionEnv(f, ownRoles, notifyARN, regionEnv(s))
		if err != nil {
			return nil, err
		}
		var after constructs.IDependable
		if r := roles[f.Name]; r != nil {
			dep := constructs.NewDependencyGroup()
			dep.Add(r.Role, r.Policy)
			after = dep
		}
		fn, err := NewRemediationFunction(stack, "Fn-"+f.Name, &RemediationFunctionProps{
			Plan: f, Region: props.Region, Settings: s, Env: env,
			Role:      importRole(stack, "Role-"+f.Name+"-ref", s, f.Name),
			DependsOn: after, AlarmAction: alarmAction, FanOutConcurrency: fanOut,
		})
		if err != nil {
			return nil, err
		}
		rs.Functions[f.Name] = fn
		for j := range f.Events {
			if _, err := NewEventRule(fn.Construct, f.Name, &f.Events[j], fn); err != nil {
				return nil, err
			}
		}
		for j := range f.Services {
			NewServiceRule(fn.Construct, f.Name, &f.Services[j], fn)
		}
		for _, r := range f.Sweeps {
			NewSweepSchedule(fn.Construct, "Sweep-"+r.Meta().ID, r, fn)
		}
		if len(f.ConfigRules) > 0 {
			perm := NewConfigInvokePermission(fn.Construct, "ConfigInvoke", fn)
			var orgPerm awslambda.CfnPermission
			if s.Organization != nil {
				orgPerm = newOrgConfigInvokePermission(fn.Construct, fn)
			}
			for _, r := range f.ConfigRules {
				params, err := s.configParams(r.Meta())
				if err != nil {
					return nil, err
				}
				if _, err := NewConfigRule(fn.Construct, "Config-"+r.Meta().ID, r, params, fn, perm); err != nil {
					return nil, err
				}
				if orgPerm != nil {
					if _, err := newOrgConfigRule(fn.Construct, r.Meta(), params, fn, orgPerm, s); err != nil {
						return nil, err
					}
				}
			}
		}
		awscdk.NewCfnOutput(stack, jsii.String("FunctionName"+exportID(f.Name)), &awscdk.CfnOutputProps{
			Value:       fn.Function.FunctionName(),
			Description: jsii.String("Rampart function " + f.Name),
		})
	}
	if _, err := NewHeartbeats(stack, rs.Plan, alarmAction); err != nil {
		return nil, err
	}
	addOperationsAlarms(stack, alarmAction) // NotifyFailed, Rejected (operations.go): every region, relayed home
	addNotificationState(rs, props)         // the transition store (state.go)
	newCompositeAlarms(rs, alarmAction)     // after every child alarm (monitoring.go)
	newDashboard(rs, s)                     // after every alarm (dashboard.go)
	if rs.Plan.IsHome() && s.Organization != nil {
		var after []constructs.IDependable
		for _, r := range roles {
			after = append(after, r.Role, r.Policy)
		}
		newMemberStackSet(stack, s, props.MemberTemplate, after)
	}
	if rs.Topic != nil {
		awscdk.NewCfnOutput(stack, jsii.String("NotificationsTopicArn"), &awscdk.CfnOutputProps{
			Value:       rs.Topic.TopicArn(),
			Description: jsii.String("Rampart's notifications, from every region: subscribe here (rampart:notificationEmail does it for one address)"),
		})
	}

	if s.Account == PlaceholderAccount {
		awscdk.Annotations_Of(stack).AddWarningV2(jsii.String("rampart:placeholderAccount"), jsii.String(fmt.Sprintf(
			"no account configured (%s or CDK_DEFAULT_ACCOUNT): synthesized for the placeholder %s, which cannot be deployed",
			ctxAccount, PlaceholderAccount)), nil)
	}
	if rs.Plan.IsHome() {
		if missing := uncoveredRegions(GlobalEventRegions, s.Regions); len(missing) > 0 {
			awscdk.Annotations_Of(stack).AddWarningV2(jsii.String("rampart:globalEventRegions"), jsii.String(fmt.Sprintf(
				"AWS records console sign-ins and IAM calls in %s, which %s does not cover: those events never reach Rampart",
				strings.Join(missing, ", "), ctxRegions)), nil)
		}
	}
	return rs, nil
}

// newNotifications is the home region's encrypted notifications topic.
func newNotifications(stack awscdk.Stack, s *Settings) (awskms.Key, awssns.Topic) {
	key := awskms.NewKey(stack, jsii.String("NotificationsKey"), &awskms.KeyProps{
		Description:       jsii.String("Rampart: encrypts the notifications topic"),
		EnableKeyRotation: jsii.Bool(true),
		Alias:             jsii.String("alias/rampart-notifications"),
	})
	// CloudWatch alarms (home region) and EventBridge (the alarm relay)
	// publish to the encrypted topic: they need the key.
	for sid, svc := range map[string]string{"CloudWatchAlarmsPublish": "cloudwatch.amazonaws.com", "AlarmRelayPublish": "events.amazonaws.com"} {
		key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String(sid),
			Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String(svc), nil)},
			Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
			Resources:  jsii.Strings("*"),
			Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": stack.Account()}},
		}), nil)
	}
	topic := awssns.NewTopic(stack, jsii.String("Notifications"), &awssns.TopicProps{
		TopicName:   jsii.String(topicName),
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
	return key, topic
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

// NewRampartApp adds one stack per covered region to the app (the home
// region's first: the others depend on it, for the function roles and the
// topic), with the AwsSolutions checks (cdk-nag) applied to all of them. In
// organization mode it first synthesizes the member template into
// <outdir>/member/.
func NewRampartApp(app awscdk.App, rules []rule.Rule, s Settings) ([]*RampartStack, error) {
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Reports: jsii.Bool(true)}), nil)
	awscdk.Tags_Of(app).Add(jsii.String("app"), jsii.String("rampart"), nil)
	if err := checkRules(rules); err != nil {
		return nil, err
	}
	// The member accounts get the settings without rampart:trailLogGroup's
	// parameters: the CIS alarms are the deploying account's alone, and
	// cis-alarms never writes in a member (no grant there).
	memberSettings := s
	s, err := s.withTrailLogGroup(rules)
	if err != nil {
		return nil, err
	}
	var member string
	if s.Organization != nil {
		flags := map[string]any{}
		if all, ok := app.Node().GetAllContext(nil).(map[string]any); ok {
			for k, v := range all {
				if !strings.HasPrefix(k, "rampart:") && !strings.HasPrefix(k, "aws:cdk:") {
					flags[k] = v
				}
			}
		}
		var err error
		if member, err = memberTemplate(rules, &memberSettings, filepath.Join(*app.Outdir(), "member"), flags); err != nil {
			return nil, err
		}
	}
	regions := append([]string{s.HomeRegion}, slices.DeleteFunc(slices.Clone(s.Regions), func(r string) bool { return r == s.HomeRegion })...)
	var stacks []*RampartStack
	for _, region := range regions {
		props := &RampartStackProps{
			StackProps: awscdk.StackProps{
				StackName:   jsii.String("rampart-" + region),
				Description: jsii.String("Rampart: event-driven auto-remediation of AWS misconfigurations (" + region + ")"),
				Env:         &awscdk.Environment{Account: jsii.String(s.Account), Region: jsii.String(region)},
			},
			Rules:    rules,
			Settings: s,
			Region:   region,
		}
		if region == s.HomeRegion {
			props.MemberTemplate = member
		}
		st, err := NewRampartStack(app, "Rampart-"+region, props)
		if err != nil {
			return nil, err
		}
		if len(stacks) > 0 {
			st.AddStackDependency(stacks[0].Stack, jsii.String("the function roles and the notifications topic are in the home region's stack"))
		}
		stacks = append(stacks, st)
	}
	return stacks, nil
}
