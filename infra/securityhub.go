package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/securityhub"
)

// Security Hub (rampart:securityHub, off by default; docs/securityhub.md).
// On, every function gets RAMPART_SECURITY_HUB=1 and may import findings
// of the account's default product (securityhub:BatchImportFindings, on
// that product only), the SecurityHubFailed alarm watches the imports, and
// every region gets the "Rampart: remediate" custom action (an
// AWS::SecurityHub::ActionTarget) with one EventBridge rule per function
// that sends it the custom actions on findings its rules cover: the
// controls they declare (rule.Meta.SecurityHubControls) and Rampart's own
// findings of its rules. Off, none of it exists.

// securityHubEnv is the variable that switches the engine's integration on.
func securityHubEnv(s *Settings) map[string]string {
	if !s.SecurityHub {
		return nil
	}
	return map[string]string{engine.EnvSecurityHub: "1"}
}

// securityHubStatement grants importing findings of the default product in
// every region of the account (the one role serves every region).
func securityHubStatement(s *Settings) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:     jsii.String("SecurityHubFindings"),
		Actions: jsii.Strings("securityhub:BatchImportFindings"),
		Resources: jsii.Strings(fmt.Sprintf("arn:%s:securityhub:*:%s:product/%s/default",
			partitionOf(s.HomeRegion), s.Account, s.Account)),
	})
}

// customActionRuleName names a function's custom-action EventBridge rule.
func customActionRuleName(function string) string {
	return "rampart-" + function + "-securityhub-action"
}

// customActionPattern is the EventBridge pattern of the custom actions a
// function handles: the deployment's action target in this region, on a
// finding of a control its rules declare or of one of its rules. others,
// when set, makes the function the region's catch-all too: it also gets
// findings of any control but those (controls no rule covers), which it
// reports as such, so that no custom action on a control finding goes
// unanswered.
func customActionPattern(f *functionPlan, actionARN string, others []string) map[string]any {
	var controls, ids []string
	for _, r := range f.Rules {
		m := r.Meta()
		ids = append(ids, m.ID)
		for _, c := range m.SecurityHubControls {
			if !slices.Contains(controls, c) {
				controls = append(controls, c)
			}
		}
	}
	slices.Sort(controls)
	slices.Sort(ids)
	or := []any{map[string]any{"ProductFields": map[string]any{securityhub.FieldRule: toAny(ids)}}}
	if len(controls) > 0 {
		or = append(or,
			map[string]any{"Compliance": map[string]any{"SecurityControlId": toAny(controls)}},
			map[string]any{"ProductFields": map[string]any{"ControlId": toAny(controls)}})
	}
	if len(others) > 0 {
		but := []any{map[string]any{"anything-but": toAny(others)}}
		or = append(or,
			map[string]any{"Compliance": map[string]any{"SecurityControlId": but}},
			map[string]any{"ProductFields": map[string]any{"ControlId": but}})
	}
	findings := or[0]
	if len(or) > 1 {
		findings = map[string]any{"$or": or}
	}
	return map[string]any{
		"source":      []any{securityhub.EventSource},
		"detail-type": []any{securityhub.DetailCustomAction},
		"resources":   []any{actionARN},
		"detail":      map[string]any{"findings": findings},
	}
}

