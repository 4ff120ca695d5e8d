package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/rampart-aws/rampart/internal/rule"
)

// The member template: what the StackSet puts in every member account, in
// every covered region. It is synthesized by the CDK from its own app (with
// cdk-nag), written to <outdir>/member/ for cfn-lint, and embedded in the
// StackSet as its TemplateBody. It is region-agnostic: ${AWS::Region} picks
// the security account's bus of the same region, and a Condition puts the
// (global) member role in the home region only.

const memberStackID = "rampart-member"

// memberTemplate synthesizes the member template into outdir and returns it
// as JSON.
func memberTemplate(rules []rule.Rule, s *Settings, outdir string, flags map[string]any) (string, error) {
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outdir), Context: &flags})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Reports: jsii.Bool(true)}), nil)
	stack := awscdk.NewStack(app, jsii.String(memberStackID), &awscdk.StackProps{
		Description: jsii.String("Rampart member account: forwards Rampart's events to the security account " + s.Account + "; the member remediation role"),
		// The StackSet deploys the template body as is: no CDK bootstrap
		// version parameter or rule in member accounts.
		Synthesizer: awscdk.NewDefaultStackSynthesizer(&awscdk.DefaultStackSynthesizerProps{GenerateBootstrapVersionRule: jsii.Bool(false)}),
		// Nor the CDK's metadata resource: the template is CloudFormation's.
		AnalyticsReporting: jsii.Bool(false),
	})
	if err := newMemberResources(stack, rules, s); err != nil {
		return "", err
	}
	asm := app.Synth(nil)
	art := asm.GetStackByName(jsii.String(memberStackID))
	// The CLI reports only the main app's annotations: fail on cdk-nag's
	// errors about the member template here.
	var nagErrors []string
	for _, m := range *art.Messages() {
		//nolint:staticcheck // SA1019: the replacement type (@aws-cdk/cloud-assembly-api) has no Go binding in aws-cdk-go v2.276
		if m.Level == cxapi.SynthesisMessageLevel_ERROR {
			nagErrors = append(nagErrors, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
		}
	}
	if len(nagErrors) > 0 {
		return "", fmt.Errorf("member template:\n  %s", strings.Join(nagErrors, "\n  "))
	}
	tpl := art.Template()
	b, err := json.Marshal(tpl)
	if err != nil {
		return "", fmt.Errorf("member template: %w", err)
	}
	if len(b) > 51200 {
		return "", fmt.Errorf("member template: %d bytes, over CloudFormation's 51,200 for a TemplateBody", len(b))
	}
	return string(b), nil
}

// memberActions are what the member role may do: every rule's read
// actions and the write actions the deployed parameters enable (grants.go),
// and config:PutEvaluations for the organization rules. Not the alerts (the
// security account's topic) nor iam:PassRole (the roles rules pass are
// named in the security account's settings).
func memberActions(rules []rule.Rule, s *Settings) ([]string, error) {
	out, err := grantedActions(rules, s, false)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(out, "config:PutEvaluations") {
		out = append(out, "config:PutEvaluations")
	}
	slices.Sort(out)
	return out, nil
}

