package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecurityhub"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

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
// finding of a control its rules declare or of one of its rules. Nil when
// the function's rules cover nothing (never: every rule makes findings).
func customActionPattern(f *functionPlan, actionARN string) map[string]any {
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
func newSecurityHubAction(scope constructs.Construct, rs *RampartStack, region string, s *Settings) {
	action := awssecurityhub.NewCfnActionTarget(scope, jsii.String("SecurityHubAction"), &awssecurityhub.CfnActionTargetProps{
		Id:          jsii.String(securityhub.ActionID),
		Name:        jsii.String(securityhub.ActionName),
		Description: jsii.String(securityhub.ActionDescription),
	})
	arn := securityhub.ActionTargetARN(partitionOf(region), region, s.Account)
	for i := range rs.Plan.Functions {
		f := &rs.Plan.Functions[i]
		fn := rs.Functions[f.Name]
		if fn == nil {
			continue
		}
		name := customActionRuleName(f.Name)
		fn.watchRule(name)
		pattern := customActionPattern(f, arn)
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