// newSecurityHubAction is a region's custom action and, for each function,
// the rule that routes its findings to it.
//
// The action target is made by a custom resource (CreateActionTarget,
// UpdateActionTarget, DeleteActionTarget): the CDK has an L1 for
// AWS::SecurityHub::ActionTarget, but CloudFormation's registry has the type
// in no region today (cfn-lint 1.51.0's region schemas, and the CDK's own
// validation, reject it). Security Hub must be enabled in the region
// before the deploy, or CreateActionTarget fails and so does the stack.
func newSecurityHubAction(scope constructs.Construct, rs *RampartStack, region string, s *Settings) {
	arn := securityhub.ActionTargetARN(partitionOf(region), region, s.Account)
	call := func(action string, params map[string]any, ignore string) *customresources.AwsSdkCall {
		c := &customresources.AwsSdkCall{Service: jsii.String("SecurityHub"), Action: jsii.String(action), Parameters: params,
			PhysicalResourceId: customresources.PhysicalResourceId_Of(jsii.String(arn))}
		if ignore != "" {
			c.IgnoreErrorCodesMatching = jsii.String(ignore)
		}
		return c
	}
	action := customresources.NewAwsCustomResource(scope, jsii.String("SecurityHubAction"), &customresources.AwsCustomResourceProps{
		ResourceType: jsii.String("Custom::SecurityHubActionTarget"),
		// An action target left by an earlier deployment is taken over.
		OnCreate: call("createActionTarget", map[string]any{"Id": securityhub.ActionID, "Name": securityhub.ActionName,
			"Description": securityhub.ActionDescription}, "ResourceConflictException"),
		OnUpdate: call("updateActionTarget", map[string]any{"ActionTargetArn": arn, "Name": securityhub.ActionName,
			"Description": securityhub.ActionDescription}, ""),
		OnDelete: call("deleteActionTarget", map[string]any{"ActionTargetArn": arn}, "ResourceNotFoundException"),
		Policy: customresources.AwsCustomResourcePolicy_FromStatements(&[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("securityhub:CreateActionTarget", "securityhub:UpdateActionTarget", "securityhub:DeleteActionTarget"),
			Resources: jsii.Strings("*"),
		})}),
		InstallLatestAwsSdk: jsii.Bool(false),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(action, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Security Hub's action-target calls are granted on '*': the action target's ARN is not a documented IAM resource of them."),
	}}, jsii.Bool(true))
	// The provider function the CDK shares between custom resources of a stack.
	provider := customresources.AwsCustomResource_PROVIDER_FUNCTION_UUID()
	cdknag.NagSuppressions_AddResourceSuppressionsByPath(awscdk.Stack_Of(scope), jsii.String(*awscdk.Stack_Of(scope).Node().Path()+"/AWS"+strings.ReplaceAll(*provider, "-", "")),
		&[]*cdknag.NagPackSuppression{
			{Id: jsii.String("AwsSolutions-IAM4"), Reason: jsii.String("The CDK's custom-resource provider (the Security Hub action target only) logs with AWSLambdaBasicExecutionRole.")},
			{Id: jsii.String("AwsSolutions-L1"), Reason: jsii.String("The CDK's custom-resource provider runs the Node.js runtime the CDK release pins.")},
		}, jsii.Bool(true))
	// Every control the region's functions cover: the first function also
	// answers for the others (customActionPattern).
	var covered []string
	for _, f := range rs.Plan.Functions {
		for _, r := range f.Rules {
			for _, c := range r.Meta().SecurityHubControls {
				if !slices.Contains(covered, c) {
					covered = append(covered, c)
				}
			}
		}
	}
	slices.Sort(covered)
	for i := range rs.Plan.Functions {
		f := &rs.Plan.Functions[i]
		fn := rs.Functions[f.Name]
		if fn == nil {
			continue
		}
		name := customActionRuleName(f.Name)
		fn.watchRule(name)
		var others []string
		if i == 0 {
			others = covered
		}
		pattern := customActionPattern(f, arn, others)
		detail := pattern["detail"].(map[string]any)
		r := awsevents.NewRule(fn.Construct, jsii.String("SecurityHubAction"), &awsevents.RuleProps{
			RuleName: jsii.String(name),
			Description: jsii.String(truncate(fmt.Sprintf("Rampart %s: Security Hub custom action %q on findings of %s",
				f.Name, securityhub.ActionName, strings.Join(ids(f.Rules), ", ")), 512)),
			EventPattern: &awsevents.EventPattern{
				Source:     jsii.Strings(securityhub.EventSource),
				DetailType: jsii.Strings(securityhub.DetailCustomAction),
				Resources:  jsii.Strings(arn),
				Detail:     &detail,
			},
			Targets: &[]awsevents.IRuleTarget{target(fn)},
		})
		r.Node().AddDependency(action)
	}
}