func newMemberResources(stack awscdk.Stack, rules []rule.Rule, s *Settings) error {
	o := s.Organization
	isHome := awscdk.NewCfnCondition(stack, jsii.String("IsHomeRegion"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(awscdk.Aws_REGION(), jsii.String(s.HomeRegion)),
	})
	regionalBus := awscdk.Fn_Sub(jsii.String(fmt.Sprintf("arn:${AWS::Partition}:events:${AWS::Region}:%s:event-bus/default", s.Account)), nil)
	homeBus := busARN(s.HomeRegion, s.Account)

	role := awsiam.NewRole(stack, jsii.String("ForwardRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil),
		Description: jsii.String("Rampart: forwards this account's Rampart events to the security account"),
		InlinePolicies: &map[string]awsiam.PolicyDocument{"forward": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
			Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("events:PutEvents"),
				Resources: &[]*string{regionalBus, jsii.String(homeBus)},
			})},
		})},
	})
	regional, global := allEventGroups(rules)
	add := func(g eventGroup, bus *string, suffix string) error {
		pattern, err := eventPattern(&g.Trigger)
		if err != nil {
			return err
		}
		name := forwardRuleName(g.Trigger.Source) + suffix
		awsevents.NewCfnRule(stack, jsii.String(strings.TrimPrefix(name, "rampart-")), &awsevents.CfnRuleProps{
			Name:         jsii.String(name),
			Description:  jsii.String(truncate(fmt.Sprintf("Rampart: %s events of %s, to the security account %s", g.Trigger.Source, strings.Join(g.RuleIDs, ", "), s.Account), 512)),
			State:        jsii.String("ENABLED"),
			EventPattern: pattern,
			Targets: []any{&awsevents.CfnRule_TargetProperty{
				Id: jsii.String("security-account"), Arn: bus, RoleArn: role.RoleArn(),
			}},
		})
		return nil
	}
	for _, g := range regional {
		if err := add(g, regionalBus, ""); err != nil {
			return err
		}
	}
	// Global-service events go straight to the home region's bus: one hop.
	for _, g := range global {
		if err := add(g, jsii.String(homeBus), "-home"); err != nil {
			return err
		}
	}
	// Service events (EC2 state changes, findings…) likewise: regional ones
	// to the same region's bus, region-pinned ones to the home region's.
	regionalSvc, globalSvc := allServiceGroups(rules)
	addSvc := func(g serviceGroup, bus *string, suffix string) {
		name := forwardServiceName(&g.Trigger, suffix)
		awsevents.NewCfnRule(stack, jsii.String(strings.TrimPrefix(name, "rampart-")), &awsevents.CfnRuleProps{
			Name:         jsii.String(name),
			Description:  jsii.String(truncate(fmt.Sprintf("Rampart: %s %q events of %s, to the security account %s", g.Trigger.Source, g.Trigger.DetailType, strings.Join(g.RuleIDs, ", "), s.Account), 512)),
			State:        jsii.String("ENABLED"),
			EventPattern: servicePattern(&g.Trigger),
			Targets: []any{&awsevents.CfnRule_TargetProperty{
				Id: jsii.String("security-account"), Arn: bus, RoleArn: role.RoleArn(),
			}},
		})
	}
	for _, g := range regionalSvc {
		addSvc(g, regionalBus, "")
	}
	for _, g := range globalSvc {
		addSvc(g, jsii.String(homeBus), "-home")
	}

	var trusted []string
	for _, f := range planRegion(rules, s.HomeRegion, s.HomeRegion).Functions {
		trusted = append(trusted, roleARN(s, f.Name))
	}
	actions, err := memberActions(rules, s)
	if err != nil {
		return err
	}
	member := awsiam.NewCfnRole(stack, jsii.String("MemberRole"), &awsiam.CfnRoleProps{
		RoleName:    jsii.String(o.MemberRoleName),
		Description: jsii.String("Rampart: assumed only by Rampart's function roles in the security account " + s.Account),
		AssumeRolePolicyDocument: map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Effect":    "Allow",
				"Principal": map[string]any{"AWS": trusted},
				"Action":    "sts:AssumeRole",
				"Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": o.ID}},
			}},
		},
		Policies: []any{&awsiam.CfnRole_PolicyProperty{
			PolicyName: jsii.String("rampart-rules"),
			PolicyDocument: map[string]any{
				"Version": "2012-10-17",
				"Statement": []any{map[string]any{
					"Sid": "RuleActions", "Effect": "Allow", "Action": actions, "Resource": "*",
				}},
			},
		}},
	})
	member.CfnOptions().SetCondition(isHome)
	cdknag.NagSuppressions_AddResourceSuppressions(member, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("The rules' actions are an exact list (no wildcard actions) acting on whichever resource the event or " +
			"Config item names in this account; config:PutEvaluations has no resource-level permissions. Only Rampart's function " +
			"roles in the security account, by exact ARN and within the organization, may assume the role."),
	}}, jsii.Bool(true))
	return nil
}
